package fieldops

import (
	"context"
	"testing"
	"time"

	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/internal/testenv"
	"github.com/headend/headend/protocol/dlt645"
	simfield "github.com/headend/headend/sim/field"
	"github.com/headend/headend/sim/meterbus"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
	"github.com/headend/headend/sim/simulator"
)

// The simulated field of these tests: area PTY on an RS-485 line on a
// pseudo-terminal (the area meter 000031000000 and customers ..01 to ..04,
// ..03 a 1997 meter; ..02 drifts 10 min a day, ..04 40 min a day), area
// TCP behind a concentrator on loopback TCP.
const fieldScenario = `
name: fieldtools
seed: 3
start: 2025-05-01T00:00:00+08:00
speed: 1
areas:
  - id: PTY
    name: PTY
    feeder: F1
    voltage_level: 10kV/0.4kV
    ct_ratio: 10
    tech_loss_pct: 4
    address_prefix: "000031"
    customers: {residential: 4}
    meters:
      - {index: 3, edition: 1997}
    concentrator: {id: CPTY, access: {kind: serial}}
  - id: TCP
    name: TCP
    feeder: F1
    voltage_level: 10kV/0.4kV
    ct_ratio: 10
    tech_loss_pct: 4
    address_prefix: "000032"
    customers: {residential: 2}
    concentrator: {id: CTCP, access: {kind: tcp-listen, listen: "127.0.0.1:0"}}
faults:
  - {area: PTY, index: 2, kind: clock_drift, drift_s_per_day: 600, start: "2025-05-01 00:00"}
  - {area: PTY, index: 4, kind: clock_drift, drift_s_per_day: 2400, start: "2025-05-01 00:00"}
`

const (
	meterA    = "000031000001" // 2007, on time
	drifting  = "000031000002" // 10 min a day
	old1997   = "000031000003"
	farDrift  = "000031000004" // 40 min a day
	simPasswd = "000000"       // the simulated meters' password (level 2)
)

// startSim runs the field scenario with the model advanced by the test.
func startSim(t *testing.T) *simulator.Simulator {
	t.Helper()
	sc, err := scenario.Parse("fieldtools.yaml", []byte(fieldScenario))
	if err != nil {
		t.Fatal(err)
	}
	noSleep := func(context.Context, time.Duration) error { return nil }
	sim, err := simulator.Start(context.Background(), sc, simulator.Options{Tick: -1, Sleep: noSleep, AnyPort: true, ZeroDelay: true})
	if err != nil {
		testenv.Skip(t, "simulator (needs a pty and loopback): %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

// dial opens the head-end's side of a concentrator's line.
func dial(t *testing.T, sim *simulator.Simulator, conc string, timeout time.Duration) *master.Master {
	t.Helper()
	ep, ok := sim.Endpoint(conc)
	if !ok {
		t.Fatalf("no concentrator %s", conc)
	}
	var l link.Link
	switch ep.Kind {
	case model.AccessSerial:
		s, err := link.OpenSerial(link.SerialConfig{Device: ep.Address})
		if err != nil {
			t.Fatal(err)
		}
		l = s
	case model.AccessTCPListen:
		l = link.DialTCP(link.TCPConfig{Addr: ep.Address})
	default:
		t.Fatalf("access %s", ep.Kind)
	}
	t.Cleanup(func() { l.Close() })
	return &master.Master{Link: l, Timeout: timeout}
}

// at advances the model to start + d and returns that instant.
func at(sim *simulator.Simulator, d time.Duration) time.Time {
	t := sim.Fleet.Start().Add(d)
	if t.After(sim.Fleet.Now()) {
		sim.Fleet.AdvanceTo(t)
	}
	return t
}

// auditLog collects audit records.
type auditLog struct{ recs []auditRec }

type auditRec struct {
	action, target string
	detail         map[string]any
}

func (a *auditLog) hook(_ context.Context, action, target string, detail map[string]any) {
	a.recs = append(a.recs, auditRec{action, target, detail})
}

// direct is a Direct on the PTY line on the simulator's clock.
func direct(t *testing.T, sim *simulator.Simulator, audit *auditLog) *Direct {
	m := dial(t, sim, "CPTY", 300*time.Millisecond)
	d := &Direct{Master: m, Channel: "CPTY-1", Options: Options{Now: sim.Fleet.Now, Location: sim.Fleet.Zone(), Retries: -1}}
	if audit != nil {
		d.Audit = audit.hook
	}
	return d
}

func forward(t *testing.T, r *Reading) string {
	t.Helper()
	for _, v := range r.Values {
		if v.Quantity == "forward active energy total" {
			return v.Value
		}
	}
	t.Fatalf("no forward active energy in %+v", r)
	return ""
}

func modelForward(sim *simulator.Simulator, addr string) string {
	m := sim.Fleet.Meter(addr)
	return dlt645.Decimal{Units: m.Registers(sim.Fleet.Now()).Forward[0], Scale: 2}.String()
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// oneMeterLine puts one meter of the fleet alone on a line of its own
// (a pseudo-terminal) and opens it.
func oneMeterLine(t *testing.T, sim *simulator.Simulator, addr string) *master.Master {
	t.Helper()
	bus, err := meterbus.New(sim.Fleet, []*model.Meter{sim.Fleet.Meter(addr)}, meterbus.Options{})
	if err != nil {
		t.Fatal(err)
	}
	line, err := simfield.OpenSerialLine(t.Context(), bus, simfield.Options{})
	if err != nil {
		testenv.Skip(t, "no pty: %v", err)
	}
	t.Cleanup(func() { line.Close() })
	s, err := link.OpenSerial(link.SerialConfig{Device: line.Path()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &master.Master{Link: s, Timeout: 300 * time.Millisecond}
}
