package vee

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// Validator validates reads into Values, keeping per meter what the
// checks need: the recent values of each series (meter, class,
// quantity), the last clock error and the recent currents.
//
// Order. Reads of different meters and series may come interleaved in
// any order. Within a series they are expected in time order; a late read
// (for a time before the series' newest) is handled as long as it falls
// within the series' window (Config.IntervalWindow, DailyWindow, Recent):
//   - if it fills a gap, it replaces the gap's failed placeholder as the
//     placeholder's next Version;
//   - it is checked against the values before and after it, and the value
//     after it is checked again and, if its delta or verdict changed,
//     emitted again as its next Version;
//   - if it completes a day of intervals, the day's sum check runs again
//     and the daily value is revised if the verdict changed;
//   - if it is for the time of an estimate (see Accept), it replaces the
//     estimate as its next Version; the estimates next to it stay as they
//     are until Estimate runs again.
//
// A read older than the window is emitted suspect (CodeLate): it cannot
// be checked against its neighbours, nor told from a duplicate. Checks
// across series use what the Validator has seen when a value arrives: the
// zero-consumption check the currents read before it (those of the same
// load-profile record come before its energies), clock propagation the
// last clock error read; only the sum check is repeated when its other
// side arrives.
//
// Every read yields at least one Value, except exact duplicates and
// failed re-reads of a value already held, which are counted in Stats.
//
// A Validator is safe for concurrent use; its methods are serialised. To
// use more cores, give each a share of the meters.
type Validator struct {
	mu     sync.Mutex
	cfg    Config
	meters map[string]*meterState
	stats  Stats
	buf    []int64
}

// Stats counts what a Validator did.
type Stats struct {
	Reads         int64 // reads given to Validate
	Values        int64 // values returned, revisions and placeholders included
	Duplicates    int64 // reads dropped: the same value for a key already held
	FailedRereads int64 // reads dropped: a failed read of a key that holds a value
	Placeholders  int64 // failed values made for missing intervals and days
	Revisions     int64 // values emitted again because a neighbour changed
	Conflicts     int64 // reads with a different value for a key already held
	Late          int64 // reads older than their series' window
}

// NewValidator returns a Validator for the configuration.
func NewValidator(c Config) (*Validator, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.Location = c.location()
	c.Versions = slices.Clone(c.Versions)
	return &Validator{cfg: c, meters: make(map[string]*meterState)}, nil
}

// Stats returns the counts so far.
func (v *Validator) Stats() Stats {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.stats
}

// Forget drops what the Validator knows about a meter, for a meter
// exchanged or removed: the next register read starts a new series
// instead of being a decrease.
func (v *Validator) Forget(meter string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.meters, meter)
}

// Validate validates reads and appends the resulting Values to dst.
func (v *Validator) Validate(dst []Value, rs ...meter.Read) []Value {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := len(dst)
	for i := range rs {
		dst = v.one(dst, &rs[i])
	}
	v.stats.Values += int64(len(dst) - n)
	return dst
}

// Accept tells the Validator about values the caller has stored that it
// did not make itself: estimates (from Estimate), edits (from Edit), or,
// after a restart, the recent values of each series, oldest first. They
// are taken as they are, not checked; later reads are checked against
// them and numbered after them; values older than their series' window,
// or older Versions than the one held, are ignored. The values after them
// whose delta or verdict changes are appended to dst as revisions, and so
// is an edited value without a delta (a gap filled by hand), with its
// delta from the value before it.
func (v *Validator) Accept(dst []Value, vals ...Value) []Value {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := len(dst)
	for i := range vals {
		dst = v.accept(dst, &vals[i])
	}
	v.stats.Values += int64(len(dst) - n)
	return dst
}

// meterState is what the Validator keeps about one meter.
type meterState struct {
	id     string
	series map[seriesKey]*series
	clock  clockState
	cur    [currentMemory]currentObs // ring of recent currents at or above the zero check's minimum
	ncur   int
}

type seriesKey struct {
	class    meter.Class
	quantity string
}

