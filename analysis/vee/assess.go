package vee

import (
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

var severities = [...]Quality{Valid, Suspect, Failed}

// assess checks the point at i against its series and meter: its delta,
// quality and reasons. The read's own reasons (status, future,
// plausibility, clock, conflict) come first, then the series' checks.
func (v *Validator) assess(s *series, i int) {
	p := &s.pts[i]
	if p.hole {
		return
	}
	p.since = nanos(p.t)
	prev := s.prevReal(i)
	if prev >= 0 && s.kind == kindRegister && cmpDec(s.pts[prev].v, p.v) == 0 {
		p.since = s.pts[prev].since
	}
	if p.fixed {
		return
	}
	own := p.ownReasons()
	q := severities[p.own]
	rs := own[:len(own):len(own)]
	if s.kind == kindRegister {
		set := v.cfg.settings(p.t)
		flag := func(qq Quality, r Reason) {
			q = worse(q, qq)
			rs = append(rs, r)
		}
		p.delta, p.from = dlt645.Decimal{}, 0
		if prev >= 0 {
			v.register(s, prev, i, set, flag)
		}
		if p.from != 0 {
			switch s.class {
			case meter.Interval:
				v.spike(s, i, set, flag)
				v.zero(s, i, set, flag)
			case meter.Daily:
				v.zero(s, i, set, flag)
				v.usage(s, i, set, flag)
				v.sum(s, i, set, flag)
			}
		}
	}
	p.q, p.reasons = q, rs
}
