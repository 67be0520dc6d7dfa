package collector

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/headend/headend/meter"
)

// The head-end reads the load profile at 02:05, is away until 10:05, and
// then reads exactly the 32 records of 02:15..10:00 it missed: none twice,
// none lost, each with its values.
func TestIntervalBackfillAfterOutage(t *testing.T) {
	sim, cfg := fleet(t, "intervals", area("TCP", "000041", `{kind: tcp-listen, listen: "127.0.0.1:0"}`), "", `  instantaneous: {enabled: false}
  interval: {enabled: true, spec: every 1h +5m, jitter: 0s}
  daily: {enabled: false}
  monthly: {enabled: false}
  clock: {enabled: false}
`)
	start := sim.Fleet.Start()
	meters := len(cfg.Archive.Meters)
	// one interval cycle at `at`: the record times read, per meter
	cycle := func(at time.Time) map[string][]string {
		sim.Fleet.AdvanceTo(at)
		clock := &testClock{now: at.Add(-time.Minute)}
		tasks := make(chan []meter.Read, 100)
		c, _ := New(cfg, Options{Clock: clock, Sink: func(rs []meter.Read) { tasks <- rs }})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		clock.Set(at)
		got := map[string][]string{}
		deadline := time.After(30 * time.Second)
		for n := 0; n < meters; n++ {
			select {
			case rs := <-tasks:
				for _, r := range rs {
					// a single-phase record has no phase B and C: "no data"
					if r.Status != meter.OK && r.Status != meter.NoData {
						t.Fatalf("%s: %s %s", r.Meter, r.Status, r.Err)
					}
					if r.Quantity == "record time" {
						got[r.Meter] = append(got[r.Meter], r.MeterTime.Format("15:04"))
					}
				}
			case <-deadline:
				t.Fatalf("%d of %d meters", n, meters)
			}
		}
		cancel()
		<-done
		return got
	}
	first := cycle(start.Add(2*time.Hour + 5*time.Minute))
	for m, times := range first {
		if fmt.Sprint(times) != "[01:15 01:30 01:45 02:00]" {
			t.Fatalf("%s first cycle: %v", m, times)
		}
	}
	second := cycle(start.Add(10*time.Hour + 5*time.Minute))
	for m, times := range second {
		if len(times) != 32 || times[0] != "02:15" || times[31] != "10:00" {
			t.Fatalf("%s after the outage: %d records %v", m, len(times), times)
		}
	}
}
