package collector

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/meterbus"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
)

// meterLink is a Link straight onto a simulated bus, each exchange taking
// two simulated seconds (the real links are tested in collector/link).
type meterLink struct {
	bus     *meterbus.Bus
	mu      sync.Mutex
	pending [][]byte
}

func (l *meterLink) Send(ctx context.Context, b []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if reply := l.bus.Exchange(ctx, b); reply != nil {
		r := dlt645.NewReader(strings.NewReader(string(reply)))
		for {
			if _, err := r.ReadFrame(); err != nil {
				break
			}
			l.pending = append(l.pending, append([]byte(nil), r.Raw()...))
		}
	}
	return nil
}

func (l *meterLink) Receive(ctx context.Context, _ time.Time) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) == 0 {
		return nil, link.ErrTimeout
	}
	b := l.pending[0]
	l.pending = l.pending[1:]
	return b, nil
}

func (l *meterLink) Discard()          { l.mu.Lock(); l.pending = nil; l.mu.Unlock() }
func (l *meterLink) State() link.State { return link.State{Online: true} }
func (l *meterLink) Close() error      { return nil }

// Meters 5 minutes fast are read while its clock passes midnight, two
// simulated seconds a transaction, with the standard clock requests over
// the real poll code. The date and the time must come from the same day of
// the meter: the clock error is the 5 minutes, not 5 minutes less a day (a
// false clock_drift flag).
func TestClockReadAcrossTheMetersMidnight(t *testing.T) {
	sc, err := scenario.Parse("midnight.yaml", []byte(`name: midnight
seed: 5
start: 2025-04-01T00:00:00+08:00
speed: 1
areas:
  - id: M1
    name: Midnight
    feeder: F1
    voltage_level: 10kV/0.4kV
    ct_ratio: 10
    tech_loss_pct: 4
    address_prefix: "000008"
    customers: {residential: 2}
    edition_1997_share: 0
    concentrator: {id: C8, access: {kind: tcp-listen, listen: "127.0.0.1:0"}}
faults:
  - {area: M1, index: 1, kind: clock_drift, drift_s_per_day: 300, start: "2025-04-01 00:00"}
  - {area: M1, index: 2, kind: clock_drift, drift_s_per_day: 300, start: "2025-04-01 00:00"}
  - {area: M1, index: 2, kind: no_blocks, start: "2025-04-01 00:00"}
`))
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := model.New(sc.Config)
	if err != nil {
		t.Fatal(err)
	}
	day2 := fleet.Start().AddDate(0, 0, 1)
	fleet.AdvanceTo(day2.Add(-10 * time.Minute)) // the step 23:45 .. 00:00
	for i, how := range []string{"date and time in one transaction", "date, time, date (0400010C refused)"} {
		t.Run(how, func(t *testing.T) { clockAcrossMidnight(t, fleet, fleet.Areas()[0].Customers[i], day2) })
	}
}

func clockAcrossMidnight(t *testing.T, fleet *model.Fleet, m *model.Meter, day2 time.Time) {
	// the sim instant the meter's clock passes midnight
	lo, hi := day2.Add(-15*time.Minute), day2
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2)
		if m.Clock(mid).Day() == day2.Day() {
			hi = mid
		} else {
			lo = mid
		}
	}
	if hi.Equal(day2) {
		t.Fatalf("meter clock %s at midnight: not fast", m.Clock(day2))
	}
	fast := m.Clock(hi).Sub(hi).Round(time.Second)
	var mu sync.Mutex
	now := hi.Add(-3 * time.Second) // date read on the old day, time on the new
	tick := func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(2 * time.Second); return now }
	at := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	mb, err := meterbus.New(fleet, []*model.Meter{m}, meterbus.Options{Seed: 1, Now: tick})
	if err != nil {
		t.Fatal(err)
	}
	ms := &master.Master{Link: &meterLink{bus: mb}, Timeout: time.Second}
	done := make(chan []meter.Read, 1)
	bus := poll.New(poll.DLT645{Master: ms, Now: at}, nil, poll.Options{Now: at})
	target := poll.Target{Address: m.Address, Edition: dlt645.DLT2007, Area: "M1"}
	bus.Enqueue(poll.Task{Target: target, Class: meter.Clock, Requests: schedule.ClockRequests(target, at()), Done: done})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go bus.Run(ctx)
	var reads []meter.Read
	select {
	case reads = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("bus stalled")
	}
	c := &clockCheck{tolerance: 30 * time.Second, maxCorrection: 10 * time.Minute, loc: fleet.Zone(), synced: map[string]string{}}
	// (check itself takes no clock error this close to midnight)
	meterAt, ours, _, ok := c.joined(reads)
	if !ok {
		t.Fatalf("no date and time from %+v", reads)
	}
	if e := meterAt.Sub(ours); (e - fast).Abs() > 5*time.Second {
		t.Fatalf("clock error %s, the meter is %s fast (reads %+v)", e, fast, reads)
	}
}

// A clock task that a busy line ran late, at 23:59 or 00:05, gives no
// clock error: meters freeze then (the check runs outside 23:45..00:15).
func TestClockNotCheckedInTheFreezeWindow(t *testing.T) {
	c := &clockCheck{tolerance: 30 * time.Second, maxCorrection: 5 * time.Minute, loc: cst, synced: map[string]string{}}
	for _, at := range []time.Time{time.Date(2025, 5, 1, 23, 59, 24, 0, cst), time.Date(2025, 5, 2, 0, 5, 0, 0, cst), time.Date(2025, 5, 1, 23, 46, 0, 0, cst)} {
		date := at.Format("2006-01-02") + " W4"
		reads := []meter.Read{
			{DI: 0x04000101, Status: meter.OK, Text: date, ReadAt: at},
			{DI: 0x04000102, Status: meter.OK, Text: at.Format("15:04:05"), ReadAt: at},
		}
		if _, ce, ok := c.check(reads); ok {
			t.Errorf("clock checked at %s: %+v", at.Format(time.TimeOnly), ce)
		}
	}
	at := time.Date(2025, 5, 1, 0, 16, 0, 0, cst)
	if _, _, ok := c.check([]meter.Read{{DI: 0x04000101, Status: meter.OK, Text: "2025-05-01 W4", ReadAt: at},
		{DI: 0x04000102, Status: meter.OK, Text: "00:16:00", ReadAt: at}}); !ok {
		t.Error("clock not checked at 00:16")
	}
}
