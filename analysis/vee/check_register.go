package vee

import (
	"fmt"
	"time"

	"github.com/headend/headend/protocol/dlt645"
)

// The register check. An energy register only goes up. A value below the
// one before it has rolled over if the consumption across the maximum
// (max − before + one unit + after) is at most RolloverSpan for one of the
// edition's maxima: its delta is that consumption, and the value stays
// valid with CodeRollover. Any other decrease (a reset, a meter exchange,
// a false read) is suspect, and the value has no delta.

// maxima returns the register maxima of an edition.
func (c *RegisterCheck) maxima(ed dlt645.Edition) []dlt645.Decimal {
	if ed == dlt645.DLT1997 {
		return c.Max1997
	}
	return c.Max2007
}

// rollover returns the consumption from before to after across a
// rollover, the maximum rolled over, and whether it is one.
func rollover(c *RegisterCheck, ed dlt645.Edition, before, after dlt645.Decimal) (dlt645.Decimal, dlt645.Decimal, bool) {
	var best, bestMax dlt645.Decimal
	found := false
	for _, m := range c.maxima(ed) {
		if cmpDec(before, m) > 0 || cmpDec(after, before) >= 0 || negative(after) {
			continue
		}
		head, ok1 := sub(m, before) // to the maximum
		d, ok2 := add(head, dlt645.Decimal{Units: 1, Scale: m.Scale})
		d, ok3 := add(d, after)
		if !ok1 || !ok2 || !ok3 || cmpDec(d, c.RolloverSpan) > 0 {
			continue
		}
		if !found || cmpDec(d, best) < 0 {
			best, bestMax, found = d, m, true
		}
	}
	return best, bestMax, found
}

// register computes the delta of point i from point j before it and adds
// the gap, rollover and decrease reasons.
func (v *Validator) register(s *series, j, i int, set *Settings, flag func(Quality, Reason)) {
	p, pp := &s.pts[i], &s.pts[j]
	if s.timed() && set.Gap.applies(p.t) {
		if n := v.missing(s, pp.t, p.t, set); n > 0 {
			flag(Valid, v.gapReason(s, pp.t, p.t, n))
		}
	}
	d, ok := sub(p.v, pp.v)
	if !ok {
		return
	}
	if !negative(d) {
		p.delta, p.from = d, nanos(pp.t)
		return
	}
	c := &set.Register
	if !c.applies(p.t) {
		return
	}
	if r, m, ok := rollover(c, s.edition, pp.v, p.v); ok {
		p.delta, p.from = r, nanos(pp.t)
		flag(Valid, Reason{Code: CodeRollover,
			Message: fmt.Sprintf("the register rolled over its maximum %s: from %s to %s is %s %s",
				m, pp.v, p.v, r, s.unit),
			Evidence: []Figure{num("before", pp.v, s.unit), when("before at", pp.t), num("after", p.v, s.unit), num("max", m, s.unit), num("delta", r, s.unit)},
		})
		return
	}
	down, _ := sub(pp.v, p.v)
	flag(Suspect, Reason{Code: CodeDecrease,
		Message: fmt.Sprintf("the register went down by %s %s, from %s (at %s) to %s: not a rollover (that would be more than %s %s)",
			down, s.unit, pp.v, pp.t.Format(time.RFC3339), p.v, c.RolloverSpan, s.unit),
		Evidence: []Figure{num("before", pp.v, s.unit), when("before at", pp.t), num("after", p.v, s.unit), num("decrease", down, s.unit), num("rollover span", c.RolloverSpan, s.unit)},
	})
}