// series is one meter's values of one class and quantity, in time order.
type series struct {
	m        *meterState
	class    meter.Class
	quantity string
	unit     string
	kind     kind
	edition  dlt645.Edition
	pts      []point
}

// timed reports whether the series has a grid of times (intervals, days):
// gaps are found in it, and it keeps a window of time.
func (s *series) timed() bool {
	return s.kind == kindRegister && (s.class == meter.Interval || s.class == meter.Daily)
}

// point is one value of a series.
type point struct {
	t            time.Time
	readAt, from int64 // unix ns, 0 = none: when the read arrived; the time of the value the delta is from
	since        int64 // unix ns: since when a register has held this value
	v, delta     dlt645.Decimal
	text         string
	q            Quality
	reasons      []Reason
	x            *extra
	ver          int32
	own          uint8 // severity of the read's own checks
	hole         bool  // no value: a failed read or a gap's placeholder
	fixed        bool  // accepted, not checked
}

// extra is what few points have.
type extra struct {
	own     []Reason // reasons of the read's own checks (future, plausibility, clock, conflict, status)
	alt     dlt645.Decimal
	altText string
	hasAlt  bool
	srcs    []Ref // when not just the point's own read
}

func (p *point) ownReasons() []Reason {
	if p.x == nil {
		return nil
	}
	return p.x.own
}

func (p *point) ext() *extra {
	if p.x == nil {
		p.x = &extra{}
	}
	return p.x
}

func (v *Validator) meter(id string) *meterState {
	m := v.meters[id]
	if m == nil {
		m = &meterState{id: id, series: make(map[seriesKey]*series)}
		v.meters[id] = m
	}
	return m
}

func (m *meterState) get(class meter.Class, quantity, unit string, ed dlt645.Edition) *series {
	k := seriesKey{class, quantity}
	s := m.series[k]
	if s == nil {
		s = &series{m: m, class: class, quantity: quantity, unit: unit, kind: classify(class, quantity, unit), edition: ed}
		m.series[k] = s
	}
	return s
}

func (m *meterState) lookup(class meter.Class, quantity string) *series {
	return m.series[seriesKey{class, quantity}]
}

// find returns the index of the point at t, or where it would go.
func (s *series) find(t time.Time) (int, bool) {
	i := sort.Search(len(s.pts), func(i int) bool { return !s.pts[i].t.Before(t) })
	return i, i < len(s.pts) && s.pts[i].t.Equal(t)
}

// prevReal returns the index of the last point before i with a value.
func (s *series) prevReal(i int) int {
	for j := i - 1; j >= 0; j-- {
		if !s.pts[j].hole {
			return j
		}
	}
	return -1
}

// nextReal returns the index of the first point after i with a value.
func (s *series) nextReal(i int) int {
	for j := i + 1; j < len(s.pts); j++ {
		if !s.pts[j].hole {
			return j
		}
	}
	return -1
}

// valueAt returns the register's value at or just before t.
func (s *series) valueAt(t time.Time) (dlt645.Decimal, bool) {
	i, found := s.find(t)
	if found {
		i++
	}
	if j := s.prevReal(i); j >= 0 {
		return s.pts[j].v, true
	}
	return dlt645.Decimal{}, false
}

// late reports whether t is before the series' window.
func (s *series) late(t time.Time, c *Config) bool {
	n := len(s.pts)
	if n == 0 {
		return false
	}
	switch {
	case s.timed() && s.class == meter.Interval:
		return t.Before(s.pts[n-1].t.Add(-c.IntervalWindow))
	case s.timed():
		return t.Before(s.pts[n-1].t.Add(-c.DailyWindow))
	}
	return n >= c.Recent && t.Before(s.pts[n-c.Recent].t)
}

// trim forgets the points before the window when the series' array is
// full, so that it does not grow beyond what the window needs.
func (s *series) trim(c *Config) {
	n := len(s.pts)
	if n == 0 || n < cap(s.pts) {
		return
	}
	k := 0
	switch {
	case s.timed():
		w := c.DailyWindow
		if s.class == meter.Interval {
			w = c.IntervalWindow
		}
		edge := s.pts[n-1].t.Add(-w)
		k = sort.Search(n, func(i int) bool { return !s.pts[i].t.Before(edge) })
	default:
		k = n - c.Recent + 1 // room for the next
	}
	if k > 0 {
		clear(s.pts[copy(s.pts, s.pts[k:]):])
		s.pts = s.pts[:n-k]
	}
}

