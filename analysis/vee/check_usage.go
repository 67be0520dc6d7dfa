package vee

import (
	"fmt"

	"github.com/headend/headend/protocol/dlt645"
)

// usage is the high/low usage check of daily series: a day's consumption
// above High × or below Low × the meter's own average day (the mean of
// its last Days valid single days, at least MinDays of them, mean at
// least MinAverage) is suspect.
func (v *Validator) usage(s *series, i int, set *Settings, flag func(Quality, Reason)) {
	c := &set.Usage
	p := &s.pts[i]
	loc := v.cfg.Location
	if !c.applies(p.t) || !contains(c.Quantities, s.quantity) || dayNumber(p.t, loc)-dayNumber(v.tm(p.from), loc) != 1 {
		return
	}
	scale := max(p.delta.Scale, c.MinAverage.Scale)
	var sum int64
	n := 0
	for j := i - 1; j >= 0 && n < c.Days; j-- {
		r := &s.pts[j]
		if r.hole || r.from == 0 || r.q != Valid && r.q != Edited || dayNumber(r.t, loc)-dayNumber(v.tm(r.from), loc) != 1 {
			continue
		}
		u, ok := rescale(r.delta, scale)
		if !ok {
			continue
		}
		if sum, ok = addInt(sum, u); !ok {
			return
		}
		n++
	}
	if n < c.MinDays {
		return
	}
	d, ok1 := rescale(p.delta, scale)
	ma, ok2 := rescale(c.MinAverage, scale)
	if !ok1 || !ok2 || mul(sum, 1).cmp(mul(ma, int64(n))) < 0 {
		return
	}
	avg := dlt645.Decimal{Units: sum / int64(n), Scale: scale}
	if scale+2 <= maxScale && sum < 1<<56 && sum > -1<<56 {
		avg = dlt645.Decimal{Units: sum * 100 / int64(n), Scale: scale + 2}
	}
	judge := func(f dlt645.Decimal, sign int, code Code, word string) bool {
		if pow10[f.Scale] > (1<<62)/int64(n) {
			return false
		}
		if mul(d, int64(n)*pow10[f.Scale]).cmp(mul(f.Units, sum))*sign <= 0 {
			return false
		}
		flag(Suspect, Reason{Code: code,
			Message: fmt.Sprintf("%s %s in the day, %s %s × the meter's average day %s %s (over %d days)",
				p.delta, s.unit, word, f, avg, s.unit, n),
			Evidence: []Figure{num("day", p.delta, s.unit), num("average", avg, s.unit), count("days", n), num("factor", f, "")},
		})
		return true
	}
	if !judge(c.High, 1, CodeHighUsage, "more than") {
		judge(c.Low, -1, CodeLowUsage, "less than")
	}
}
