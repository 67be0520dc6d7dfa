package collector

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
	"github.com/headend/headend/sim/simulator"
)

// testClock moves only when the test sets it; timers fire then.
type testClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	at := c.now.Add(d)
	if !at.After(c.now) {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{at, ch})
	return ch
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(t) {
			w.ch <- t
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}

const fleetYAML = `
name: collector
seed: 5
start: 2025-05-01T00:00:00+08:00
speed: 1
areas:%s
faults:
  - {area: TCP, index: 2, kind: no_answer, start: "2025-05-01 00:00"}
  - {area: PTY, index: 1, kind: bad_checksum, rate: 0.5, start: "2025-05-01 00:00"}
`

func area(id, prefix, access string) string {
	return fmt.Sprintf(`
  - id: %s
    name: %s
    feeder: F1
    voltage_level: 10kV/0.4kV
    ct_ratio: 20
    tech_loss_pct: 4
    address_prefix: "%s"
    customers: {residential: 4}
    concentrator: {id: C%s, access: %s}`, id, id, prefix, id, access)
}

// archiveYAML writes the archive of what the simulator runs, as a
// utility's archive would list it.
func archiveYAML(sim *simulator.Simulator, dialin string) string {
	var b strings.Builder
	b.WriteString("archive:\n  areas:\n")
	for _, a := range sim.Fleet.Areas() {
		fmt.Fprintf(&b, "    - {id: %s, name: %s, feeder: F1, voltage_level: 10kV/0.4kV}\n", a.ID, a.ID)
	}
	b.WriteString("  concentrators:\n")
	for _, e := range sim.Endpoints {
		fmt.Fprintf(&b, "    - {id: %s, area: %s, channels: [%s-1]}\n", e.Concentrator, e.Area, e.Concentrator)
	}
	b.WriteString("  channels:\n")
	for _, e := range sim.Endpoints {
		id := e.Concentrator + "-1"
		switch e.Kind {
		case model.AccessTCPListen:
			fmt.Fprintf(&b, "    - {id: %s, kind: tcp, address: %q, timeout: 150ms, gap: 0s}\n", id, e.Address)
		case model.AccessTCPDialIn:
			fmt.Fprintf(&b, "    - {id: %s, kind: dialin, dialin_id: %s, timeout: 300ms, gap: 0s}\n", id, e.Concentrator)
		case model.AccessSerial:
			fmt.Fprintf(&b, "    - {id: %s, kind: serial, device: %q, timeout: 300ms, gap: 0s}\n", id, e.Address)
		case model.AccessMQTT:
			fmt.Fprintf(&b, "    - {id: %s, kind: mqtt, broker: %q, gateway: %s, timeout: 2s, gap: 0s}\n", id, e.Address, e.Concentrator)
		case model.AccessModbusTCP:
			fmt.Fprintf(&b, "    - {id: %s, kind: modbus-tcp, address: %q, timeout: 2s, gap: 0s}\n", id, e.Address)
		}
	}
	b.WriteString("  meters:\n")
	for _, e := range sim.Endpoints {
		for i, addr := range e.Meters {
			m := sim.Fleet.Meter(addr)
			role := "customer"
			if m.Role == model.RoleArea {
				role = "area"
			}
			ed := fmt.Sprint(m.Edition)
			unit := ""
			if e.Kind == model.AccessModbusTCP {
				ed, unit = "modbus", fmt.Sprintf(", unit: %d", i+1)
			}
			fmt.Fprintf(&b, "    - {address: %q, edition: %q%s, channel: %s-1, area: %s, role: %s, ct: %d, pt: 1}\n",
				addr, ed, unit, e.Concentrator, e.Area, role, m.CT)
		}
	}
	return b.String()
}