// nanos is t in unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// tm is the time of unix nanoseconds n, the zero time for 0.
func (v *Validator) tm(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).In(v.cfg.Location)
}

// ref is the raw read of a point.
func (v *Validator) ref(s *series, p *point) Ref {
	return Ref{Key: Key{Meter: s.m.id, Class: s.class, Quantity: s.quantity, Time: p.t}, ReadAt: v.tm(p.readAt)}
}

// value makes the Value of a point.
func (v *Validator) value(s *series, p *point) Value {
	val := Value{
		Key:  Key{Meter: s.m.id, Class: s.class, Quantity: s.quantity, Time: p.t},
		Unit: s.unit, Value: p.v, Text: p.text, Delta: p.delta, DeltaFrom: v.tm(p.from),
		Quality: p.q, Reasons: slices.Clone(p.reasons), Version: int(p.ver),
	}
	if p.x != nil && p.x.srcs != nil {
		val.Sources = slices.Clone(p.x.srcs)
	} else {
		val.Sources = []Ref{{Key: val.Key, ReadAt: v.tm(p.readAt)}}
	}
	return val
}

// timeOf is a read's time: the meter's stamp, except for clock reads,
// whose stamp is the meter's clock itself.
func timeOf(r *meter.Read) time.Time {
	if r.Class != meter.Clock && !r.MeterTime.IsZero() {
		return r.MeterTime
	}
	return r.ReadAt
}

// one validates a read.
func (v *Validator) one(dst []Value, r *meter.Read) []Value {
	v.stats.Reads++
	m := v.meter(r.Meter)
	s := m.get(r.Class, normQuantity(r.Quantity), r.Unit, r.Edition)
	s.edition = r.Edition
	p := point{t: timeOf(r), readAt: nanos(r.ReadAt), v: r.Value, text: r.Text, ver: 1}
	set := v.cfg.settings(p.t)
	var own []Reason
	sev := Valid
	flag := func(q Quality, rs Reason) {
		sev = worse(sev, q)
		own = append(own, rs)
	}
	stored := true // the value enters its series
	switch {
	case r.Status != meter.OK:
		p.hole, p.v, p.text = true, dlt645.Decimal{}, ""
		flag(Failed, failedReason(r))
		stored = s.timed() && !r.MeterTime.IsZero()
	case !okScale(r.Value):
		flag(Failed, implausibleScale(r.Value))
		stored = false
	default:
		if rs, ok := v.future(r, set); ok {
			flag(Suspect, rs)
			stored = false
		}
		if r.Text == "" {
			if q, rs, ok := v.plausible(s, &p, set); ok {
				flag(q, rs)
			} else if s.kind == kindCurrent {
				m.observeCurrent(p.t, p.v, set)
			}
			if s.kind == kindClockError {
				if q, rs, ok := v.clockRead(m, s, &p, set); ok {
					flag(q, rs)
				}
			}
		}
		if q, rs, ok := v.clockStamp(m, r, set); ok {
			flag(q, rs)
		}
	}
	p.own = uint8(severity(sev))
	if own != nil {
		p.ext().own = own[:len(own):len(own)]
	}
	p.q, p.reasons = sev, p.ownReasons()
	if !stored {
		return append(dst, v.value(s, &p))
	}
	return v.place(dst, s, p)
}

