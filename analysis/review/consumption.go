package review

import (
	"fmt"
	"math/big"
	"time"

	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/archive"
)

// period is [start, end) in whole days.
type period struct{ start, end time.Time }

func (p period) last() time.Time { return p.end.AddDate(0, 0, -1) }

func (p period) String() string {
	if p.end.Sub(p.start) <= 24*time.Hour+time.Hour {
		return day(p.start)
	}
	return day(p.start) + " to " + day(p.last())
}

// days is how many days p holds.
func (p period) days() int {
	n := 0
	for d := p.start; d.Before(p.end); d = d.AddDate(0, 0, 1) {
		n++
	}
	return n
}

// before is the period of the same number of days just before p.
func (p period) before() period { return period{p.start.AddDate(0, 0, -p.days()), p.start} }

// periods splits [from, to] into days, weeks (Monday to Sunday) or
// calendar months, the first and last clipped to the range.
func periods(kind string, from, to time.Time) []period {
	end := to.AddDate(0, 0, 1)
	var out []period
	for a := from; a.Before(end); {
		var b time.Time
		switch kind {
		case PeriodDay:
			b = a.AddDate(0, 0, 1)
		case PeriodWeek:
			b = a.AddDate(0, 0, 1)
			for b.Weekday() != time.Monday {
				b = b.AddDate(0, 0, 1)
			}
		default:
			b = time.Date(a.Year(), a.Month()+1, 1, 0, 0, 0, 0, a.Location())
		}
		if b.After(end) {
			b = end
		}
		out = append(out, period{a, b})
		a = b
	}
	return out
}

// use is a meter's consumption over a period, from its readings at the
// start and the end.
type use struct {
	a, b *vee.Value
	kwh  *big.Rat // primary kWh (register delta × CT × PT)
}

func consumed(s *series, m *archive.Meter, p period) (use, bool) {
	a, ok1 := s.of(p.start)
	b, ok2 := s.of(p.end)
	if !ok1 || !ok2 || b.Value.Cmp(a.Value) < 0 {
		return use{}, false
	}
	return use{a, b, mul(sub(rat(b.Value), rat(a.Value)), ratInt(int64(m.Ratio())))}, true
}

func (x *run) useEvidence(m *archive.Meter, what string, u use) []Evidence {
	return []Evidence{
		{What: what + ": reading at the start (" + string(u.a.Quality) + ")", Meter: m.Address, Time: stamp(u.a.Time, x.loc), Value: u.a.Value.String(), Unit: "kWh"},
		{What: what + ": reading at the end (" + string(u.b.Quality) + ")", Meter: m.Address, Time: stamp(u.b.Time, x.loc), Value: u.b.Value.String(), Unit: "kWh"},
		{What: what + ": consumption × " + fmt.Sprint(m.Ratio()), Meter: m.Address, Value: show(u.kwh, 2), Unit: "kWh"},
	}
}

// consumption lists, per period, the customers with zero consumption,
// the same consumption as the period before, or a sharp change from it.
func (x *run) consumption() {
	r := x.cfg.Consumption
	if r.Off {
		return
	}
	ser := x.usableSeries()
	fixed, sharp, minKWh := rat(r.Fixed), rat(r.SharpPct), rat(r.MinKWh)
	for _, p := range periods(r.Period, x.from, x.to) {
		d := p.last()
		if !r.applies(d) {
			continue
		}
		for i := range x.in.Archive.Archive().Meters {
			m := &x.in.Archive.Archive().Meters[i]
			if m.Role == archive.RoleArea {
				continue
			}
			s := ser[m.Address]
			cur, ok := consumed(s, m, p)
			if !ok {
				continue
			}
			f := Finding{Area: m.Area, Meter: m.Address, Day: day(d), Evidence: x.useEvidence(m, p.String(), cur)}
			if cur.kwh.Sign() == 0 {
				f.Rule, f.Severity = ZeroConsumption, Medium
				f.Summary = fmt.Sprintf("meter %s consumed nothing over %s (its register stayed at %s kWh)", m.Address, p, cur.b.Value)
				x.add(f)
				continue
			}
			if p.days() < r.MinDays {
				continue
			}
			q := p.before()
			prev, ok := consumed(s, m, q)
			if !ok {
				continue
			}
			f.Evidence = append(x.useEvidence(m, q.String(), prev), f.Evidence...)
			diff := sub(cur.kwh, prev.kwh)
			absDiff := new(big.Rat).Abs(diff)
			switch {
			case absDiff.Cmp(fixed) <= 0:
				f.Rule, f.Severity = FixedConsumption, Low
				f.Summary = fmt.Sprintf("meter %s consumed %s kWh over %s, the same as over %s (%s kWh): a fixed consumption, as an estimate repeats",
					m.Address, show(cur.kwh, 2), p, q, show(prev.kwh, 2))
			case cur.kwh.Cmp(minKWh) < 0 && prev.kwh.Cmp(minKWh) < 0:
				continue
			case prev.kwh.Sign() == 0:
				f.Rule, f.Severity = SharpChange, Medium
				f.Summary = fmt.Sprintf("meter %s consumed %s kWh over %s after nothing over %s", m.Address, show(cur.kwh, 2), p, q)
			default:
				change := pct(diff, prev.kwh)
				if new(big.Rat).Abs(change).Cmp(sharp) < 0 {
					continue
				}
				f.Rule, f.Severity = SharpChange, Medium
				f.Summary = fmt.Sprintf("meter %s consumed %s kWh over %s against %s kWh over %s: %s %%, beyond ±%s %%",
					m.Address, show(cur.kwh, 2), p, show(prev.kwh, 2), q, signed(change), r.SharpPct)
				f.Evidence = append(f.Evidence, Evidence{What: "change", Meter: m.Address, Value: signed(change), Unit: "%"})
			}
			x.add(f)
		}
	}
}

// signed shows r with 1 decimal and its sign.
func signed(r *big.Rat) string {
	s := show(r, 1)
	if r.Sign() > 0 {
		s = "+" + s
	}
	return s
}
