package field

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/headend/headend/protocol/dlt645"
)

const mqttDI dlt645.DI = 0x00010000

// mqttMeters is a tiny Bus: meters answering DI 00010000 with their kWh.
// It fails the test if two transactions ever overlap.
type mqttMeters struct {
	t      *testing.T
	kwh    map[dlt645.Address]dlt645.Decimal
	busy   atomic.Int32
	called atomic.Int32
}

func (b *mqttMeters) Exchange(_ context.Context, req []byte) []byte {
	if b.busy.Add(1) != 1 {
		b.t.Error("two transactions on the bus at once")
	}
	defer b.busy.Add(-1)
	b.called.Add(1)
	var f dlt645.Frame
	if err := f.UnmarshalBinary(req); err != nil {
		b.t.Errorf("bus got a bad frame % X: %v", req, err)
		return nil
	}
	m, err := dlt645.DLT2007.Decode(&f)
	if err != nil || m.Op != dlt645.OpRead || m.DI != mqttDI {
		b.t.Errorf("bus got %+v, %v; want a read of %s", m, err, mqttDI)
		return nil
	}
	v, ok := b.kwh[f.Address]
	if !ok {
		return nil // dead meter
	}
	spec, _ := dlt645.DLT2007.Registry().Lookup(mqttDI)
	data, err := spec.Encode(nil, []dlt645.Value{dlt645.Number(v)})
	if err != nil {
		b.t.Errorf("encode %s: %v", v, err)
		return nil
	}
	reply, err := dlt645.DLT2007.ReadReply(f.Address, mqttDI, data, false)
	if err != nil {
		b.t.Errorf("read reply: %v", err)
		return nil
	}
	wire, _ := reply.MarshalBinary()
	return append(append([]byte(nil), dlt645.Preamble...), wire...)
}

// mqttSleeps is a Sleeper that records the waits and returns at once.
type mqttSleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *mqttSleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *mqttSleeps) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// mqttHeadEnd is the test's own MQTT client, playing the head-end.
func mqttHeadEnd(t *testing.T, b *Broker, up string) (paho.Client, <-chan []byte) {
	t.Helper()
	got := make(chan []byte, 16)
	c := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("test-headend"))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("head-end connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe(up, 1, func(_ paho.Client, m paho.Message) {
		got <- append([]byte(nil), m.Payload()...)
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("head-end subscribe %s: %v", up, tok.Error())
	}
	return c, got
}

func mqttPublishRead(t *testing.T, c paho.Client, topic string, addr dlt645.Address) []byte {
	t.Helper()
	f, err := dlt645.DLT2007.ReadRequest(addr, mqttDI)
	if err != nil {
		t.Fatal(err)
	}
	wire, _ := f.MarshalBinary()
	wire = append(append([]byte(nil), dlt645.Preamble...), wire...)
	if tok := c.Publish(topic, 1, false, wire); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish on %s: %v", topic, tok.Error())
	}
	return wire
}

// mqttNextReply waits for an uplink message and decodes it as a read reply.
func mqttNextReply(t *testing.T, got <-chan []byte) (dlt645.Address, dlt645.Decimal) {
	t.Helper()
	select {
	case b := <-got:
		var f dlt645.Frame
		if err := f.UnmarshalBinary(b); err != nil {
			t.Fatalf("uplink % X: %v", b, err)
		}
		m, err := dlt645.DLT2007.Decode(&f)
		if err != nil || !m.Control.Reply() || m.DI != mqttDI {
			t.Fatalf("uplink %+v, %v: want a read reply of %s", m, err, mqttDI)
		}
		vals, err := dlt645.DLT2007.Registry().Decode(m.DI, m.Payload, nil)
		if err != nil || len(vals) != 1 {
			t.Fatalf("uplink values %v, %v", vals, err)
		}
		return m.Address, vals[0].Number
	case <-time.After(10 * time.Second):
		t.Fatal("no uplink message")
	}
	panic("unreachable")
}

func TestBrokerAddr(t *testing.T) {
	b, err := StartBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Addr() == "127.0.0.1:0" || b.URL() != "tcp://"+b.Addr() {
		t.Errorf("Addr %q URL %q", b.Addr(), b.URL())
	}
	if _, err := StartBroker(b.Addr()); err == nil {
		t.Error("second broker on the same address started")
	}
}

