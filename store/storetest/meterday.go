package storetest

import (
	"bytes"
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

// meterDayScenario is one area of simulated DL/T 645-2007 meters, none
// faulty.
const meterDayScenario = `
name: meterday
seed: 5
start: 2025-04-01T00:00:00+08:00
speed: 1
areas:
  - id: M1
    name: MeterDay
    feeder: F1
    voltage_level: 10kV/0.4kV
    ct_ratio: 10
    tech_loss_pct: 4
    address_prefix: "000009"
    customers: {residential: 2}
    edition_1997_share: 0
    concentrator: {id: C9, access: {kind: tcp-listen, listen: "127.0.0.1:0"}}
`

// MeterDay returns the reads of one simulated DL/T 645-2007 meter over one
// day of the demo's schedules (configs/headend.yaml): the default reading
// plan's instantaneous reads every 15 minutes, the last hour's four
// load-profile records every hour, the daily freeze after midnight and the
// clock once a day, each task as poll.DLT645 reads it from the simulated
// meter through a master (real frames, no retries), stamped as the
// collector stamps them (stamp). The reads come in batches, one per task,
// as the collector hands them to the store (less the clock check's
// "clock error" read).
func MeterDay(tb testing.TB) [][]meter.Read {
	tb.Helper()
	return meterDay(tb, true, 1)
}

// MeterNextDay is MeterDay of the day after, for the growth of a store
// that already holds a day of the meter.
func MeterNextDay(tb testing.TB) [][]meter.Read {
	tb.Helper()
	return meterDay(tb, true, 2)
}

// MeterDayPolled is MeterDay without stamp: the reads as poll.DLT645
// returns them (what the fixtures of store/sqlite's migration tests hold).
func MeterDayPolled(tb testing.TB) [][]meter.Read {
	tb.Helper()
	return meterDay(tb, false, 1)
}

// meterDay returns the reads of day n after the scenario's start.
func meterDay(tb testing.TB, stamped bool, n int) [][]meter.Read {
	tb.Helper()
	sc, err := scenario.Parse("meterday.yaml", []byte(meterDayScenario))
	if err != nil {
		tb.Fatal(err)
	}
	fleet, err := model.New(sc.Config)
	if err != nil {
		tb.Fatal(err)
	}
	area := fleet.Areas()[0]
	m := area.Customers[0]
	day := fleet.Start().Add(time.Duration(n) * 24 * time.Hour) // n ≥ 1: a day with a day of records before it
	fleet.AdvanceTo(day)
	mb, err := meterbus.New(fleet, []*model.Meter{m}, meterbus.Options{Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	now := day
	proto := poll.DLT645{Master: &master.Master{Link: &simLink{bus: mb}, Now: func() time.Time { return now }}, Now: func() time.Time { return now }}
	target := poll.Target{Address: m.Address, Edition: dlt645.DLT2007, Area: area.ID}
	plan := schedule.DefaultReading()

	type task struct {
		at    time.Time
		class meter.Class
		reqs  []poll.Request
	}
	var tasks []task
	for q := 0; q < 96; q++ {
		tasks = append(tasks, task{day.Add(time.Duration(q)*15*time.Minute + 30*time.Second), meter.Instantaneous, plan.InstantaneousRequests(target, day)})
	}
	for h := 0; h < 24; h++ {
		due := day.Add(time.Duration(h)*time.Hour + 5*time.Minute)
		from := due.Truncate(15 * time.Minute).Add(-45 * time.Minute)
		tasks = append(tasks, task{due, meter.Interval, []poll.Request{{DI: 0x06000001, Blocks: 4, From: dlt645.DateTimeOf(from.In(day.Location()), dlt645.YYMMDDhhmm)}}})
	}
	tasks = append(tasks, task{day.Add(5 * time.Minute), meter.Daily, plan.DailyRequests(target, day)})
	tasks = append(tasks, task{day.Add(10 * time.Hour), meter.Clock, plan.ClockRequests(target, day)})

	var out [][]meter.Read
	for _, tk := range tasks {
		now = tk.at
		fleet.AdvanceTo(now)
		var batch []meter.Read
		for _, rq := range tk.reqs {
			base := meter.Read{Meter: target.Address, Area: target.Area, Channel: "C9", Class: tk.class,
				DI: rq.DI, Edition: target.Edition, Quantity: poll.Asked(target.Edition, rq.DI), Frame: meter.FrameRef{Tries: 1}}
			rs, err := proto.Do(context.Background(), target, rq, base)
			if err != nil {
				tb.Fatalf("%s %s at %v: %v", tk.class, rq.DI.Format(dlt645.DLT2007), now, err)
			}
			batch = append(batch, rs...)
		}
		if stamped {
			batch = stamp(batch, day.Location())
		}
		out = append(out, batch)
	}
	return out
}

// stamp does to a task's reads what the collector's sink does
// (collector/stamp.go: stampFreezes, stampProfile) before the store sees
// them: the energies of a daily freeze take the freeze's time as their
// MeterTime and their plain quantity name, and each value of a
// load-profile read its record's time. Without it the four records of an
// hourly load-profile read are one key, and the store keeps one of them.
func stamp(reads []meter.Read, loc *time.Location) []meter.Read {
	var freeze, record time.Time
	for _, r := range reads {
		if r.DI>>8 == 0x050600 && r.Status == meter.OK && r.Text != "" {
			if t, err := time.ParseInLocation("2006-01-02T15:04", r.Text, loc); err == nil {
				freeze = t
			}
		}
	}
	for i := range reads {
		r := &reads[i]
		switch {
		case r.DI>>16 == 0x0506:
			if _, rest, ok := strings.Cut(r.Quantity, " -"); ok && strings.HasPrefix(r.Quantity, "daily freeze") {
				if _, name, ok := strings.Cut(rest, " "); ok {
					r.Quantity = name
				}
			}
			r.MeterTime = freeze
		case r.DI>>24 == 0x06:
			if r.Quantity == "record time" {
				record = time.Time{}
				if t, err := time.ParseInLocation("2006-01-02T15:04", r.Text, loc); err == nil {
					record = t
				}
			}
			r.MeterTime = record
		}
	}
	return reads
}

// MeterDayBytes writes the reads of MeterDay to s, batch by batch, and
// reports size() (what s takes on disk, as its backend measures it) minus
// what it took before, per meter per day.
func MeterDayBytes(b *testing.B, s interface {
	Write(context.Context, []meter.Read) error
}, size func() int64) {
	day := MeterDay(b)
	n, rows := 0, 0
	for _, batch := range day {
		rows += len(batch)
	}
	before := size()
	for _, batch := range day {
		if err := s.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(size()-before), "bytes/meter/day")
	b.ReportMetric(float64(rows), "reads/meter/day")
	b.ReportMetric(float64(n), "writes/meter/day")
}

// MeterNextDayBytes writes MeterNextDay to s, which holds MeterDay, and
// reports what size grew by: a day of a meter the store already knows
// (its series made, its tables past their first pages).
func MeterNextDayBytes(b *testing.B, s interface {
	Write(context.Context, []meter.Read) error
}, size func() int64) {
	before := size()
	for _, batch := range MeterNextDay(b) {
		if err := s.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size()-before), "nextday-bytes/meter/day")
}

// simLink is a link.Link straight onto a simulated bus: Send hands the
// request to the meter, Receive returns its reply at once, or times out
// at once.
type simLink struct {
	bus     *meterbus.Bus
	mu      sync.Mutex
	pending [][]byte
}

func (l *simLink) Send(ctx context.Context, b []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if reply := l.bus.Exchange(ctx, b); reply != nil {
		r := dlt645.NewReader(bytes.NewReader(reply))
		for {
			if _, err := r.ReadFrame(); err != nil {
				break
			}
			l.pending = append(l.pending, bytes.Clone(r.Raw()))
		}
	}
	return nil
}

func (l *simLink) Receive(ctx context.Context, deadline time.Time) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) == 0 {
		return nil, link.ErrTimeout
	}
	f := l.pending[0]
	l.pending = l.pending[1:]
	return f, nil
}

func (l *simLink) Discard()          { l.mu.Lock(); l.pending = nil; l.mu.Unlock() }
func (l *simLink) State() link.State { return link.State{Online: true} }
func (l *simLink) Close() error      { return nil }
