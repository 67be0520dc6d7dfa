package terminal

import (
	"context"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/gdw3761"
)

// Point is a meter as the terminal knows it: its measuring point number
// (测量点号) in the terminal's archive, and the head-end's names for it.
type Point struct {
	Pn      uint16
	Meter   string // 12-digit address
	Area    string
	Channel string
}

// MaxPoints is the most points one read request asks for: 8 groups of 8,
// about 4.4 kB of daily freezes with 4 tariffs in the reply (which the
// terminal may split into several frames).
const MaxPoints = 64

// A read of the terminal's own data returns reads named as the DL/T
// 645-2007 reads of the same registers, before the collector's stamping:
// F161/F163 as the daily freeze -1 (05060101, 05060201, with its time
// 05060001 from td_d), F177/F179 as settlement day -1 (0001FF01,
// 0002FF01), F129/F131 as the current registers (0001FF00, 0002FF00),
// F25 as voltages, currents, active power and power factor (0201FF00,
// 0202FF00, 02030000, 02060000). The daily freeze of day D is the
// register at 24:00 of D, so its meter time is 00:00 of D+1, as a 645
// meter stamps the freeze it made that midnight.
type mapping struct {
	di     dlt645.DI
	member func(i int) int // index of the registry member for value i
}

var reg2007 = dlt645.DLT2007.Registry()

// names returns the quantity name and unit of member i of the block di.
func names(di dlt645.DI, i int) (string, string) {
	s, ok := reg2007.Lookup(di)
	if !ok {
		return di.Format(dlt645.DLT2007), ""
	}
	if len(s.Members) == 0 {
		if len(s.Fields) > 0 {
			return s.Name, s.Fields[0].Unit
		}
		return s.Name, ""
	}
	if i >= len(s.Members) {
		i = len(s.Members) - 1
	}
	m := s.Members[i]
	unit := ""
	if len(m.Fields) > 0 {
		unit = m.Fields[0].Unit
	}
	return m.Name, unit
}

// frozenDI is the 645 block of an AFN 0D energy unit.
func frozenDI(afn gdw3761.AFN, fn uint8) (dlt645.DI, meter.Class, bool) {
	switch {
	case afn == gdw3761.AFNClass2 && fn == 161:
		return 0x05060101, meter.Daily, true
	case afn == gdw3761.AFNClass2 && fn == 163:
		return 0x05060201, meter.Daily, true
	case afn == gdw3761.AFNClass2 && fn == 177:
		return 0x0001FF01, meter.Monthly, true
	case afn == gdw3761.AFNClass2 && fn == 179:
		return 0x0002FF01, meter.Monthly, true
	case afn == gdw3761.AFNClass1 && fn == 129:
		return 0x0001FF00, meter.Instantaneous, true
	case afn == gdw3761.AFNClass1 && fn == 131:
		return 0x0002FF00, meter.Instantaneous, true
	}
	return 0, "", false
}

// Reader reads a terminal's own data for many points per request.
type Reader struct {
	Session  *Session
	Location *time.Location   // zone of the terminal's time labels; nil: time.Local
	Now      func() time.Time // stamps ReadAt; nil: time.Now
	// CollectBy is how long after a freeze (the day's or month's end) the
	// terminal has surely collected it: a point without data after that
	// is a failed read even when no other point has data; 0 is 6 h.
	CollectBy time.Duration
}

func (r *Reader) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Reader) loc() *time.Location {
	if r.Location != nil {
		return r.Location
	}
	return time.Local
}

// ReadDaily reads the daily freezes (F161 forward, F163 reverse active
// energy) of the day of d for points, in requests of up to MaxPoints
// points. It returns the reads of every point (see pointReads for a
// point without data) and the number of requests made.
func (r *Reader) ReadDaily(ctx context.Context, d time.Time, points []Point) ([]meter.Read, int, error) {
	return r.read(ctx, points, meter.Daily, d)
}

// ReadMonthly reads the monthly freezes (F177 forward, F179 reverse
// active energy) of the month of m.
func (r *Reader) ReadMonthly(ctx context.Context, m time.Time, points []Point) ([]meter.Read, int, error) {
	return r.read(ctx, points, meter.Monthly, m)
}

// ReadCurrent reads the current registers (F129, F131) and instantaneous
// values (F25) of points.
func (r *Reader) ReadCurrent(ctx context.Context, points []Point) ([]meter.Read, int, error) {
	return r.read(ctx, points, meter.Instantaneous, time.Time{})
}

func (r *Reader) read(ctx context.Context, points []Point, class meter.Class, day time.Time) ([]meter.Read, int, error) {
	var out []meter.Read
	reps, n, err := r.fetch(ctx, points, class, day)
	for _, rp := range reps {
		for _, p := range rp.points {
			out = append(out, r.pointReads(rp.reply, p)...)
		}
	}
	return out, n, err
}

// fetched is one request's reply and the points it asked.
type fetched struct {
	reply  *reply
	points []Point
}

