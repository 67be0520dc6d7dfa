package anomaly

import (
	"slices"
	"strings"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
)

// Analysis is an Input indexed by meter, area and day. Build it once with
// [New]; its methods do not change it and are safe for concurrent use.
type Analysis struct {
	ix      *archive.Index
	days    []loss.Period // daily periods, by start
	areas   []*areaSeries // in archive order, then others by ID
	byArea  map[string]*areaSeries
	meters  map[string]*meterSeries
	order   []*meterSeries // area meters and customers, by area then archive order
	instant map[string][]loss.Reading
	ratings map[string]Rating
	phases  map[string]int
	// explained: customers whose drop another flag explains, by the
	// first day it does, and their share of the other customers' energy
	// before it
	explained map[string]explainedMeter
	// upset: per area, the days a customer's register jumped or went
	// back, whose balance says nothing of theft
	upset map[string]map[int]bool
	evs   []Event // terminal events (event.go)
}

type explainedMeter struct {
	from  int
	share float64
	ok    bool // a share could be taken
}

type areaSeries struct {
	id        string
	area      *archive.Area // nil when not in the archive
	res       []*loss.Result
	meter     *meterSeries
	customers []*meterSeries
}

type meterSeries struct {
	addr  string
	area  string
	role  archive.Role
	mult  int64
	m     *archive.Meter // nil when not in the archive
	days  []*loss.MeterResult
	phase [3]bool // phases seen with voltage
}

// New indexes an input.
func New(in Input) *Analysis {
	a := &Analysis{ix: in.Archive, byArea: map[string]*areaSeries{}, meters: map[string]*meterSeries{},
		instant: map[string][]loss.Reading{}, ratings: in.Ratings, phases: in.Phases, explained: map[string]explainedMeter{}, evs: in.Events}
	if a.ix == nil {
		a.ix = (&archive.Archive{}).Index()
	}
	for i := range in.Loss {
		p := in.Loss[i].Period
		if p.Kind != loss.Daily {
			continue
		}
		if _, ok := slices.BinarySearchFunc(a.days, p.Start, cmpStart); !ok {
			j, _ := slices.BinarySearchFunc(a.days, p.Start, cmpStart)
			a.days = slices.Insert(a.days, j, p)
		}
	}
	n := len(a.days)
	area := func(id string) *areaSeries {
		s := a.byArea[id]
		if s == nil {
			s = &areaSeries{id: id, res: make([]*loss.Result, n)}
			s.area, _ = a.ix.Area(id)
			a.byArea[id] = s
		}
		return s
	}
	for i := range a.ix.Archive().Areas {
		a.areas = append(a.areas, area(a.ix.Archive().Areas[i].ID))
	}
	var extra []string
	for i := range in.Loss {
		r := &in.Loss[i]
		d, ok := a.day(r.Period.Start)
		if r.Period.Kind != loss.Daily || !ok {
			continue
		}
		if _, known := a.byArea[r.Area]; !known {
			extra = append(extra, r.Area)
		}
		s := area(r.Area)
		s.res[d] = r
		if r.AreaMeter != nil {
			ms := a.meter(r.AreaMeter, r.Area, n)
			ms.days[d] = r.AreaMeter
			s.meter = ms
		}
		for j := range r.Meters {
			ms := a.meter(&r.Meters[j], r.Area, n)
			ms.days[d] = &r.Meters[j]
		}
	}
	slices.Sort(extra)
	for _, id := range slices.Compact(extra) {
		a.areas = append(a.areas, a.byArea[id])
	}
	// customers per area in archive order, then the rest by address
	for _, s := range a.areas {
		seen := map[string]bool{}
		for _, m := range a.ix.Customers(s.id) {
			if ms, ok := a.meters[m.Address]; ok {
				s.customers = append(s.customers, ms)
				seen[m.Address] = true
			}
		}
		var rest []*meterSeries
		for _, ms := range a.meters {
			if ms.area == s.id && ms.role != archive.RoleArea && !seen[ms.addr] {
				rest = append(rest, ms)
			}
		}
		slices.SortFunc(rest, func(x, y *meterSeries) int { return strings.Compare(x.addr, y.addr) })
		s.customers = append(s.customers, rest...)
		if s.meter != nil {
			a.order = append(a.order, s.meter)
		}
		a.order = append(a.order, s.customers...)
	}
	count := map[string]int{}
	for i := range in.Instant {
		count[in.Instant[i].Key.Meter]++
	}
	for i := range in.Instant {
		r := &in.Instant[i]
		if r.Quality == meter.FailedQuality {
			continue
		}
		v := a.instant[r.Key.Meter]
		if v == nil {
			v = make([]loss.Reading, 0, count[r.Key.Meter])
		}
		a.instant[r.Key.Meter] = append(v, *r)
	}
	for k, v := range a.instant {
		slices.SortStableFunc(v, func(x, y loss.Reading) int { return x.Key.Time.Compare(y.Key.Time) })
		a.instant[k] = v
	}
	a.explained = a.explain(in.Explained, nil, DefaultConfig().History)
	return a
}

