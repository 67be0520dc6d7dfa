package collector

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
)

// A head-end started at 01:30, after the daily read's 00:05 but within
// the balance's 3 h of midnight, reads the meters that keep no freezes
// (DL/T 645-1997) at once: their 00:00 registers are the boundary of the
// day before and of the start's own day, and no freeze keeps them for a
// later read. (The demo starts so; before, its areas with 1997 or Modbus
// meters could balance no day until the second midnight after the start.)
func TestStartAfterTheDailyReadReadsMetersWithoutFreezes(t *testing.T) {
	areas := strings.Replace(area("OLD", "000041", `{kind: tcp-listen, listen: "127.0.0.1:0"}`),
		"customers: {residential: 4}", "customers: {residential: 4}\n    edition_1997_share: 1", 1)
	sim, cfg := fleet(t, "startday", areas, "", `  instantaneous: {enabled: false}
  interval: {enabled: false}
  daily: {enabled: true, spec: daily 00:05, jitter: 0s}
  monthly: {enabled: false}
  clock: {enabled: false}
  backfill_days: 0
`)
	var old []string
	for _, m := range cfg.Archive.Meters {
		if m.Edition != archive.Edition2007 {
			old = append(old, m.Address)
		}
	}
	if len(old) < 4 {
		t.Fatalf("the fleet has %d meters without freezes, want the 4 customers", len(old))
	}
	at := sim.Fleet.Start().AddDate(0, 0, 1).Add(90 * time.Minute)
	sim.Fleet.AdvanceTo(at)
	clock := &testClock{now: at}
	reads := make(chan []meter.Read, 100)
	c, err := New(&Config{Collector: cfg.Collector, Archive: cfg.Archive}, Options{Clock: clock, Sink: func(rs []meter.Read) { reads <- rs }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	got := map[string]bool{}
	deadline := time.After(30 * time.Second) // real I/O; the clock stays at 01:30
	for len(got) < len(old) {
		select {
		case rs := <-reads:
			for _, r := range rs {
				if r.Class != meter.Daily || r.Status != meter.OK {
					t.Fatalf("%s: %s %s read: %s", r.Meter, r.Class, r.Status, r.Err)
				}
			}
			got[rs[0].Meter] = true
		case <-deadline:
			t.Fatalf("at 01:30 read the daily registers of %d of the %d meters without freezes", len(got), len(old))
		}
	}
	for _, m := range old {
		if !got[m] {
			t.Errorf("meter %s not read at start", m)
		}
	}
}
