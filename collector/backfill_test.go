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
		c, _ := New(&Config{Collector: cfg.Collector, Archive: cfg.Archive}, Options{Clock: clock, Sink: func(rs []meter.Read) { tasks <- rs }})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		got := map[string]int{}
		deadline := time.After(30 * time.Second)
		set := false
		for n := 0; n < expectTasks; n++ {
			if !set {
				// once the scheduler waits (the start's backfill is
				// enqueued), the daily read falls due: its read of the
				// latest freeze reads back the days before it the
				// head-end lacks
				for clock.waiting() == 0 {
					select {
					case <-deadline:
						t.Fatal("the scheduler never waited on the clock")
					case <-time.After(time.Millisecond):
					}
				}
				clock.Set(day.Add(5 * time.Minute))
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

// A restart on a clock far ahead of the meters (the host's clock a year
// ahead of a simulated fleet, or a clock jumped forward) reads each
// meter's latest freeze once, and no freeze the head-end already holds:
// a re-read by another freeze index would replace the held freeze's
// frames, and indices computed from the head-end's clock ask for days the
// meters do not have (no-data reads stamped a year ahead).
func TestRestartOnAClockAheadReadsNoHeldFreezeAgain(t *testing.T) {
	sim, cfg := fleet(t, "ahead", area("TCP", "000032", `{kind: tcp-listen, listen: "127.0.0.1:0"}`), "", `  instantaneous: {enabled: false}
  interval: {enabled: false}
  daily: {enabled: true, spec: daily 00:05, jitter: 0s}
  monthly: {enabled: false}
  clock: {enabled: false}
`)
	start := sim.Fleet.Start()
	meters := len(cfg.Archive.Meters)

	// run runs the collector on clock, set to then once it runs, until
	// at least n tasks are done and the bus is idle; it returns each
	// task's reads
	run := func(clock *testClock, then time.Time, n int) [][]meter.Read {
		tasks := make(chan []meter.Read, 10000)
		c, _ := New(&Config{Collector: cfg.Collector, Archive: cfg.Archive}, Options{Clock: clock, Sink: func(rs []meter.Read) { tasks <- rs }})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		var got [][]meter.Read
		deadline := time.After(30 * time.Second)
		if !then.IsZero() {
			clock.Set(then)
		}
		idle := func() bool {
			var ran int64
			for _, ch := range c.Status().Channels {
				if ch.Bus.Queued > 0 {
					return false
				}
				ran += ch.Bus.Tasks
			}
			return ran == int64(len(got))
		}
		for len(got) < n || !idle() {
			if len(got) > n+2*meters {
				break // reading more than it should: no need to wait for the rest
			}
			select {
			case rs := <-tasks:
				got = append(got, rs)
			case <-deadline:
				t.Fatalf("%d tasks done, the buses not idle", len(got))
			case <-time.After(10 * time.Millisecond): // poll idle() again
			}
		}
		cancel()
		<-done
		return got
	}
	// the freeze of 05-02 read on schedule
	day2 := start.AddDate(0, 0, 1)
	sim.Fleet.AdvanceTo(day2.Add(30 * time.Minute))
	if got := run(&testClock{now: day2.Add(4 * time.Minute)}, day2.Add(5*time.Minute), meters); len(got) != meters {
		t.Fatalf("first run: %d tasks, want %d", len(got), meters)
	}
	// the meters at 05-03 10:00, the head-end's clock a year ahead
	day3 := start.AddDate(0, 0, 2)
	sim.Fleet.AdvanceTo(day3.Add(10 * time.Hour))
	got := run(&testClock{now: day3.AddDate(1, 0, 0).Add(10 * time.Hour)}, time.Time{}, 1)
	days, bad := map[string]int{}, 0
	for _, rs := range got {
		for _, r := range rs {
			if r.Status != meter.OK {
				if bad++; bad > 3 {
					continue
				}
				t.Errorf("%s %s %s: %s %s (read at %s)", r.Meter, r.DI, r.Quantity, r.Status, r.Err, r.ReadAt.Format(time.DateTime))
			}
		}
		days[rs[0].MeterTime.Format(time.DateOnly)]++
	}
	if len(days) != 1 || days["2025-05-03"] != meters {
		t.Fatalf("after the restart on a clock a year ahead read the freezes of %v (tasks by freeze day), want 2025-05-03 once for each of %d meters", days, meters)
	}
}