// explain returns the explained meters of base and of the flags of
// explaining kinds, each from its earliest day, with its share of its
// area's other customers' energy over the h days before.
func (a *Analysis) explain(base map[string]time.Time, flags []Flag, h int) map[string]explainedMeter {
	from := map[string]time.Time{}
	for m, t := range base {
		from[m] = t
	}
	for i := range flags {
		if f := &flags[i]; f.Meter != "" && explains(f.Kind) {
			if t, ok := from[f.Meter]; !ok || f.Start.Before(t) {
				from[f.Meter] = f.Start
			}
		}
	}
	out := make(map[string]explainedMeter, len(from))
	for m, t := range from {
		ms := a.meters[m]
		if ms == nil || len(a.days) == 0 {
			continue
		}
		d, ok := a.dayOf(t)
		if !ok {
			if t.After(a.days[len(a.days)-1].Start) {
				continue
			}
			d = 0
		}
		e := explainedMeter{from: a.dropOnset(ms, d, h)}
		d = e.from
		if s := a.byArea[ms.area]; s != nil {
			var v []float64
			for i := max(0, d-h); i < d; i++ {
				if c, others, ok := s.share(ms, i); ok && others > 0 {
					v = append(v, c/others)
				}
			}
			if len(v) > 0 {
				e.share, e.ok = median(v), true
			} else {
				e.share, e.ok = a.typicalShare(s, ms, d, h)
			}
		}
		out[m] = e
	}
	return out
}

// typicalShare is, for a meter explained before it has history of its
// own (it died, or stopped, in its first days), the median share of the
// customers' energy of the area's meters of its role and multiplier
// (their energy over that of all customers read) over the h days around d, so that its energy is still
// explained; false with
// fewer than typicalMin of them.
func (a *Analysis) typicalShare(s *areaSeries, ms *meterSeries, d, h int) (float64, bool) {
	var per []float64
	for _, o := range s.customers {
		if o == ms || o.role != ms.role || o.mult != ms.mult {
			continue
		}
		var v []float64
		for i := max(0, d-h); i < min(len(a.days), d+h); i++ {
			// of the customers read but it: the energy ms's share is of
			if c, others, ok := s.share(o, i); ok && c+others > 0 {
				v = append(v, c/(c+others))
			}
		}
		if len(v) > 0 {
			per = append(per, median(v))
		}
	}
	if len(per) < typicalMin {
		return 0, false
	}
	return median(per), true
}

// dropOnset is the day a meter explained from day d began to register
// less: the day its share of the other customers' energy most likely
// stepped down, when that is among the h days before d and the step is a
// drop of more than a fifth; else d. A fault is often seen later than it
// began (a phase lost before the instantaneous reads of the window, a
// meter that stopped on a day without current reads), and its energy is
// explained from its start, so that the drop before the flag is not taken
// for theft.
func (a *Analysis) dropOnset(ms *meterSeries, d, h int) int {
	s := a.byArea[ms.area]
	if s == nil || d <= 0 {
		return d
	}
	lo, hi := max(0, d-2*h), min(len(a.days), d+theftMinPost)
	var idx []int
	var q []float64
	for i := lo; i < hi; i++ {
		if c, o, ok := s.share(ms, i); ok && o > 0 {
			idx, q = append(idx, i), append(q, -c/o)
		}
	}
	minPre := min(DefaultConfig().MinHistory, len(q)/2)
	j := stepUp(q, max(minPre, 1), 1)
	if j < 0 || idx[j] >= d || idx[j] < d-h {
		return d
	}
	before, after := -mean(q[:j]), -mean(q[j:])
	if before <= 0 || after > 0.8*before {
		return d
	}
	return idx[j]
}