// place puts a read's point into its series and emits what changed.
func (v *Validator) place(dst []Value, s *series, p point) []Value {
	i, found := s.find(p.t)
	if found {
		e := &s.pts[i]
		switch {
		case p.hole && e.hole:
			v.stats.Duplicates++ // failed again: nothing new
			return dst
		case p.hole:
			v.stats.FailedRereads++
			return dst
		case e.hole || e.fixed && e.q.Estimated():
			// a value for a gap, or for an estimate: the read takes its place
			p.ver = e.ver + 1
			s.pts[i] = p
			return v.settle(dst, s, i)
		case samePoint(e, &p):
			v.stats.Duplicates++
			return dst
		}
		return v.conflict(dst, s, i, p)
	}
	if s.late(p.t, &v.cfg) {
		v.stats.Late++
		p.q = worse(p.q, Suspect)
		p.reasons = append(p.reasons[:len(p.reasons):len(p.reasons)], lateReason(s, &v.cfg))
		return append(dst, v.value(s, &p))
	}
	if i == len(s.pts) && i > 0 && s.timed() {
		dst = v.placeholders(dst, s, p)
		i = len(s.pts)
	}
	if i == len(s.pts) {
		s.trim(&v.cfg)
		i = len(s.pts)
	}
	s.pts = slices.Insert(s.pts, i, p)
	return v.settle(dst, s, i)
}

// settle checks the point at i, emits it, and revises what depends on it.
func (v *Validator) settle(dst []Value, s *series, i int) []Value {
	v.assess(s, i)
	dst = append(dst, v.value(s, &s.pts[i]))
	return v.after(dst, s, i)
}

// after revises the values that depend on the point at i: the next value
// of its series, and the daily value whose sum check it completes.
func (v *Validator) after(dst []Value, s *series, i int) []Value {
	last := i == len(s.pts)-1
	if j := s.nextReal(i); j >= 0 {
		dst = v.revise(dst, s, j)
	}
	if s.class == meter.Interval && s.kind == kindRegister {
		if d := s.m.lookup(meter.Daily, s.quantity); d != nil {
			t := s.pts[i].t
			k, found := d.find(t)
			if k < len(d.pts) && (found || !last) {
				dst = v.revise(dst, d, k)
			}
		}
	}
	return dst
}

// revise checks the point at i again and emits it as its next Version if
// its delta or verdict changed.
func (v *Validator) revise(dst []Value, s *series, i int) []Value {
	p := &s.pts[i]
	if p.hole || p.fixed {
		return dst
	}
	q, rs, d, from := p.q, p.reasons, p.delta, p.from
	v.assess(s, i)
	if p.q == q && d == p.delta && from == p.from && sameReasons(rs, p.reasons) {
		return dst
	}
	p.ver++
	v.stats.Revisions++
	return append(dst, v.value(s, p))
}

func samePoint(e, p *point) bool {
	if e.text == p.text && e.v == p.v {
		return true
	}
	return e.x != nil && e.x.hasAlt && e.x.altText == p.text && e.x.alt == p.v
}

// accept puts a caller's value into its series.
func (v *Validator) accept(dst []Value, val *Value) []Value {
	m := v.meter(val.Meter)
	s := m.get(val.Class, val.Quantity, val.Unit, dlt645.DLT2007)
	p := point{t: val.Time, v: val.Value, text: val.Text, delta: val.Delta, from: nanos(val.DeltaFrom), q: val.Quality,
		reasons: slices.Clone(val.Reasons), ver: int32(val.Version), fixed: true, hole: val.Quality == Failed}
	if len(val.Sources) > 0 {
		p.readAt = nanos(val.Sources[0].ReadAt)
		p.ext().srcs = slices.Clone(val.Sources)
	}
	i, found := s.find(p.t)
	switch {
	case found && s.pts[i].ver > p.ver:
		return dst // older than what is held
	case found:
		s.pts[i] = p
	case s.late(p.t, &v.cfg):
		return dst
	default:
		s.pts = slices.Insert(s.pts, i, p)
	}
	v.assess(s, i)
	if q := &s.pts[i]; q.q == Edited && q.from == 0 && !q.hole && s.kind == kindRegister {
		// an edited gap: its delta from the value before it
		if j := s.prevReal(i); j >= 0 {
			v.register(s, j, i, v.cfg.settings(q.t), func(Quality, Reason) {})
			if q.from != 0 {
				q.ver++
				v.stats.Revisions++
				dst = append(dst, v.value(s, q))
			}
		}
	}
	dst = v.after(dst, s, i)
	s.trim(&v.cfg)
	return dst
}
