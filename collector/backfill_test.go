package collector

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/headend/headend/meter"
)

// The head-end reads the daily freeze of 05-02, is away for three days,
// and on its return reads back exactly 05-03 and 05-04 from the meters'
// freeze history, plus 05-05 on schedule: each day once, 05-02 not again.
func TestRestartBackfillsExactlyTheMissingDays(t *testing.T) {
	sim, cfg := fleet(t, "backfill", area("TCP", "000031", `{kind: tcp-listen, listen: "127.0.0.1:0"}`), "", `  instantaneous: {enabled: false}
  interval: {enabled: false}
  daily: {enabled: true, spec: daily 00:05, jitter: 0s}
  monthly: {enabled: false}
  clock: {enabled: false}
`)
	start := sim.Fleet.Start()
	meters := len(cfg.Archive.Meters)

	// run the collector from `from` to the daily read at `to`; return the
	// freeze days read, per day the number of meters
	run := func(day time.Time, expectTasks int) map[string]int {
		sim.Fleet.AdvanceTo(day.Add(30 * time.Minute))
		clock := &testClock{now: day.Add(4 * time.Minute)}
		tasks := make(chan []meter.Read, 1000)
		c, _ := New(cfg, Options{Clock: clock, Sink: func(rs []meter.Read) { tasks <- rs }})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		got := map[string]int{}
		deadline := time.After(30 * time.Second)
		set := false
		for n := 0; n < expectTasks; n++ {
			if !set && n == expectTasks-meters {
				clock.Set(day.Add(5 * time.Minute)) // the daily read falls due
				set = true
			}
			select {
			case rs := <-tasks:
				for _, r := range rs {
					if r.Status != meter.OK {
						t.Fatalf("%s: %s %s", r.Meter, r.Status, r.Err)
					}
				}
				got[rs[0].MeterTime.Format(time.DateOnly)]++
			case <-deadline:
				t.Fatalf("%d of %d tasks", n, expectTasks)
			}
		}
		cancel()
		<-done
		select {
		case rs := <-tasks:
			t.Fatalf("an unexpected extra task: %+v", rs[0])
		default:
		}
		return got
	}
	day2 := start.AddDate(0, 0, 1)
	first := run(day2, meters)
	if len(first) != 1 || first["2025-05-02"] != meters {
		t.Fatalf("first run read %v", first)
	}
	day5 := start.AddDate(0, 0, 4)
	second := run(day5, 3*meters)
	var days []string
	for d, n := range second {
		if n != meters {
			t.Errorf("day %s read for %d meters, want %d", d, n, meters)
		}
		days = append(days, d)
	}
	sort.Strings(days)
	if fmt.Sprint(days) != "[2025-05-03 2025-05-04 2025-05-05]" {
		t.Fatalf("after the outage read %v", days)
	}
}
