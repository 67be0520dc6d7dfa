package collector

import (
	"context"
	"testing"
	"time"

	"github.com/headend/headend/meter"
)

func TestClockCheckDecides(t *testing.T) {
	c := &clockCheck{tolerance: 30 * time.Second, maxCorrection: 5 * time.Minute, loc: cst, synced: map[string]string{}}
	ours := time.Date(2025, 5, 1, 10, 0, 0, 0, cst)
	task := func(meterTime string) []meter.Read {
		return []meter.Read{
			{DI: 0x04000101, Status: meter.OK, Text: "2025-05-01 W4", ReadAt: ours},
			{DI: 0x04000102, Status: meter.OK, Text: meterTime, ReadAt: ours},
		}
	}
	for _, tc := range []struct {
		meter      string
		err        time.Duration
		sync, flag bool
	}{
		{"10:00:20", 20 * time.Second, false, false},
		{"09:57:00", -3 * time.Minute, true, false},
		{"10:04:59", 299 * time.Second, true, false},
		{"10:20:00", 20 * time.Minute, false, true},
	} {
		reads, ce, ok := c.check(task(tc.meter))
		if !ok || ce.Error != tc.err || ce.Sync != tc.sync || ce.Flag != tc.flag {
			t.Errorf("meter at %s: %+v", tc.meter, ce)
		}
		last := reads[len(reads)-1]
		if last.Quantity != "clock error" || last.Value.Units != int64(tc.err/time.Second) || (tc.flag && last.Err == "") {
			t.Errorf("meter at %s: clock error read %+v", tc.meter, last)
		}
	}
	// once a day a bus, and never near midnight
	if !c.syncAllowed("C1", ours) || c.syncAllowed("C1", ours.Add(time.Hour)) || !c.syncAllowed("C2", ours) {
		t.Error("once a day per bus")
	}
	if c.syncAllowed("C3", time.Date(2025, 5, 1, 23, 50, 0, 0, cst)) || c.syncAllowed("C3", time.Date(2025, 5, 2, 0, 10, 0, 0, cst)) {
		t.Error("a sync near midnight")
	}
}

var cst = time.FixedZone("CST", 8*3600)

// Against the simulator: a meter 3 minutes fast is put right by a
// broadcast; one 20 minutes fast is flagged and left alone.
func TestClockSyncOnTheWire(t *testing.T) {
	sim, cfg := fleet(t, "clock", area("TCP", "000021", `{kind: tcp-listen, listen: "127.0.0.1:0"}`), `faults:
  - {area: TCP, index: 1, kind: clock_drift, drift_s_per_day: 180, start: "2025-05-01 00:00"}
  - {area: TCP, index: 2, kind: clock_drift, drift_s_per_day: 1200, start: "2025-05-01 00:00"}
`, `  instantaneous: {enabled: false}
  interval: {enabled: false}
  daily: {enabled: false}
  monthly: {enabled: false}
  clock: {enabled: true, spec: daily 00:30, jitter: 0s, tolerance: 30s, max_correction: 5m}
`)
	start := sim.Fleet.Start()
	sim.Fleet.AdvanceTo(start.Add(24 * time.Hour)) // a day: 3 and 20 minutes fast
	clock := &testClock{now: start.Add(24*time.Hour + 29*time.Minute)}
	tasks := make(chan []meter.Read, 100)
	c, _ := New(&Config{Collector: cfg.Collector, Archive: cfg.Archive}, Options{Clock: clock, Sink: func(rs []meter.Read) { tasks <- rs }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	// the collector writes its state under the test's temporary
	// directory: wait for it to stop before that is removed
	defer func() { cancel(); <-done }()
	sim.Fleet.AdvanceTo(start.Add(24*time.Hour + 30*time.Minute))
	clock.Set(start.Add(24*time.Hour + 30*time.Minute))
	fast, far := sim.Fleet.Area("TCP").Customers[0], sim.Fleet.Area("TCP").Customers[1]
	errs := map[string]meter.Read{}
	synced := false
	deadline := time.After(20 * time.Second)
	for len(errs) < len(cfg.Archive.Meters) || !synced {
		select {
		case rs := <-tasks:
			for _, r := range rs {
				switch r.Quantity {
				case "clock error":
					errs[r.Meter] = r
				case "broadcast time sync":
					synced = true
				}
			}
		case <-deadline:
			t.Fatalf("clock errors of %d meters, synced %v", len(errs), synced)
		}
	}
	if e := errs[fast.Address]; e.Value.Units < 170 || e.Value.Units > 190 || e.Err != "" {
		t.Errorf("3-minute meter: %+v", e)
	}
	if e := errs[far.Address]; e.Value.Units < 1190 || e.Err == "" {
		t.Errorf("20-minute meter: %+v", e)
	}
	now := sim.Fleet.Now()
	if d := fast.Clock(now).Sub(now).Abs(); d > 2*time.Second {
		t.Errorf("after the broadcast the fast meter is still %v off", d)
	}
	if d := far.Clock(now).Sub(now); d < 19*time.Minute {
		t.Errorf("the far meter was corrected by a broadcast: %v", d)
	}
}
