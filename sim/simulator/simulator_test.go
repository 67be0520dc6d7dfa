package simulator

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/grid-x/modbus"
	"go.bug.st/serial"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/dtu"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
)

// A scenario with one area per access path; the dial-in concentrator calls
// the test's own listener, standing in for the head-end.
func accessScenario(headEnd string) string {
	area := func(id, prefix, access string) string {
		return fmt.Sprintf(`
  - id: %s
    name: %s
    feeder: F1
    voltage_level: 10kV/0.4kV
    ct_ratio: 20
    tech_loss_pct: 4
    address_prefix: "%s"
    customers: {residential: 3}
    concentrator: {id: C%s, access: %s}`, id, id, prefix, id, access)
	}
	return `
name: access
seed: 11
start: 2025-05-01T00:00:00+08:00
speed: 1
areas:` +
		area("TCP", "000001", `{kind: tcp-listen, listen: "127.0.0.1:0", baud: 2400}`) +
		area("PTY", "000002", `{kind: serial, baud: 2400}`) +
		area("MQ", "000003", `{kind: mqtt, broker: embedded}`) +
		area("MBT", "000004", `{kind: modbus-tcp, listen: "127.0.0.1:0"}`) +
		area("MBR", "000005", `{kind: modbus-rtu, baud: 9600}`) +
		area("DIN", "000006", fmt.Sprintf(`{kind: tcp-dialin, dial: "%s"}`, headEnd))
}