func TestMQTTGateway(t *testing.T) {
	b, err := StartBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	alive1 := dlt645.MustParseAddress("000012345678")
	alive2 := dlt645.MustParseAddress("000000000002")
	dead := dlt645.MustParseAddress("000000000099")
	bus := &mqttMeters{t: t, kwh: map[dlt645.Address]dlt645.Decimal{
		alive1: {Units: 12345678, Scale: 2},
		alive2: {Units: 99999999, Scale: 2},
	}}
	sl := &mqttSleeps{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g, err := StartMQTTGateway(ctx, MQTTConfig{
		Broker: b.URL(), GatewayID: "gw-7", Baud: 2400, Sleep: sl.sleep,
		Logger: mqttLogger(t),
	}, bus)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.DownTopic() != "headend/gw/gw-7/down" || g.UpTopic() != "headend/gw/gw-7/up" {
		t.Fatalf("topics %q %q", g.DownTopic(), g.UpTopic())
	}
	c, got := mqttHeadEnd(t, b, g.UpTopic())

	// One read, its reply and the line time.
	req := mqttPublishRead(t, c, g.DownTopic(), alive1)
	addr, v := mqttNextReply(t, got)
	if addr != alive1 || v.String() != "123456.78" {
		t.Fatalf("reply from %s = %s, want %s 123456.78", addr, v, alive1)
	}
	replyLen := len(dlt645.Preamble) + dlt645.MinFrameLen + 4 + 4
	if w := sl.waits(); len(w) != 1 || w[0] != LineTime(2400, len(req)+replyLen) {
		t.Errorf("waits %v, want [%v]", w, LineTime(2400, len(req)+replyLen))
	}

	// A dead meter, then three live reads: the replies come in order and
	// the dead meter's request, handled before them, produced none.
	order := []dlt645.Address{dead, alive2, alive1, alive2}
	for _, a := range order {
		mqttPublishRead(t, c, g.DownTopic(), a)
	}
	for _, want := range order[1:] {
		if addr, _ := mqttNextReply(t, got); addr != want {
			t.Fatalf("reply from %s, want %s", addr, want)
		}
	}
	if n := bus.called.Load(); n != 5 {
		t.Errorf("bus called %d times, want 5", n)
	}
	if w := sl.waits(); len(w) != 5 || w[1] != LineTime(2400, len(req)) {
		t.Errorf("waits %v: the dead meter's request should cost %v", w, LineTime(2400, len(req)))
	}
	select {
	case b := <-got:
		t.Errorf("extra uplink message % X", b)
	default:
	}
}

func TestMQTTGatewayTopicTemplates(t *testing.T) {
	b, err := StartBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	bus := &mqttMeters{t: t, kwh: map[dlt645.Address]dlt645.Decimal{
		dlt645.MustParseAddress("1"): {Units: 5, Scale: 2},
	}}
	g, err := StartMQTTGateway(context.Background(), MQTTConfig{
		Broker: b.URL(), GatewayID: "dtu1", DownTopic: "site/{id}/req", UpTopic: "site/{id}/resp",
		Sleep: (&mqttSleeps{}).sleep, Logger: mqttLogger(t),
	}, bus)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.DownTopic() != "site/dtu1/req" || g.UpTopic() != "site/dtu1/resp" {
		t.Fatalf("topics %q %q", g.DownTopic(), g.UpTopic())
	}
	c, got := mqttHeadEnd(t, b, g.UpTopic())
	mqttPublishRead(t, c, g.DownTopic(), dlt645.MustParseAddress("1"))
	if _, v := mqttNextReply(t, got); v.String() != "0.05" {
		t.Errorf("value %s, want 0.05", v)
	}
}

func TestMQTTGatewayConfigErrors(t *testing.T) {
	if _, err := StartMQTTGateway(context.Background(), MQTTConfig{Broker: "tcp://127.0.0.1:1"}, &mqttMeters{t: t}); err == nil {
		t.Error("no gateway id accepted")
	}
	// Nothing listens on a port we just closed: connecting fails.
	b, err := StartBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := b.URL()
	b.Close()
	_, err = StartMQTTGateway(context.Background(), MQTTConfig{
		Broker: url, GatewayID: "gw", ConnectTimeout: 5 * time.Second, Logger: mqttLogger(t),
	}, &mqttMeters{t: t})
	if err == nil {
		t.Error("gateway started without a broker")
	}
}

// mqttLogger sends the gateway's log to the test log.
func mqttLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(mqttTestWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type mqttTestWriter struct{ t *testing.T }

func (w mqttTestWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