// upsets returns, per area, the days of the register jumps and
// decreases among flags.
func (a *Analysis) upsets(flags []Flag) map[string]map[int]bool {
	out := map[string]map[int]bool{}
	for i := range flags {
		f := &flags[i]
		if f.Kind != RegisterJump && f.Kind != RegisterBack {
			continue
		}
		for d, ok := a.dayOf(f.Start); ok && !a.days[d].Start.After(f.End); d++ {
			if out[f.Area] == nil {
				out[f.Area] = map[int]bool{}
			}
			out[f.Area][d] = true
			if d+1 >= len(a.days) {
				break
			}
		}
	}
	return out
}

// unregistered is the energy an explained customer failed to register on
// day d: its share of the other customers' energy less what it did
// register; 0 when it is not explained on d.
func (s *areaSeries) unregistered(a *Analysis, ms *meterSeries, d int) float64 {
	e, ok := a.explained[ms.addr]
	if !ok || !e.ok || d < e.from {
		return 0
	}
	r := s.res[d]
	if r == nil {
		return 0
	}
	en, _ := ms.forward(d)
	others := r.CustomerForward.Float64() - en.Float64()
	return max(e.share*others-en.Float64(), 0)
}

func cmpStart(p loss.Period, t time.Time) int { return p.Start.Compare(t) }

func (a *Analysis) meter(mr *loss.MeterResult, area string, n int) *meterSeries {
	ms := a.meters[mr.Meter]
	if ms == nil {
		ms = &meterSeries{addr: mr.Meter, area: area, role: mr.Role, mult: mr.Multiplier, days: make([]*loss.MeterResult, n)}
		ms.m, _ = a.ix.Meter(mr.Meter)
		a.meters[mr.Meter] = ms
	}
	return ms
}

// day returns the index of the day starting at t.
func (a *Analysis) day(t time.Time) (int, bool) {
	return slices.BinarySearchFunc(a.days, t, cmpStart)
}

// dayOf returns the index of the day containing t.
func (a *Analysis) dayOf(t time.Time) (int, bool) {
	i, ok := slices.BinarySearchFunc(a.days, t, cmpStart)
	if ok {
		return i, true
	}
	if i == 0 {
		return 0, false
	}
	return i - 1, t.Before(a.days[i-1].End)
}

// Days returns the starts of the days analysed, in order.
func (a *Analysis) Days() []time.Time {
	out := make([]time.Time, len(a.days))
	for i, p := range a.days {
		out[i] = p.Start
	}
	return out
}

// rating is a meter's rating.
func (a *Analysis) rating(ms *meterSeries, cfg *Config) (Rating, bool) {
	if r, ok := a.ratings[ms.addr]; ok && r.Voltage > 0 && r.MaxCurrent > 0 && r.Phases > 0 {
		return r, true
	}
	if ms.mult > 1 {
		return cfg.CTRating, false
	}
	return cfg.DirectRating, false
}

// forward is a meter's forward energy on day d.
func (ms *meterSeries) forward(d int) (loss.Decimal, bool) {
	mr := ms.days[d]
	if mr == nil || mr.Status == loss.StatusMissing {
		return loss.Decimal{}, false
	}
	return mr.Forward.Energy, true
}

// baseline is the median of a meter's forward energy over the usable days
// of [d−h, d), and false with fewer than minDays of them.
func (ms *meterSeries) baseline(d, h, minDays int) (float64, bool) {
	var v []float64
	for i := max(0, d-h); i < d; i++ {
		if e, ok := ms.forward(i); ok {
			v = append(v, e.Float64())
		}
	}
	if len(v) < minDays {
		return 0, false
	}
	return median(v), true
}

func keysOf(rs ...*loss.Reading) []meter.Key {
	var out []meter.Key
	for _, r := range rs {
		if r != nil {
			out = append(out, r.Key)
		}
	}
	return out
}