func startAccess(t *testing.T, headEnd string) *Simulator {
	t.Helper()
	sc, err := scenario.Parse("access.yaml", []byte(accessScenario(headEnd)))
	if err != nil {
		t.Fatal(err)
	}
	noSleep := func(context.Context, time.Duration) error { return nil }
	sim, err := Start(context.Background(), sc, Options{Tick: -1, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	sim.Fleet.AdvanceTo(sim.Fleet.Start().Add(30 * time.Hour))
	return sim
}

// client is a plain DL/T 645 master on a byte stream.
func read645(t *testing.T, rw io.ReadWriter, addr string, di dlt645.DI) dlt645.Value {
	t.Helper()
	f, _ := dlt645.DLT2007.ReadRequest(dlt645.MustParseAddress(addr), di)
	b, _ := f.MarshalBinary()
	if _, err := rw.Write(append([]byte{0xFE, 0xFE, 0xFE, 0xFE}, b...)); err != nil {
		t.Fatal(err)
	}
	return decodeReply(t, dlt645.NewReader(rw), addr, di)
}

func decodeReply(t *testing.T, r *dlt645.Reader, addr string, di dlt645.DI) dlt645.Value {
	t.Helper()
	f, err := r.ReadFrame()
	if err != nil {
		t.Fatalf("reading the reply of %s: %v", addr, err)
	}
	m, err := dlt645.DLT2007.Decode(f)
	if err != nil || m.DI != di || f.Address.String() != addr {
		t.Fatalf("reply %+v: %v", m, err)
	}
	vals, err := dlt645.DLT2007.Registry().Decode(di, m.Payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	return vals[0]
}

func endpoint(t *testing.T, sim *Simulator, id string) Endpoint {
	t.Helper()
	e, ok := sim.Endpoint(id)
	if !ok {
		t.Fatalf("no endpoint %s", id)
	}
	return e
}

func forward(sim *Simulator, addr string) int64 {
	return sim.Fleet.Meter(addr).Registers(sim.Fleet.Now()).Forward[0]
}

func TestEveryAccessPath(t *testing.T) {
	headEnd, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer headEnd.Close()
	sim := startAccess(t, headEnd.Addr().String())
	deadline := time.Now().Add(20 * time.Second) // failure guard only

	t.Run("tcp", func(t *testing.T) {
		e := endpoint(t, sim, "CTCP")
		c, err := net.Dial("tcp", e.Address)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(deadline)
		for _, addr := range e.Meters {
			if v := read645(t, c, addr, 0x00010000); v.Number.Units != forward(sim, addr) {
				t.Errorf("%s: %s, model %d", addr, v.String(), forward(sim, addr))
			}
		}
	})
	t.Run("serial", func(t *testing.T) {
		e := endpoint(t, sim, "CPTY")
		p, err := serial.Open(e.Address, &serial.Mode{BaudRate: 2400, DataBits: 8, Parity: serial.EvenParity, StopBits: serial.OneStopBit})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		p.SetReadTimeout(time.Until(deadline))
		addr := e.Meters[2]
		if v := read645(t, p, addr, 0x00010000); v.Number.Units != forward(sim, addr) {
			t.Errorf("%s: %s", addr, v.String())
		}
	})
	t.Run("mqtt", func(t *testing.T) {
		e := endpoint(t, sim, "CMQ")
		replies := make(chan []byte, 4)
		c := paho.NewClient(paho.NewClientOptions().AddBroker(e.Address).SetClientID("test-headend"))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("connect: %v", tok.Error())
		}
		defer c.Disconnect(0)
		tok := c.Subscribe(e.TopicUp, 1, func(_ paho.Client, m paho.Message) { replies <- m.Payload() })
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatal("subscribe", tok.Error())
		}
		addr := e.Meters[1]
		f, _ := dlt645.DLT2007.ReadRequest(dlt645.MustParseAddress(addr), 0x0201FF00)
		b, _ := f.MarshalBinary()
		c.Publish(e.TopicDown, 1, false, b).Wait()
		select {
		case p := <-replies:
			v := decodeReply(t, dlt645.NewReader(bytes.NewReader(p)), addr, 0x0201FF00)
			if want := sim.Fleet.Meter(addr).Registers(sim.Fleet.Now()).Voltage[0]; v.Number.Units != want {
				t.Errorf("voltage %s, model %d", v.String(), want)
			}
		case <-time.After(time.Until(deadline)):
			t.Fatal("no reply on the uplink topic")
		}
	})
	t.Run("modbus-tcp", func(t *testing.T) {
		sim.Step()
		e := endpoint(t, sim, "CMBT")
		h := modbus.NewTCPClientHandler(e.Address)
		h.SlaveID = 1 // the area meter
		h.Timeout = time.Until(deadline)
		defer h.Close()
		b, err := modbus.NewClient(h).ReadInputRegisters(context.Background(), 0x0048, 2)
		if err != nil {
			t.Fatal(err)
		}
		kwh := math.Float32frombits(binary.BigEndian.Uint32(b))
		want := float64(forward(sim, e.Meters[0])) / 100
		if math.Abs(float64(kwh)-want) > want*1e-6+0.01 {
			t.Errorf("import %v kWh, model %v", kwh, want)
		}
	})
	t.Run("modbus-rtu", func(t *testing.T) {
		sim.Step()
		e := endpoint(t, sim, "CMBR")
		h := modbus.NewRTUClientHandler(e.Address)
		h.BaudRate, h.DataBits, h.Parity, h.StopBits = 9600, 8, "N", 1
		h.SlaveID = 2
		h.Timeout = 5 * time.Second
		if err := h.Connect(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		b, err := modbus.NewClient(h).ReadInputRegisters(context.Background(), 0x0000, 2)
		if err != nil {
			t.Fatal(err)
		}
		v := math.Float32frombits(binary.BigEndian.Uint32(b))
		want := float64(sim.Fleet.Meter(e.Meters[1]).Registers(sim.Fleet.Now()).Voltage[0]) / 10
		if math.Abs(float64(v)-want) > 0.01 {
			t.Errorf("voltage %v, model %v", v, want)
		}
	})
	t.Run("dial-in", func(t *testing.T) {
		headEnd.(*net.TCPListener).SetDeadline(deadline)
		c, err := headEnd.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(deadline)
		sc := dtu.NewScanner(c)
		p, _, err := sc.Next()
		if err != nil || p.Kind != dtu.Registration || p.ID != "CDIN" {
			t.Fatalf("first packet %+v, %v", p, err)
		}
		e := endpoint(t, sim, "CDIN")
		addr := e.Meters[3]
		if v := read645(t, c, addr, 0x00010000); v.Number.Units != forward(sim, addr) {
			t.Errorf("%s: %s", addr, v.String())
		}
	})
}

// The ground truth and the endpoints are served over HTTP.
func TestHTTP(t *testing.T) {
	headEnd, _ := net.Listen("tcp", "127.0.0.1:0")
	defer headEnd.Close()
	sim := startAccess(t, headEnd.Addr().String())
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	var eps []Endpoint
	getJSON(t, srv.URL+"/endpoints", &eps)
	if len(eps) != 6 {
		t.Fatalf("%d endpoints", len(eps))
	}
	var truth map[string]any
	getJSON(t, srv.URL+"/truth", &truth)
	if len(truth) == 0 {
		t.Fatal("empty truth")
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := httpGet(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(resp, v); err != nil {
		t.Fatalf("%s: %v: %s", url, err, strings.TrimSpace(string(resp[:min(len(resp), 200)])))
	}
}

// Meters moved in the field answer on the line they are wired to.
func TestMovedMeterIsOnItsPhysicalLine(t *testing.T) {
	sc, err := scenario.Load("../../testdata/scenarios/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := model.New(sc.Config)
	if err != nil {
		t.Fatal(err)
	}
	var moved *model.Meter
	for _, m := range fleet.Meters() {
		for _, f := range m.Faults {
			if f.Kind == model.FaultMoved {
				moved = m
			}
		}
	}
	if moved == nil {
		t.Fatal("demo scenario plants no moved meter")
	}
	to := physicalArea(moved)
	if to == moved.Area.ID {
		t.Fatal("moved meter not moved")
	}
	onLine := func(area string) bool {
		for _, m := range lineMeters(fleet, fleet.Area(area)) {
			if m == moved {
				return true
			}
		}
		return false
	}
	if !onLine(to) || onLine(moved.Area.ID) {
		t.Fatalf("moved meter %s: on %s's line %v, on the archive's %v", moved.Address, to, onLine(to), onLine(moved.Area.ID))
	}
}
