package vee

import (
	"fmt"
	"time"

	"github.com/headend/headend/meter"
)

// The gap check, on interval and daily register series. When a value
// arrives after missing intervals (or days), each missing one becomes a
// failed placeholder value, for the estimation to fill and a late read to
// replace, and the value after the gap carries CodeGap with the count.

// missing counts the slots strictly between a and b: 15-minute intervals,
// or calendar days in the configured zone.
func (v *Validator) missing(s *series, a, b time.Time, set *Settings) int {
	if !b.After(a) {
		return 0
	}
	if s.class == meter.Daily {
		return max(dayNumber(b, v.cfg.Location)-dayNumber(a, v.cfg.Location)-1, 0)
	}
	step := set.Gap.Step
	d := b.Sub(a)
	return int((d - 1) / step)
}

// slot returns the k-th slot after a.
func (v *Validator) slot(s *series, a time.Time, k int, set *Settings) time.Time {
	if s.class == meter.Daily {
		return a.In(v.cfg.Location).AddDate(0, 0, k)
	}
	return a.Add(time.Duration(k) * set.Gap.Step)
}

// dayNumber is the number of t's calendar day in loc.
func dayNumber(t time.Time, loc *time.Location) int {
	y, m, d := t.In(loc).Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

func (v *Validator) unitName(s *series, n int) string {
	w := "interval"
	if s.class == meter.Daily {
		w = "day"
	}
	if n != 1 {
		w += "s"
	}
	return w
}

// placeholders adds the failed values of the gap between the series'
// last point and p.
func (v *Validator) placeholders(dst []Value, s *series, p point) []Value {
	set := v.cfg.settings(p.t)
	if !set.Gap.applies(p.t) {
		return dst
	}
	last := &s.pts[len(s.pts)-1]
	n := v.missing(s, last.t, p.t, set)
	if n == 0 || n > set.Gap.MaxPlaceholders {
		return dst
	}
	srcs := []Ref{v.ref(s, &p)}
	before := last.t
	if j := s.prevReal(len(s.pts)); j >= 0 {
		before = s.pts[j].t
		srcs = []Ref{v.ref(s, &s.pts[j]), v.ref(s, &p)}
	}
	x := &extra{own: []Reason{{Code: CodeGap,
		Message:  fmt.Sprintf("no value: missing between the values of %s and %s", before.Format(time.RFC3339), p.t.Format(time.RFC3339)),
		Evidence: []Figure{when("before", before), when("after", p.t), count("missing", n)},
	}}, srcs: srcs}
	for k := 1; k <= n; k++ {
		t := v.slot(s, last.t, k, set)
		if !t.Before(p.t) {
			break
		}
		h := point{t: t, q: Failed, hole: true, own: uint8(severity(Failed)), ver: 1, x: x}
		h.reasons = x.own
		s.pts = append(s.pts, h)
		dst = append(dst, v.value(s, &s.pts[len(s.pts)-1]))
		v.stats.Placeholders++
	}
	return dst
}

// gapReason explains a value whose delta spans missing slots.
func (v *Validator) gapReason(s *series, from, t time.Time, n int) Reason {
	return Reason{Code: CodeGap,
		Message:  fmt.Sprintf("%d %s missing since the value of %s: the delta spans them", n, v.unitName(s, n), from.Format(time.RFC3339)),
		Evidence: []Figure{count("missing", n), when("since", from)},
	}
}
