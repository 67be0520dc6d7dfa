package field

import (
	"context"
	"slices"
	"time"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/gdw3761"
)

// How much a terminal keeps per point, as a real one does: about two
// months of daily freezes, a year of monthly ones, three days of the
// 15-minute curve.
const (
	keepDaily   = 62
	keepMonthly = 12
	keepCurve   = 3 * 96
	curveStep   = 15 * time.Minute
)

// pointData is what the terminal collected of one measuring point.
type pointData struct {
	fwd, rev gdw3761.Energy // current readings (AFN 0C F129, F131)
	instant  gdw3761.Instant
	have     bool
	daily    []frozen // oldest first
	monthly  []frozen
	curve    []curvePoint

	lastFwd   int64 // forward total at the last reading, 0.01 kWh, for ERC27
	lostPhase [3]bool
	clockBad  bool
	covers    int64
	coverSeen bool
}

// frozen is one daily or monthly freeze of a point.
type frozen struct {
	date     gdw3761.DateTime // day (daily) or month (monthly, Day 0)
	fwd, rev gdw3761.Energy
}

type curvePoint struct {
	at  time.Time // simulated interval end, on the 15-minute grid
	fwd gdw3761.Num
}

func (p *pointData) putFrozen(list *[]frozen, keep int, f frozen) {
	for i := range *list {
		if (*list)[i].date == f.date {
			(*list)[i] = f
			return
		}
	}
	*list = append(*list, f)
	slices.SortFunc(*list, func(a, b frozen) int { return a.date.Time(nil).Compare(b.date.Time(nil)) })
	if len(*list) > keep {
		*list = slices.Delete(*list, 0, len(*list)-keep)
	}
}

func findFrozen(list []frozen, d gdw3761.DateTime) (frozen, bool) {
	for _, f := range list {
		if f.date == d {
			return f, true
		}
	}
	return frozen{}, false
}

// freezeDelay is how long after midnight a terminal starts collecting
// the daily freezes: the meters' clocks are a little off, and a meter
// asked too soon still gives the freeze of the day before. The points
// still without the day's freeze are asked again every retryEvery until
// retryUntil.
const (
	freezeDelay = 5 * time.Minute
	retryEvery  = 2 * time.Minute
	retryUntil  = 6 * time.Hour
)

// Collect runs the collections due at the simulated time now: current
// data (energies, voltages, currents, power) every 15 minutes, and from
// 00:05 the meters' last daily freezes with their clocks and cover
// counts, the points still without the day's freeze again every 2
// minutes until 06:00 (补抄: a meter that did not answer, or gave the
// freeze of the day before; a 1997 meter, read for its registers, only
// until 03:00). It returns when the line has carried them; Run calls it on its
// own schedule, tests directly.
func (t *Terminal) Collect(ctx context.Context) {
	now := t.opts.Now()
	slot := now.Truncate(curveStep)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	t.mu.Lock()
	current := t.lastPoll.IsZero() || slot.After(t.lastPoll)
	daily := (t.lastDay.IsZero() || day.After(t.lastDay)) && now.Sub(day) >= freezeDelay
	retry := !daily && day.Equal(t.lastDay) && now.Sub(t.retried) >= retryEvery && now.Sub(day) < retryUntil
	entries := t.entriesLocked()
	t.mu.Unlock()
	if !current && !daily && !retry {
		return
	}
	// the day's freezes first: they are what the head-end reads
	want := gdw3761.DateTimeOf(day.AddDate(0, 0, -1))
	want.Hour, want.Minute, want.Second, want.Weekday = 0, 0, 0, 0
	for _, e := range entries {
		if ctx.Err() != nil {
			break
		}
		if daily || retry && t.lacksDaily(e, want, now.Sub(day)) {
			t.collectDaily(ctx, e, day)
		}
	}
	for _, e := range entries {
		if current && ctx.Err() == nil {
			t.collectCurrent(ctx, e, slot)
		}
	}
	if ctx.Err() != nil {
		return
	}
	t.mu.Lock()
	if current {
		t.lastPoll = slot
	}
	if daily {
		t.lastDay = day
	}
	if daily || retry {
		t.retried = now
	}
	t.stats.Polls++
	t.mu.Unlock()
}

