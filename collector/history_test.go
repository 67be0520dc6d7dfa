package collector

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector/ledger"
	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/meter"
)

// shiftingMeter keeps daily freezes up to latest (freeze n is the day n-1
// before it) and freezes a new day after its first answered task, as a
// meter does at the midnight of its own clock. It records which freeze
// index gave which day.
type shiftingMeter struct {
	mu     sync.Mutex
	latest time.Time
	asks   int
	got    map[string][]int // freeze day: the indices that gave it
}

func (p *shiftingMeter) Do(_ context.Context, _ poll.Target, rq poll.Request, base meter.Read) ([]meter.Read, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := int(rq.DI & 0xFF)
	day := p.latest.AddDate(0, 0, -(n - 1))
	if rq.DI&0xFF00 == 0 {
		p.got[day.Format(time.DateOnly)] = append(p.got[day.Format(time.DateOnly)], n)
	}
	base.Status, base.MeterTime, base.ReadAt = meter.OK, day, day
	if p.asks++; p.asks == 3 { // after the first task's three reads
		p.latest = p.latest.AddDate(0, 0, 1)
	}
	return []meter.Read{base}, nil
}

// A meter commissioned just after midnight, whose clock is a little slow,
// still gives the day before as its latest freeze; its history, read two
// days on (freezeDue), is read after the meter froze the new day and the
// daily read read it. Each day is read once, by the index it has when it
// is read: before, the history's indices, taken at the start, read the
// day the commissioning read already held (its frames replaced in the
// store: the fault run's lost=9) and never the oldest day.
func TestHistoryReadAfterTheMeterFrozeANewDayReadsTheDaysWanted(t *testing.T) {
	loc := time.UTC
	start := time.Date(2025, 6, 4, 0, 2, 0, 0, loc)
	m := archive.Meter{Address: "000000000001", Edition: archive.Edition2007, Channel: "C1", Area: "A1"}
	arc := &archive.Archive{Meters: []archive.Meter{m}}
	clock := &testClock{now: start}
	c, err := New(&Config{Archive: arc}, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(filepath.Join(t.TempDir(), "daily-freezes.ledger"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c.ledger = l
	fake := &shiftingMeter{latest: time.Date(2025, 6, 3, 0, 0, 0, 0, loc), got: map[string][]int{}}
	ch := &channel{id: "C1"}
	tasks := make(chan []meter.Read, 100)
	plan := c.config().Collector.Plan.Reading()
	var once sync.Once
	ch.bus = poll.New(freezeIndex{Protocol: fake, c: c}, func(rs []meter.Read) {
		c.heldFreeze(rs)
		// the daily read of 00:05, taken by the bus once the commission's
		// read of the same freeze index is done
		once.Do(func() {
			ch.bus.Enqueue(poll.Task{Target: target(&m), Class: meter.Daily, Due: start.Add(3 * time.Minute), Requests: plan.FreezeRequests(1)})
		})
		tasks <- rs
	}, poll.Options{Channel: "C1"})
	c.channels = []*channel{ch}
	idx, _ := c.index().Meter(m.Address)
	if n := c.commission(ch, idx, 3); n != 1 {
		t.Fatalf("commission enqueued %d tasks, want 1 (the latest freeze)", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ch.bus.Run(ctx)
	deadline := time.After(10 * time.Second)
	for n := 0; n < 4; n++ {
		select {
		case <-tasks:
		case <-deadline:
			t.Fatalf("%d of 4 tasks in 10 s (days read %v)", n, fake.got)
		}
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	var days []string
	for d, ks := range fake.got {
		days = append(days, fmt.Sprint(d, ks))
	}
	sort.Strings(days)
	// 06-03 by the commission (the meter not yet frozen 06-04), 06-04 by
	// the daily read, then the two days before 06-03
	if want := "[2025-06-01[4] 2025-06-02[3] 2025-06-03[1] 2025-06-04[1]]"; fmt.Sprint(days) != want {
		t.Fatalf("freeze days read (with the indices that read them) %v, want %s", days, want)
	}
	for _, d := range []string{"2025-06-01", "2025-06-02", "2025-06-03", "2025-06-04"} {
		day, _ := time.ParseInLocation(time.DateOnly, d, loc)
		if !l.Has(m.Address, day) {
			t.Errorf("%s not held", d)
		}
	}
}
