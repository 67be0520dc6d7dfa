package link

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/field"
)

func startGateway(t *testing.T, id string, bus field.Bus) *field.Broker {
	t.Helper()
	broker, err := field.StartBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Close() })
	gw, err := field.StartMQTTGateway(t.Context(), field.MQTTConfig{Broker: broker.URL(), GatewayID: id, Logger: discardLogger(nil)}, bus)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close() })
	return broker
}

func TestMQTTReadTimeoutClose(t *testing.T) {
	broker := startGateway(t, "G1", newMeters(map[string][]byte{meterA: value1, meterB: value2}))
	m, err := DialMQTT(MQTTConfig{Broker: broker.URL(), GatewayID: "G1"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.DownTopic() != "headend/gw/G1/down" || m.UpTopic() != "headend/gw/G1/up" {
		t.Fatalf("topics %s %s", m.DownTopic(), m.UpTopic())
	}
	if st := m.State(); !st.Online || st.Err != "" {
		t.Fatalf("state after dialling: %+v", st)
	}

	transact(t, m, meterA, value1)
	if st := m.State(); st.LastSeen.IsZero() {
		t.Fatalf("LastSeen not set after a reply: %+v", st)
	}
	expectTimeout(t, m, dead)
	transact(t, m, meterB, value2)

	m.Close()
	if err := m.Send(t.Context(), readRequest(t, meterA)); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
	if _, err := m.Receive(t.Context(), time.Now().Add(time.Second)); !errors.Is(err, ErrClosed) {
		t.Fatalf("receive after close: %v", err)
	}
	if st := m.State(); st.Online {
		t.Fatalf("online after close: %+v", st)
	}
}

func TestMQTTDialFails(t *testing.T) {
	_, err := DialMQTT(MQTTConfig{Broker: "tcp://127.0.0.1:1", GatewayID: "G9", ConnectTimeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "G9") {
		t.Fatalf("dial to nowhere: %v", err)
	}
	if _, err := DialMQTT(MQTTConfig{Broker: "tcp://127.0.0.1:1"}); err == nil {
		t.Fatal("no gateway id accepted")
	}
}

// fakeMessage is an uplink message for onMessage.
type fakeMessage struct{ payload []byte }

func (m fakeMessage) Duplicate() bool   { return false }
func (m fakeMessage) Qos() byte         { return 1 }
func (m fakeMessage) Retained() bool    { return false }
func (m fakeMessage) Topic() string     { return "headend/gw/G1/up" }
func (m fakeMessage) MessageID() uint16 { return 1 }
func (m fakeMessage) Payload() []byte   { return m.payload }
func (m fakeMessage) Ack()              {}

// An uplink payload may carry a preamble, noise, and more than one frame;
// a corrupt frame comes back as a FrameError and the next one still comes.
func TestMQTTPayloadFrames(t *testing.T) {
	m := &MQTT{h: newHealth(), q: newFrameQueue(0), log: discardLogger(nil), closing: make(chan struct{})}
	f1, _ := dlt645.DLT2007.ReadReply(dlt645.MustParseAddress(meterA), testDI, value1, false)
	f2, _ := dlt645.DLT2007.ReadReply(dlt645.MustParseAddress(meterB), testDI, value2, false)
	w1, _ := f1.AppendBinary(nil)
	w2, _ := f2.AppendBinary(nil)
	bad := bytes.Clone(w1)
	bad[len(bad)-2]++ // checksum

	var payload []byte
	payload = append(payload, 0xFE, 0xFE, 0x00, 0x11)
	payload = append(payload, bad...)
	payload = append(payload, 0xFE, 0xFE, 0xFE, 0xFE)
	payload = append(payload, w1...)
	m.onMessage(nil, fakeMessage{payload})
	m.onMessage(nil, fakeMessage{append([]byte{0xFE}, w2...)})
	m.onMessage(nil, fakeMessage{[]byte{0xFE, 0xFE}})
	m.onMessage(nil, fakeMessage{nil})

	deadline := time.Now().Add(time.Second)
	if _, err := m.Receive(t.Context(), deadline); !errors.Is(err, dlt645.ErrChecksum) {
		t.Fatalf("corrupt frame: %v", err)
	}
	for _, want := range []struct {
		addr string
		v    []byte
	}{{meterA, value1}, {meterB, value2}} {
		raw, err := m.Receive(t.Context(), deadline)
		if err != nil {
			t.Fatal(err)
		}
		checkReply(t, raw, want.addr, want.v)
	}
	if st := m.State(); st.LastSeen.IsZero() {
		t.Fatalf("LastSeen not set: %+v", st)
	}
	m.onMessage(nil, fakeMessage{w1})
	m.Discard()
	if _, err := m.Receive(t.Context(), time.Now()); !errors.Is(err, ErrTimeout) {
		t.Fatalf("receive after Discard: %v", err)
	}
}

// waitOnline waits until h's Online is want.
func waitOnline(t *testing.T, h *health, want bool) State {
	t.Helper()
	fail := time.After(20 * time.Second) // only if it never happens
	for {
		st, changed := h.watch()
		if st.Online == want {
			return st
		}
		select {
		case <-changed:
		case <-fail:
			t.Fatalf("state never went online=%v: %+v", want, st)
		}
	}
}

// The broker restarts: the link goes offline with the reason, comes back
// on its own, subscribes again and carries reads.
func TestMQTTReconnects(t *testing.T) {
	bus := newMeters(map[string][]byte{meterA: value1})
	broker, err := field.StartBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := broker.Addr()
	defer func() { broker.Close() }()
	gw, err := field.StartMQTTGateway(t.Context(), field.MQTTConfig{Broker: broker.URL(), GatewayID: "G1", Logger: discardLogger(nil)}, bus)
	if err != nil {
		t.Fatal(err)
	}
	m, err := DialMQTT(MQTTConfig{Broker: broker.URL(), GatewayID: "G1"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	transact(t, m, meterA, value1)

	gw.Close()
	broker.Close()
	st := waitOnline(t, m.h, false)
	if !strings.Contains(st.Err, "connection lost") {
		t.Fatalf("state with the broker gone: %+v", st)
	}
	if err := m.Send(t.Context(), readRequest(t, meterA)); !errors.Is(err, ErrOffline) {
		t.Fatalf("send with the broker gone: %v", err)
	}

	broker, err = field.StartBroker(addr)
	if err != nil {
		t.Fatal(err)
	}
	gw, err = field.StartMQTTGateway(t.Context(), field.MQTTConfig{Broker: broker.URL(), GatewayID: "G1", Logger: discardLogger(nil)}, bus)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	waitOnline(t, m.h, true)
	transact(t, m, meterA, value1)
}

// FuzzMQTTPayload: whatever an uplink message holds, the link never
// panics and Receive returns only whole frames or FrameErrors.
func FuzzMQTTPayload(f *testing.F) {
	w, _ := dlt645.DLT2007.ReadReply(dlt645.MustParseAddress(meterA), testDI, value1, false)
	wire, _ := w.AppendBinary([]byte{0xFE, 0xFE})
	f.Add(wire)
	f.Add(append(bytes.Clone(wire), wire[:5]...))
	f.Add([]byte{0x68, 0x68, 0x16})
	f.Fuzz(func(t *testing.T, payload []byte) {
		m := &MQTT{h: newHealth(), q: newFrameQueue(256), log: discardLogger(nil), closing: make(chan struct{})}
		m.onMessage(nil, fakeMessage{payload})
		for {
			it, ok := m.q.pop()
			if !ok {
				return
			}
			if it.err != nil {
				var fe *dlt645.FrameError
				if !errors.As(it.err, &fe) {
					t.Fatalf("error %v is not a FrameError", it.err)
				}
				continue
			}
			var fr dlt645.Frame
			if err := fr.UnmarshalBinary(it.frame); err != nil || it.frame[0] != dlt645.Start {
				t.Fatalf("frame % X from % X: %v", it.frame, payload, err)
			}
		}
	})
}

// A broker away at start (RetryConnect, as the collector dials its
// gateways): DialMQTT returns at once with the link down, and the link
// comes up when the broker does.
func TestMQTTBrokerAwayAtStart(t *testing.T) {
	bus := newMeters(map[string][]byte{meterA: value1})
	broker, err := field.StartBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr, url := broker.Addr(), broker.URL()
	broker.Close() // nobody there now
	m, err := DialMQTT(MQTTConfig{Broker: url, GatewayID: "G1", RetryConnect: true, RetryInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("dial with the broker away: %v", err)
	}
	defer m.Close()
	if st := m.State(); st.Online {
		t.Fatalf("online with no broker: %+v", st)
	}
	if err := m.Send(t.Context(), readRequest(t, meterA)); !errors.Is(err, ErrOffline) {
		t.Fatalf("send with the broker away: %v", err)
	}
	broker, err = field.StartBroker(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	gw, err := field.StartMQTTGateway(t.Context(), field.MQTTConfig{Broker: broker.URL(), GatewayID: "G1", Logger: discardLogger(nil)}, bus)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	waitOnline(t, m.h, true)
	transact(t, m, meterA, value1)
}