// lacksDaily reports whether point e has no daily freeze of day d yet
// and is still worth asking, since midnight elapsed ago.
func (t *Terminal) lacksDaily(e gdw3761.MeterEntry, d gdw3761.DateTime, elapsed time.Duration) bool {
	if edition(e) == dlt645.DLT1997 && elapsed > 3*time.Hour {
		return false // its registers now are not the day's end
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.points[e.Point]
	if p == nil {
		return true
	}
	_, ok := findFrozen(p.daily, d)
	return !ok
}

func (t *Terminal) entriesLocked() []gdw3761.MeterEntry {
	out := make([]gdw3761.MeterEntry, 0, len(t.archive))
	for _, e := range t.archive {
		if e.Point != 0 {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b gdw3761.MeterEntry) int { return int(a.Point) - int(b.Point) })
	return out
}

func edition(e gdw3761.MeterEntry) dlt645.Edition {
	if e.Protocol == gdw3761.MeterDLT1997 {
		return dlt645.DLT1997
	}
	return dlt645.DLT2007
}

// read sends one DL/T 645 read to meter e over the port and returns the
// decoded values, or nil when it did not answer properly.
func (t *Terminal) read(ctx context.Context, e gdw3761.MeterEntry, di dlt645.DI) []dlt645.Value {
	ed := edition(e)
	req, err := ed.ReadRequest(e.Address, di)
	if err != nil {
		return nil
	}
	wire, err := req.MarshalBinary()
	if err != nil {
		return nil
	}
	reply := t.exchange(ctx, t.opts.Poll, wire, t.line.opts.Baud)
	var f dlt645.Frame
	if _, err := f.Decode(reply); err != nil || !f.Control.Reply() || f.Control.Abnormal() || f.Address != e.Address {
		return nil
	}
	msg, err := ed.Decode(&f)
	if err != nil || msg.DI != di {
		return nil
	}
	vals, err := ed.Registry().Decode(di, msg.Payload, nil)
	if err != nil {
		return nil
	}
	return vals
}

// exchange is one transaction on the port, holding it for the line time.
func (t *Terminal) exchange(ctx context.Context, bus Bus, req []byte, baud int) []byte {
	l := t.line
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.Transactions.Add(1)
	l.stats.BytesIn.Add(int64(len(req)))
	reply := bus.Exchange(ctx, req)
	if err := l.opts.Sleep(ctx, LineTime(baud, len(req)+len(reply))+l.opts.Latency); err != nil {
		return nil
	}
	if len(reply) == 0 {
		l.stats.Unanswered.Add(1)
	}
	l.stats.BytesOut.Add(int64(len(reply)))
	return reply
}

func numOf(v dlt645.Value) gdw3761.Num {
	if v.Kind != dlt645.KindNumber || v.NoData {
		return gdw3761.Num{Missing: true}
	}
	return gdw3761.Num{Value: v.Number}
}

// energy builds a reading with tariffs from a 5-value block (total,
// tariffs 1..4) in A.14's 4 decimals.
func energy(vals []dlt645.Value, at time.Time, date gdw3761.DateTime) (gdw3761.Energy, bool) {
	if len(vals) < 1 || vals[0].NoData || vals[0].Kind != dlt645.KindNumber {
		return gdw3761.Energy{}, false
	}
	e := gdw3761.Energy{Date: date, ReadTime: minute(at)}
	e.Total = numOf(vals[0])
	for _, v := range vals[1:] {
		e.Tariffs = append(e.Tariffs, numOf(v))
	}
	return e, true
}

func minute(t time.Time) gdw3761.DateTime {
	d := gdw3761.DateTimeOf(t)
	d.Second, d.Weekday = 0, 0
	return d
}

func (t *Terminal) point(pn uint16) *pointData {
	p := t.points[pn]
	if p == nil {
		p = &pointData{}
		t.points[pn] = p
	}
	return p
}

// collectCurrent reads a meter's registers and instantaneous values.
func (t *Terminal) collectCurrent(ctx context.Context, e gdw3761.MeterEntry, slot time.Time) {
	ed := edition(e)
	dis := [5]dlt645.DI{0x0001FF00, 0x0002FF00, 0x0201FF00, 0x0202FF00, 0x0203FF00}
	if ed == dlt645.DLT1997 {
		dis = [5]dlt645.DI{0x901F, 0x902F, 0xB61F, 0xB62F, 0xB63F}
	}
	fwdV := t.read(ctx, e, dis[0])
	if fwdV == nil {
		return // a dead meter: nothing more to ask it this round
	}
	revV := t.read(ctx, e, dis[1])
	uV := t.read(ctx, e, dis[2])
	iV := t.read(ctx, e, dis[3])
	pV := t.read(ctx, e, dis[4])
	now := t.opts.Now()

	t.mu.Lock()
	defer t.mu.Unlock()
	clock := t.clockLocked(now)
	p := t.point(e.Point)
	fwd, ok := energy(fwdV, clock, gdw3761.DateTime{})
	if !ok {
		return
	}
	p.fwd, p.have = fwd, true
	if rev, ok := energy(revV, clock, gdw3761.DateTime{}); ok {
		p.rev = rev
	}
	in := gdw3761.Instant{ReadTime: minute(clock)}
	for i := range in.P {
		in.P[i], in.Q[i], in.PF[i], in.S[i] = gdw3761.Num{Missing: true}, gdw3761.Num{Missing: true}, gdw3761.Num{Missing: true}, gdw3761.Num{Missing: true}
	}
	for i := range in.U {
		in.U[i], in.I[i] = gdw3761.Num{Missing: true}, gdw3761.Num{Missing: true}
	}
	in.I0 = gdw3761.Num{Missing: true}
	for i := 0; i < 3 && i < len(uV); i++ {
		in.U[i] = numOf(uV[i])
	}
	for i := 0; i < 3 && i < len(iV); i++ {
		in.I[i] = numOf(iV[i])
	}
	for i := 0; i < 4 && i < len(pV); i++ {
		in.P[i] = numOf(pV[i])
	}
	p.instant = in

	// the curve: the forward reading at this 15-minute mark, in A.11
	if v, ok := fwd.Total.Value.Rescale(2); ok && !fwd.Total.Missing {
		p.curve = append(p.curve, curvePoint{at: slot, fwd: gdw3761.Num{Value: v}})
		if len(p.curve) > keepCurve {
			p.curve = slices.Delete(p.curve, 0, len(p.curve)-keepCurve)
		}
	}
	t.watchCurrent(e, p, clock, in)
}

// collectDaily reads a meter's last daily freeze (2007) or, for a meter
// that keeps none (1997), its registers now, just after midnight; and its
// clock and cover count for the event log.
func (t *Terminal) collectDaily(ctx context.Context, e gdw3761.MeterEntry, day time.Time) {
	ed := edition(e)
	label := day.AddDate(0, 0, -1) // the day the freeze closes
	var fwdV, revV []dlt645.Value
	if ed == dlt645.DLT2007 {
		tv := t.read(ctx, e, 0x05060001)
		if tv == nil {
			return // a dead meter: nothing more to ask it today
		}
		if len(tv) > 0 && tv[0].Kind == dlt645.KindTime && !tv[0].NoData {
			if ft, err := tv[0].Time.Time(day.Location()); err == nil {
				ft = ft.Add(12 * time.Hour) // a drifted meter froze near midnight, either side
				label = time.Date(ft.Year(), ft.Month(), ft.Day(), 0, 0, 0, 0, day.Location()).AddDate(0, 0, -1)
				fwdV = t.read(ctx, e, 0x05060101)
				revV = t.read(ctx, e, 0x05060201)
			}
		}
	} else {
		fwdV = t.read(ctx, e, 0x901F)
		revV = t.read(ctx, e, 0x902F)
	}
	var coverV []dlt645.Value
	var meterClock time.Time
	clockOK := false
	if ed == dlt645.DLT2007 {
		meterClock, clockOK = t.readClock(ctx, e, day.Location())
		coverV = t.read(ctx, e, 0x03300D00)
	}
	now := t.opts.Now()

	t.mu.Lock()
	defer t.mu.Unlock()
	clock := t.clockLocked(now)
	p := t.point(e.Point)
	d := gdw3761.DateTimeOf(label)
	d.Hour, d.Minute, d.Second, d.Weekday = 0, 0, 0, 0
	fwd, ok := energy(fwdV, clock, d)
	if ok {
		f := frozen{date: d, fwd: fwd}
		f.rev, _ = energy(revV, clock, d)
		f.rev.Date = d
		p.putFrozen(&p.daily, keepDaily, f)
		if label.AddDate(0, 0, 1).Day() == 1 { // the end of a month
			m := d
			m.Day = 0
			fm := frozen{date: m, fwd: fwd, rev: f.rev}
			fm.fwd.Date, fm.rev.Date = m, m
			p.putFrozen(&p.monthly, keepMonthly, fm)
		}
	}
	if clockOK {
		t.watchClock(e, p, clock, meterClock)
	}
	if len(coverV) > 0 && coverV[0].Kind == dlt645.KindNumber && !coverV[0].NoData {
		t.watchCover(e, p, clock, coverV[0].Number.Units)
	}
}
