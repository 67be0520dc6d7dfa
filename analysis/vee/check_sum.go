package vee

import (
	"fmt"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// sum is the sum check of a daily value: the energies of the intervals of
// its span (from the freeze before it to it) must add up to its delta
// within Abs + Pct % of the delta. It runs when the interval series of
// the same register holds every interval of the span; the validator runs
// it again when the last of them arrives.
func (v *Validator) sum(s *series, i int, set *Settings, flag func(Quality, Reason)) {
	c := &set.Sum
	p := &s.pts[i]
	if !c.applies(p.t) {
		return
	}
	is := s.m.lookup(meter.Interval, s.quantity)
	if is == nil {
		return
	}
	from := v.tm(p.from)
	a, okA := is.find(from)
	b, okB := is.find(p.t)
	step := set.Gap.Step
	if !okA || !okB || b <= a || is.pts[a].hole || time.Duration(b-a)*step != p.t.Sub(from) {
		return
	}
	var total dlt645.Decimal
	for k := a + 1; k <= b; k++ {
		r := &is.pts[k]
		if r.hole || r.from != nanos(is.pts[k-1].t) {
			return
		}
		var ok bool
		if total, ok = add(total, r.delta); !ok {
			return
		}
	}
	diff, ok1 := sub(total, p.delta)
	diff, ok2 := absDec(diff)
	scale := max(diff.Scale, c.Abs.Scale, p.delta.Scale)
	du, ok3 := rescale(diff, scale)
	au, ok4 := rescale(c.Abs, scale)
	dd, ok5 := rescale(p.delta, scale)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || c.Pct.Scale > 16 {
		return
	}
	k := 100 * pow10[c.Pct.Scale]
	if mul(du, k).cmp(mul(au, k).add(mul(c.Pct.Units, dd))) <= 0 {
		return
	}
	flag(Suspect, Reason{Code: CodeSumCheck,
		Message: fmt.Sprintf("the %d intervals add up to %s %s, the register delta is %s %s: %s apart, more than %s %s + %s %%",
			b-a, total, s.unit, p.delta, s.unit, diff, c.Abs, s.unit, c.Pct),
		Evidence: []Figure{num("intervals", total, s.unit), num("delta", p.delta, s.unit), num("difference", diff, s.unit),
			count("interval count", b-a), num("abs", c.Abs, s.unit), num("pct", c.Pct, "%")},
	})
}
