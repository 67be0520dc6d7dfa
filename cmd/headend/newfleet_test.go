package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/collector"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/sim/scenario"
	"github.com/headend/headend/sim/simulator"
)

// A fleet of meters with addresses nobody wrote down, none of which
// answers a block read: the case docs/new-fleet.md walks through.
const newFleetScenario = `
name: newfleet
seed: 21
start: 2025-07-01T08:00:00+08:00
speed: 1
areas:
  - id: R1
    name: R1
    feeder: F1
    voltage_level: 10kV/0.4kV
    ct_ratio: 10
    tech_loss_pct: 4
    address_prefix: "310027"
    customers: {residential: 4}
    meters:
      - {index: 1, address: "000000000417"}
      - {index: 2, address: "870412000451"}
      - {index: 3, address: "020019990003"}
      - {index: 4, address: "660000125588"}
    concentrator: {id: C61, access: {kind: tcp-listen, listen: "127.0.0.1:0"}}
faults:
  - {meter: "310027000000", kind: no_blocks, start: "2025-07-01 00:00"}
  - {meter: "000000000417", kind: no_blocks, start: "2025-07-01 00:00"}
  - {meter: "870412000451", kind: no_blocks, start: "2025-07-01 00:00"}
  - {meter: "020019990003", kind: no_blocks, start: "2025-07-01 00:00"}
  - {meter: "660000125588", kind: no_blocks, start: "2025-07-01 00:00"}
`

// TestNewFleetFromTheDocs follows docs/new-fleet.md: find the meters with
// the wildcard search, write the archive from what answered, and let the
// collector read them; every quantity of the reading plan that a meter
// answers singly arrives, though it refuses every block.
func TestNewFleetFromTheDocs(t *testing.T) {
	sc, err := scenario.Parse("newfleet.yaml", []byte(newFleetScenario))
	if err != nil {
		t.Fatal(err)
	}
	noSleep := func(context.Context, time.Duration) error { return nil }
	sim, err := simulator.Start(context.Background(), sc, simulator.Options{Tick: -1, Sleep: noSleep, ZeroDelay: true})
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	addr := port(t, sim, "C61")
	want := []string{"000000000417", "020019990003", "310027000000", "660000125588", "870412000451"}

	// 1. find them: headend scan --tcp ... --wildcard --csv
	out, errOut, err := run(t, "", "scan", "--tcp", addr, "--wildcard", "--edition", "2007", "--wait", "30",
		"--csv", "--channel", "C61-1", "--area", "R1")
	if err != nil {
		t.Fatalf("scan: %v\n%s", err, errOut)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != len(want)+1 {
		t.Fatalf("scan --csv: %v\n%s", err, out)
	}
	var found []string
	for _, r := range rows[1:] {
		found = append(found, r[0])
	}
	slices.Sort(found)
	if !slices.Equal(found, want) {
		t.Fatalf("found %v, want %v", found, want)
	}

	// 2. the area meter's row says so (role area, its CT), as the doc
	// tells; the rest stay customers
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, r := range rows[1:] {
		if r[0] == "310027000000" {
			r[col["role"]], r[col["ct"]] = "area", "10"
		}
	}
	dir := t.TempDir()
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.WriteAll(rows)
	os.WriteFile(filepath.Join(dir, "R1.csv"), []byte(b.String()), 0o644)

	// 3. the configuration of docs/new-fleet.md
	text := fmt.Sprintf(`collector:
  data_dir: %s
  instantaneous: {spec: "every 15m", jitter: 0s}
  interval: {enabled: false}
  daily: {enabled: false}
  monthly: {enabled: false}
  clock: {enabled: false}
http: {listen: ""}
archive:
  meters_csv: [R1.csv]
  areas: [{id: R1, name: R1, feeder: F1, voltage_level: 10kV/0.4kV}]
  concentrators: [{id: C61, area: R1, channels: [C61-1]}]
  channels: [{id: C61-1, kind: tcp, address: %q, timeout: 500ms, retries: 1}]
`, dir, addr)
	path := filepath.Join(dir, "headend.yaml")
	os.WriteFile(path, []byte(text), 0o644)
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}

	// 4. the collector reads them on its schedule (a clock 600 times
	// faster, so that a 15-minute slot comes in 1.5 s)
	var mu sync.Mutex
	got := map[string]map[string]meter.Status{} // meter → quantity → status of its last read
	clk := schedule.ScaledClock{Start: time.Date(2025, 7, 1, 8, 0, 0, 0, time.UTC), RealStart: time.Now(), Speed: 600}
	c, err := collector.New(&collector.Config{Collector: cfg.Collector, Archive: cfg.Archive}, collector.Options{Clock: clk,
		Sink: func(rs []meter.Read) {
			mu.Lock()
			defer mu.Unlock()
			for _, r := range rs {
				if r.Class != meter.Instantaneous {
					continue
				}
				if got[r.Meter] == nil {
					got[r.Meter] = map[string]meter.Status{}
				}
				got[r.Meter][r.Quantity] = r.Status
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	complete := func() (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range want {
			q := got[m]
			if q["forward active energy total"] != meter.OK || q["phase A voltage"] != meter.OK || q["reverse active energy total"] != meter.OK {
				return fmt.Sprintf("%s: %v", m, q), false
			}
			for name, st := range q {
				if st == meter.Refused || st == meter.Failed {
					return fmt.Sprintf("%s: %s %s", m, name, st), false
				}
			}
		}
		return "", true
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		why, ok := complete()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every quantity read: %s", why)
		}
	}
}
