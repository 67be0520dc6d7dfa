package collector

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/sim/scenario"
	"github.com/headend/headend/sim/simulator"
)

// TestGDW3761AgainstTheSimulatedTerminal reads an area through a
// simulated Q/GDW 1376.1 concentrator (sim/field's terminal, gdw-demo.yaml)
// that dials in: it logs in, the instantaneous schedule reads every
// meter's current data from what the terminal collected, in far fewer
// requests than meters, and every read keeps the 376.1 frame it came from.
func TestGDW3761AgainstTheSimulatedTerminal(t *testing.T) {
	sc, err := scenario.Load("../testdata/scenarios/gdw-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	listen := closedPort(t)
	noSleep := func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	sim, err := simulator.Start(context.Background(), sc, simulator.Options{Tick: -1, Sleep: noSleep, HeadEnd: listen, ZeroDelay: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	term, ok := sim.Terminal("T4401-0001")
	if !ok {
		t.Fatal("no terminal T4401-0001")
	}
	// the archive as the terminal holds it: the area meter point 1, the
	// customers after it; this test reads the DL/T 645-2007 ones
	var meters strings.Builder
	var want []string
	for _, a := range sim.Fleet.Areas() {
		if a.ID != "G01" {
			continue
		}
		fmt.Fprintf(&meters, "    - {address: %q, edition: \"2007\", channel: T1, area: G01, role: area, ct: 80, pt: 1, point: 1}\n", a.Meter.Address)
		want = append(want, a.Meter.Address)
		for i, m := range a.Customers {
			if m.Edition == 1997 {
				continue
			}
			fmt.Fprintf(&meters, "    - {address: %q, edition: \"2007\", channel: T1, area: G01, ct: 1, pt: 1, point: %d}\n", m.Address, i+2)
			want = append(want, m.Address)
		}
	}
	dir := t.TempDir()
	text := fmt.Sprintf(`collector:
  data_dir: %s
  zone: "+08:00"
  gdw3761_listen: %q
  instantaneous: {enabled: true, spec: every 15m, jitter: 0s}
  interval: {enabled: false}
  daily: {enabled: false}
  monthly: {enabled: false}
  clock: {enabled: false}
  backfill_days: 0
http: {listen: ""}
archive:
  areas: [{id: G01, name: G01, feeder: F10-201, voltage_level: 10kV/0.4kV}]
  concentrators: [{id: T4401-0001, area: G01, channels: [T1]}]
  channels:
    - {id: T1, kind: gdw3761, terminal: "4401 0001", mode: current, timeout: 5s, gap: 1ms}
  meters:
%s`, dir, listen, meters.String())
	path := filepath.Join(dir, "headend.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	now := sim.Fleet.Now()
	clk := &testClock{now: now}
	var mu sync.Mutex
	got := map[string]meter.Read{}
	c, err := New(&Config{Collector: cfg.Collector, Archive: cfg.Archive}, Options{Clock: clk, Sink: func(rs []meter.Read) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rs {
			if r.Class == meter.Instantaneous && r.Quantity == "forward active energy total" && r.Status == meter.OK {
				got[r.Meter] = r
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitCond(t, "the simulated terminal logged in", func() bool {
		st := c.Status()
		return len(st.Terminals) == 1 && st.Terminals[0].Online
	})
	term.Collect(t.Context()) // its current data of this quarter hour
	before := term.LinkStats().Requests
	waitCond(t, "the schedule waiting", func() bool { return clk.waiting() > 0 })
	clk.Set(now.Truncate(15 * time.Minute).Add(16 * time.Minute))
	waitCond(t, "every meter's forward energy", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == len(want)
	})
	mu.Lock()
	defer mu.Unlock()
	for _, m := range want {
		r := got[m]
		if len(r.Frame.Request) == 0 || r.Frame.Request[0] != 0x68 || len(r.Frame.Reply) == 0 || r.Unit != "kWh" {
			t.Errorf("%s: read %+v", m, r)
		}
	}
	if n := term.LinkStats().Requests - before; n <= 0 || n >= int64(len(want)) {
		t.Errorf("%d requests to the terminal for %d meters: want a few, not one a meter", n, len(want))
	} else {
		t.Logf("%d meters read in %d requests", len(want), n)
	}
}