// fleet starts the simulator on a scenario (the areas given, named by the
// test) with no line delay, and loads a collector configuration for its
// archive with the given collector section.
func fleet(t *testing.T, name, areas, faults, collectorYAML string) (*simulator.Simulator, *config.Config) {
	t.Helper()
	yaml := fmt.Sprintf("name: %s\nseed: 4\nstart: 2025-05-01T00:00:00+08:00\nspeed: 1\nareas:%s\n%s", name, areas, faults)
	sc, err := scenario.Parse(name+".yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	noSleep := func(context.Context, time.Duration) error { return nil }
	sim, err := simulator.Start(context.Background(), sc, simulator.Options{Tick: -1, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	dir := t.TempDir()
	text := fmt.Sprintf("collector:\n  data_dir: %s\n%shttp: {listen: \"\"}\n", dir, collectorYAML) + archiveYAML(sim, "")
	path := filepath.Join(dir, "headend.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	return sim, cfg
}

func TestCollectorReadsEveryPathOnSchedule(t *testing.T) {
	dialin, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dialAddr := dialin.Addr().String()
	dialin.Close() // the collector listens there; the simulator dials it
	areas := area("TCP", "000011", `{kind: tcp-listen, listen: "127.0.0.1:0"}`) +
		area("DIN", "000012", fmt.Sprintf(`{kind: tcp-dialin, dial: %q}`, dialAddr)) +
		area("PTY", "000013", `{kind: serial}`) +
		area("MQ", "000014", `{kind: mqtt, broker: embedded}`) +
		area("MBT", "000015", `{kind: modbus-tcp, listen: "127.0.0.1:0"}`)
	sc, err := scenario.Parse("collector.yaml", []byte(fmt.Sprintf(fleetYAML, areas)))
	if err != nil {
		t.Fatal(err)
	}
	noSleep := func(context.Context, time.Duration) error { return nil }
	sim, err := simulator.Start(context.Background(), sc, simulator.Options{Tick: -1, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	start := sim.Fleet.Start()
	sim.Fleet.AdvanceTo(start.Add(2 * time.Hour))
	sim.Step()

	dir := t.TempDir()
	cfgText := fmt.Sprintf(`collector:
  data_dir: %s
  dialin_listen: %q
  instantaneous: {enabled: true, spec: every 15m, jitter: 0s}
  interval: {enabled: false}
  daily: {enabled: false}
  monthly: {enabled: false}
  clock: {enabled: false}
  breaker: {failures: 2}
http: {listen: ""}
`, dir, dialAddr) + archiveYAML(sim, dialAddr)
	path := filepath.Join(dir, "headend.yaml")
	os.WriteFile(path, []byte(cfgText), 0o644)
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, cfgText)
	}

	clock := &testClock{now: start.Add(time.Hour + 59*time.Minute)}
	tasks := make(chan []meter.Read, 100)
	registered := make(chan string, 4)
	c, err := New(cfg, Options{Clock: clock, Sink: func(rs []meter.Read) { tasks <- rs },
		OnDialIn: func(e link.DialInEvent) {
			if e.Kind == link.EventRegistered {
				registered <- e.ID
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	// the dial-in concentrator registers before the cycle starts
	deadline := time.Now().Add(20 * time.Second) // failure guard only
	select {
	case id := <-registered:
		if id != "CDIN" {
			t.Fatalf("registered %s", id)
		}
	case <-time.After(time.Until(deadline)):
		t.Fatal("the dial-in concentrator never registered")
	}

	// 02:00: every meter's instantaneous task falls due, once
	clock.Set(start.Add(2 * time.Hour))
	want := len(cfg.Archive.Meters)
	got := map[string][]meter.Read{}
	for len(got) < want {
		select {
		case rs := <-tasks:
			got[rs[0].Meter] = rs
		case <-time.After(time.Until(deadline)):
			t.Fatalf("only %d of %d meters were read", len(got), want)
		}
	}
	now := sim.Fleet.Now()
	dead := sim.Fleet.Area("TCP").Customers[1].Address
	noisy := sim.Fleet.Area("PTY").Customers[0].Address
	for addr, rs := range got {
		m := sim.Fleet.Meter(addr)
		if addr == dead {
			if rs[0].Status != meter.Failed {
				t.Errorf("the dead meter: %+v", rs[0])
			}
			continue
		}
		if addr == noisy {
			// half its replies are corrupt: some requests need a retry
			// (whether all get through in 3 tries is the seed's luck)
			retried := false
			for _, r := range rs {
				retried = retried || (r.Status == meter.OK && r.Frame.Tries > 1)
			}
			if !retried {
				t.Errorf("the noisy meter got no value through on a retry: %+v", rs)
			}
			continue
		}
		fwd := rs[0]
		if fwd.Status != meter.OK && m.Edition != 1997 {
			t.Errorf("%s (%s): %s %s", addr, fwd.Channel, fwd.Status, fwd.Err)
			continue
		}
		if rs[0].Channel == "CMBT-1" {
			// Modbus: float32 registers; compare within a cent
			if d := fwd.Value.Units - m.Registers(now).Forward[0]; d > 1 || d < -1 {
				t.Errorf("%s over Modbus: %s, model %d", addr, fwd.Value, m.Registers(now).Forward[0])
			}
			continue
		}
		if fwd.Status == meter.OK && fwd.Value.Units != m.Registers(now).Forward[0] {
			t.Errorf("%s: %s, model %d", addr, fwd.Value, m.Registers(now).Forward[0])
		}
	}
	// every area collected all its meters but the dead one (and
	// perhaps the noisy one)
	for _, r := range c.Health().Rates() {
		wantCollected := r.Expected
		if r.Area == "TCP" {
			wantCollected--
		}
		if r.Collected != wantCollected && (r.Area != "PTY" || r.Collected < wantCollected-1) {
			t.Errorf("area %s: collected %d of %d", r.Area, r.Collected, r.Expected)
		}
	}
	// the corrupt replies on the serial line were retried and counted
	for _, ch := range c.Status().Channels {
		if ch.ID == "CPTY-1" && (ch.Bad == 0 || ch.Bus.Retries == 0) {
			t.Errorf("serial line: %d bad frames, %d retries", ch.Bad, ch.Bus.Retries)
		}
	}
	cancel()
	<-done
}
