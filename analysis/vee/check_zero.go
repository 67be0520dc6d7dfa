package vee

import (
	"fmt"
	"time"

	"github.com/headend/headend/protocol/dlt645"
)

// currentMemory is how many recent currents a meter's state keeps.
const currentMemory = 16

// currentObs is a current the meter measured.
type currentObs struct {
	t time.Time
	i dlt645.Decimal // |I|
}

// observeCurrent remembers a current at or above the zero check's minimum.
func (m *meterState) observeCurrent(t time.Time, x dlt645.Decimal, set *Settings) {
	a, ok := absDec(x)
	if !ok || cmpDec(a, set.Zero.MinCurrent) < 0 {
		return
	}
	m.cur[m.ncur%currentMemory] = currentObs{t, a}
	m.ncur++
}

// currentIn returns the latest remembered current in (a, b] that is at
// least the given one.
func (m *meterState) currentIn(a, b time.Time, least dlt645.Decimal) (currentObs, bool) {
	var best currentObs
	found := false
	for k := range min(m.ncur, currentMemory) {
		o := m.cur[k]
		if o.t.After(a) && !o.t.After(b) && cmpDec(o.i, least) >= 0 && (!found || o.t.After(best.t)) {
			best, found = o, true
		}
	}
	return best, found
}

// zero is the zero-consumption check: a register of the check's
// Quantities that has not advanced for at least Span, while the meter
// measured at least MinCurrent within that span, is suspect (a stopped
// meter, a bypass), unless the Export register advanced meanwhile.
func (v *Validator) zero(s *series, i int, set *Settings, flag func(Quality, Reason)) {
	c := &set.Zero
	p := &s.pts[i]
	if !c.applies(p.t) || !isZero(p.delta) || !contains(c.Quantities, s.quantity) {
		return
	}
	since := v.tm(p.since)
	span := p.t.Sub(since)
	if span < c.Span {
		return
	}
	o, ok := s.m.currentIn(since, p.t, c.MinCurrent)
	if !ok {
		return
	}
	if c.Export != "" && c.Export != s.quantity {
		if e := s.m.lookup(s.class, c.Export); e != nil {
			a, ok1 := e.valueAt(since)
			b, ok2 := e.valueAt(p.t)
			if ok1 && ok2 && cmpDec(a, b) != 0 {
				return // exporting
			}
		}
	}
	flag(Suspect, Reason{Code: CodeZeroWithCurrent,
		Message: fmt.Sprintf("the register has stayed at %s %s for %s (since %s) while the meter measured %s A at %s",
			p.v, s.unit, span, since.Format(time.RFC3339), o.i, o.t.Format(time.RFC3339)),
		Evidence: []Figure{num("register", p.v, s.unit), when("since", since), dur("span", span),
			num("current", o.i, "A"), when("current at", o.t), num("min current", c.MinCurrent, "A")},
	})
}
