package vee

import (
	"fmt"
	"slices"
	"time"

	"github.com/headend/headend/protocol/dlt645"
)

// spike is the spike check of interval series: an interval whose energy
// is more than Factor × the median of its references (the valid
// single-interval deltas of the Neighbours intervals before it and of the
// same interval on the previous Days days), and at least MinDelta, is
// suspect. An energy exactly Factor × the median is not a spike.
func (v *Validator) spike(s *series, i int, set *Settings, flag func(Quality, Reason)) {
	c := &set.Spike
	p := &s.pts[i]
	step := set.Gap.Step
	if !c.applies(p.t) || p.from != nanos(p.t.Add(-step)) || cmpDec(p.delta, c.MinDelta) < 0 {
		return
	}
	scale := p.delta.Scale
	refs := v.buf[:0]
	ref := func(r *point) {
		if r.hole || !r.q.Usable() || r.from != nanos(r.t.Add(-step)) {
			return
		}
		if u, ok := rescale(r.delta, scale); ok && r.delta.Scale <= scale {
			refs = append(refs, u)
		}
	}
	seen := 0
	for j := i - 1; j >= 0 && seen < c.Neighbours; j-- {
		ref(&s.pts[j])
		seen++
	}
	for d := 1; d <= c.Days; d++ {
		if k, ok := s.find(p.t.Add(-time.Duration(d) * 24 * time.Hour)); ok {
			ref(&s.pts[k])
		}
	}
	v.buf = refs
	n := len(refs)
	if n < c.MinRefs {
		return
	}
	slices.Sort(refs)
	mid, k := refs[n/2], int64(1)
	median := dlt645.Decimal{Units: mid, Scale: scale}
	if n%2 == 0 {
		var ok bool
		if mid, ok = addInt(refs[n/2-1], refs[n/2]); !ok {
			return
		}
		k = 2
		if mid%2 == 0 {
			median = dlt645.Decimal{Units: mid / 2, Scale: scale}
		} else if h, ok := product(dlt645.Decimal{Units: mid, Scale: scale}, dlt645.Decimal{Units: 5, Scale: 1}); ok {
			median = h
		}
	}
	if mul(p.delta.Units, k*pow10[c.Factor.Scale]).cmp(mul(c.Factor.Units, mid)) <= 0 {
		return
	}
	limit, _ := product(c.Factor, median)
	flag(Suspect, Reason{Code: CodeSpike,
		Message: fmt.Sprintf("%s %s in one interval, more than %s × the median %s of %d neighbouring and earlier intervals (%s)",
			p.delta, s.unit, c.Factor, median, n, limit),
		Evidence: []Figure{num("delta", p.delta, s.unit), num("median", median, s.unit), count("references", n),
			num("factor", c.Factor, ""), num("limit", limit, s.unit)},
	})
}