// fetch reads points in requests of up to MaxPoints; a request that
// fails ends it, its points in a failed reply.
func (r *Reader) fetch(ctx context.Context, points []Point, class meter.Class, day time.Time) ([]fetched, int, error) {
	var out []fetched
	requests := 0
	for start := 0; start < len(points); start += MaxPoints {
		batch := points[start:min(start+MaxPoints, len(points))]
		pns := make([]uint16, len(batch))
		for i, p := range batch {
			pns[i] = p.Pn
		}
		req, err := r.build(class, day, pns)
		if err != nil {
			return out, requests, err
		}
		requests++
		rp, err := r.exchange(ctx, &req, batch, class, day)
		out = append(out, fetched{rp, batch})
		if err != nil {
			return out, requests, err
		}
	}
	return out, requests, nil
}

func (r *Reader) build(class meter.Class, day time.Time, pns []uint16) (gdw3761.Frame, error) {
	_, fns := request(class)
	switch class {
	case meter.Daily:
		return gdw3761.ReadDaily(gdw3761.Address{}, 0, gdw3761.DateTimeOf(day), pns, fns)
	case meter.Monthly:
		return gdw3761.ReadMonthly(gdw3761.Address{}, 0, gdw3761.DateTimeOf(day), pns, fns)
	}
	return gdw3761.ReadCurrent(gdw3761.Address{}, 0, pns, fns)
}

// exchange sends one read and keeps its reply.
func (r *Reader) exchange(ctx context.Context, req *gdw3761.Frame, batch []Point, class meter.Class, day time.Time) (*reply, error) {
	frames, err := r.Session.Exchange(ctx, req)
	at := r.now()
	ref := meter.FrameRef{Tries: 1}
	ref.Request, _ = req.MarshalBinary()
	if err != nil {
		rp := replyOf(r.Session.ID(), class, day, at, ref, nil)
		rp.err = err
		return rp, err
	}
	for i := range frames {
		b, _ := frames[i].MarshalBinary()
		ref.Reply = append(ref.Reply, b)
	}
	rp := replyOf(r.Session.ID(), class, day, at, ref, batch)
	rp.late = r.late(class, day, at)
	return rp, nil
}

// late reports whether at is CollectBy past the freeze of day (the
// day's end, or the month's).
func (r *Reader) late(class meter.Class, day, at time.Time) bool {
	by := r.CollectBy
	if by <= 0 {
		by = 6 * time.Hour
	}
	d := day.In(r.loc())
	switch class {
	case meter.Daily:
		d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, r.loc())
	case meter.Monthly:
		d = time.Date(d.Year(), d.Month()+1, 1, 0, 0, 0, 0, r.loc())
	default:
		return false
	}
	return !at.Before(d.Add(by))
}

func base(p Point, class meter.Class, at time.Time, ref meter.FrameRef) meter.Read {
	return meter.Read{Meter: p.Meter, Area: p.Area, Channel: p.Channel, Class: class, Edition: dlt645.DLT2007, ReadAt: at, Frame: ref}
}

func num(r *meter.Read, n gdw3761.Num) {
	if n.Missing {
		r.Status = meter.NoData
		return
	}
	r.Status, r.Value = meter.OK, n.Value
}

// energy turns one energy unit into reads named as the 645 block di.
func energy(b meter.Read, di dlt645.DI, e *gdw3761.Energy, loc *time.Location) []meter.Read {
	var out []meter.Read
	b.DI = di
	switch {
	case di>>8 == 0x050601 || di>>8 == 0x050602:
		// the freeze of day D, made at 24:00
		ft := e.Date.Time(loc).AddDate(0, 0, 1)
		b.MeterTime = ft
		if di>>8 == 0x050601 {
			t := b
			t.DI, t.Quantity, t.Status, t.Text = 0x05060001, "daily freeze -1 time", meter.OK, ft.Format("2006-01-02T15:04")
			out = append(out, t)
		}
	case di&0xFF == 0x01:
		b.MeterTime = e.Date.Time(loc) // settlement: the start of the month
	default:
		b.MeterTime = e.ReadTime.Time(loc) // the terminal's reading time
	}
	vals := append([]gdw3761.Num{e.Total}, e.Tariffs...)
	for i, v := range vals {
		r := b
		r.Quantity, r.Unit = names(di, i)
		num(&r, v)
		out = append(out, r)
	}
	return out
}

// instant turns AFN 0C F25 into voltage, current, power and power factor
// reads named as the 645 blocks.
func instant(b meter.Read, v *gdw3761.Instant, loc *time.Location) []meter.Read {
	b.MeterTime = v.ReadTime.Time(loc)
	var out []meter.Read
	add := func(di dlt645.DI, i int, n gdw3761.Num) {
		r := b
		r.DI = di
		r.Quantity, r.Unit = names(di, i)
		num(&r, n)
		out = append(out, r)
	}
	for i, n := range v.U {
		add(0x0201FF00, i, n)
	}
	for i, n := range v.I {
		add(0x0202FF00, i, n)
	}
	add(0x02030000, 0, v.P[0])
	pf := v.PF[0] // 376.1 A.5 is percent; 645 power factor is a ratio
	if !pf.Missing {
		pf.Value.Scale += 2
	}
	add(0x02060000, 0, pf)
	return out
}
