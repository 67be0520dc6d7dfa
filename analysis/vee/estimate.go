package vee

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// Gap is a run of missing values Estimate left alone, and why.
type Gap struct {
	Meter    string
	Class    meter.Class
	Quantity string
	From, To time.Time // the first and the last missing time
	Missing  int
	Why      string
}

// ErrSeries reports a series Estimate cannot work on.
var ErrSeries = errors.New("vee: not an interval or daily register series of one meter and quantity")

// Estimate fills the gaps of a validated register series: the values of
// one meter, class (interval or daily) and quantity, as stored (of each
// Key the highest Version counts), in any order. History is earlier values
// of the same series, for the similar-day profile; the series' own values
// before a gap count as history too.
//
// A gap is the run of missing times (absent, a placeholder or failed read,
// or estimated before)
// between two values, the grid being the 15-minute interval (Gap.Step) or
// the calendar day. It is filled only between a valid or edited value
// before it and, if there is one, a valid or edited value after it:
//   - a gap of at most InterpolateIntervals (InterpolateDays) missing
//     values with both ends known is interpolated linearly;
//   - a longer one, up to ProfileIntervals (ProfileDays), follows the
//     meter's similar-day profile: for each interval the mean of its
//     delta on the SimilarDays most recent days of the same day type
//     (workday, or weekend and holiday) before the gap, at least
//     MinSimilarDays of them; scaled to the register delta when the value
//     after the gap is known, as it is when it is not;
//   - nothing is estimated across a register decrease that is not a
//     rollover, next to a suspect value or a failed one that holds a read
//     (its meter's clock beyond the fail limit), before the first value,
//     or beyond the profile length: those gaps are returned with the
//     reason.
//
// Shares are exact: each interval's share of the delta is rounded down
// to the register's scale and the last interval (the one ending at the
// value after the gap) takes the remainder, so the parts add up to the
// delta exactly. The estimates are returned as the next Version of what
// was at their Key (a placeholder, an earlier estimate), with the anchors'
// reads in Sources; the value after a gap is returned too, as its next
// Version, its delta now starting at the last estimate. An estimate equal
// to the one already there is not returned again.
func Estimate(c Config, series, history []Value) ([]Value, []Gap, error) {
	if len(series) == 0 {
		return nil, nil, nil
	}
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	loc := c.location()
	first := series[0].Key
	for _, set := range [][]Value{series, history} {
		for i := range set {
			k := &set[i].Key
			if k.Meter != first.Meter || k.Class != first.Class || k.Quantity != first.Quantity {
				return nil, nil, fmt.Errorf("%w: %s %s %q and %s %s %q", ErrSeries, first.Meter, first.Class, first.Quantity, k.Meter, k.Class, k.Quantity)
			}
		}
	}
	if (first.Class != meter.Interval && first.Class != meter.Daily) || classify(first.Class, first.Quantity, series[0].Unit) != kindRegister {
		return nil, nil, fmt.Errorf("%w: %s %q %s", ErrSeries, first.Class, first.Quantity, series[0].Unit)
	}
	e := &estimator{cfg: &c, loc: loc, daily: first.Class == meter.Daily, key: first}
	vals := current(series)
	e.samples(current(append(slices.Clone(history), vals...)))
	var out []Value
	var gaps []Gap
	nonMissing := -1
	for j := range vals {
		if missing(&vals[j]) {
			continue
		}
		if nonMissing < 0 {
			if j > 0 {
				gaps = append(gaps, e.refuse(vals[0].Time, vals[j-1].Time, j, "no register value before the gap"))
			}
		} else {
			out, gaps = e.fill(out, gaps, vals, nonMissing, j)
		}
		nonMissing = j
	}
	switch {
	case nonMissing < 0:
		gaps = append(gaps, e.refuse(vals[0].Time, vals[len(vals)-1].Time, len(vals), "no register value before the gap"))
	case nonMissing < len(vals)-1:
		out, gaps = e.fill(out, gaps, vals, nonMissing, -1)
	}
	return out, gaps, nil
}

// missing reports whether a value is to be estimated: an earlier
// estimate, a gap's placeholder or a failed read. A failed value that
// holds a read's value (its meter's clock beyond the fail limit, an
// impossible number) is not missing: nothing is estimated next to it.
func missing(v *Value) bool {
	if v.Text != "" {
		return false
	}
	return v.Quality.Estimated() || v.Quality == Failed && (v.Has(CodeReadFailed) || !fromOwnRead(v))
}

// fromOwnRead reports whether a value came from a read of its own key
// (a gap's placeholder names the reads on either side instead).
func fromOwnRead(v *Value) bool {
	for i := range v.Sources {
		k := &v.Sources[i].Key
		if k.Meter == v.Meter && k.Class == v.Class && k.Quantity == v.Quantity && k.Time.Equal(v.Time) {
			return true
		}
	}
	return false
}

func anchor(v *Value) bool {
	return (v.Quality == Valid || v.Quality == Edited) && v.Text == "" && okScale(v.Value)
}

// current sorts values by time and keeps the highest Version of each time.
func current(vals []Value) []Value {
	out := slices.Clone(vals)
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].Version < out[j].Version
	})
	k := 0
	for i := range out {
		if k > 0 && out[k-1].Time.Equal(out[i].Time) {
			out[k-1] = out[i]
			continue
		}
		out[k] = out[i]
		k++
	}
	return out[:k]
}

// estimator is one Estimate call's state.
type estimator struct {
	cfg   *Config
	loc   *time.Location
	daily bool
	key   Key
	hist  []sample
}

// sample is the delta of one interval (or day) of the history.
type sample struct {
	day   int // day number of the interval's day
	slot  int // the interval of the day
	value dlt645.Decimal
}

func (e *estimator) refuse(from, to time.Time, n int, why string) Gap {
	return Gap{Meter: e.key.Meter, Class: e.key.Class, Quantity: e.key.Quantity, From: from, To: to, Missing: n, Why: why}
}

func (e *estimator) step(t time.Time) time.Duration { return e.cfg.settings(t).Gap.Step }

// slotOf returns the day number and slot of the interval ending at t.
func (e *estimator) slotOf(t time.Time) (int, int) {
	if e.daily {
		return dayNumber(t.In(e.loc).AddDate(0, 0, -1), e.loc), 0
	}
	step := e.step(t)
	s := t.Add(-step).In(e.loc)
	mid := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, e.loc)
	return dayNumber(s, e.loc), int(s.Sub(mid) / step)
}

// next returns the k-th slot after t.
func (e *estimator) next(t time.Time, k int) time.Time {
	if e.daily {
		return t.In(e.loc).AddDate(0, 0, k)
	}
	return t.Add(time.Duration(k) * e.step(t))
}

// slotsBetween counts the slots strictly between a and b.
func (e *estimator) slotsBetween(a, b time.Time) int {
	if !b.After(a) {
		return 0
	}
	if e.daily {
		return max(dayNumber(b, e.loc)-dayNumber(a, e.loc)-1, 0)
	}
	return int((b.Sub(a) - 1) / e.step(a))
}

// samples collects the deltas of consecutive valid or edited values.
func (e *estimator) samples(vals []Value) {
	for j := 1; j < len(vals); j++ {
		a, b := &vals[j-1], &vals[j]
		if !anchor(a) || !anchor(b) || !e.next(a.Time, 1).Equal(b.Time) {
			continue
		}
		d, ok := sub(b.Value, a.Value)
		if b.DeltaFrom.Equal(a.Time) && okScale(b.Delta) {
			d, ok = b.Delta, true
		}
		if !ok || negative(d) {
			continue
		}
		day, slot := e.slotOf(b.Time)
		e.hist = append(e.hist, sample{day: day, slot: slot, value: d})
	}
}

// weekendType reports whether a day number is of the rest-day type.
func (e *estimator) weekendType(day int, r *EstimateRules) bool {
	t := time.Unix(int64(day)*86400, 0).UTC()
	if slices.Contains(r.Weekend, t.Weekday()) {
		return true
	}
	for _, h := range r.Holidays {
		if dayNumber(h, e.loc) == day {
			return true
		}
	}
	return false
}

// fill estimates the gap between vals[a] and vals[b] (b < 0: open end).
func (e *estimator) fill(out []Value, gaps []Gap, vals []Value, a, b int) ([]Value, []Gap) {
	start := &vals[a]
	var end *Value
	var last time.Time
	if b >= 0 {
		end = &vals[b]
		last = end.Time
	} else {
		last = e.next(vals[len(vals)-1].Time, 1) // through the last missing value
	}
	n := e.slotsBetween(start.Time, last)
	if n == 0 {
		return out, gaps
	}
	firstSlot := e.next(start.Time, 1)
	lastSlot := e.next(start.Time, n)
	set := e.cfg.settings(firstSlot)
	r := &set.Estimate
	gap := func(why string, args ...any) []Gap {
		return append(gaps, e.refuse(firstSlot, lastSlot, n, fmt.Sprintf(why, args...)))
	}
	interp, prof := r.InterpolateIntervals, r.ProfileIntervals
	unit := "intervals"
	if e.daily {
		interp, prof, unit = r.InterpolateDays, r.ProfileDays, "days"
	}
	switch {
	case !anchor(start):
		return out, gap("the value before the gap is %s (%s): not a base to estimate from", start.Quality, codes(start))
	case end != nil && !anchor(end):
		if end.Has(CodeDecrease) {
			return out, gap("the register went down after the gap (%s): nothing is estimated across a register decrease", codes(end))
		}
		return out, gap("the value after the gap is %s (%s): not a base to estimate from", end.Quality, codes(end))
	case n > prof:
		return out, gap("%d missing %s, more than the %d the profile may fill", n, unit, prof)
	}
	scale := start.Value.Scale
	var delta, modulus dlt645.Decimal
	wraps := false
	if end != nil {
		scale = max(scale, end.Value.Scale)
		var ok bool
		if end.DeltaFrom.Equal(start.Time) && okScale(end.Delta) {
			delta, ok = end.Delta, true
		} else {
			delta, ok = sub(end.Value, start.Value)
			if ok && negative(delta) {
				c := &set.Register
				if d, _, isRoll := rollover(&RegisterCheck{Max2007: append(slices.Clone(c.Max2007), c.Max1997...), RolloverSpan: c.RolloverSpan}, dlt645.DLT2007, start.Value, end.Value); isRoll {
					delta = d
				}
			}
		}
		if !ok || negative(delta) {
			return out, gap("the register went down across the gap, from %s to %s: nothing is estimated across a register reset or decrease", start.Value, end.Value)
		}
		scale = max(scale, delta.Scale)
		// a delta that passes the end's value wrapped over the maximum
		if top, ok := add(start.Value, delta); ok && cmpDec(top, end.Value) > 0 {
			modulus, _ = sub(top, end.Value)
			wraps = !isZero(modulus)
		}
	}
	du, ok1 := rescale(delta, scale)
	su, ok2 := rescale(start.Value, scale)
	mu, ok3 := rescale(modulus, scale)
	if !ok1 || !ok2 || !ok3 {
		return out, gap("the figures do not fit in exact arithmetic")
	}
	// the intervals of the span: the n missing ones, and with a known end
	// the one ending at it
	spans := n
	if end != nil {
		spans = n + 1
	}
	var parts []int64
	quality, code := EstimatedProfile, CodeProfile
	var how string
	var evidence []Figure
	if end != nil && n <= interp {
		quality, code = EstimatedInterpolation, CodeInterpolation
		parts = share(uint64(du), ones(spans))
		how = fmt.Sprintf("linear interpolation between %s at %s and %s at %s", start.Value, start.Time.Format(time.RFC3339), end.Value, end.Time.Format(time.RFC3339))
	} else {
		w, days, why := e.profile(start.Time, spans, scale, r)
		if why != "" {
			return out, gap("%s", why)
		}
		evidence = append(evidence, text("similar days", strings.Join(days, " ")))
		if end != nil {
			var flat bool
			parts, flat = shareWeights(uint64(du), w.weights)
			how = fmt.Sprintf("the meter's similar-day profile, scaled to the register delta %s from %s to %s", dlt645.Decimal{Units: du, Scale: scale}, start.Value, end.Value)
			if flat {
				how += " (the profile is all zero: shared evenly)"
			}
		} else {
			parts = w.means
			how = fmt.Sprintf("the meter's similar-day profile from %s, not scaled: there is no value after the gap yet", start.Value)
		}
	}
	evidence = append([]Figure{num("start", start.Value, start.Unit), when("start at", start.Time)}, evidence...)
	srcs := slices.Clone(start.Sources)
	if end != nil {
		evidence = append(evidence, num("end", end.Value, end.Unit), when("end at", end.Time), num("delta", dlt645.Decimal{Units: du, Scale: scale}, start.Unit))
		srcs = append(srcs, end.Sources...)
	}
	evidence = append(evidence, count("missing", n))
	reason := Reason{Code: code, Message: "estimated by " + how + "; shares rounded down to the register's scale, the remainder in the last interval", Evidence: evidence}

	held := make(map[time.Time]*Value)
	for i := a + 1; i < len(vals) && (b < 0 || i < b); i++ {
		held[vals[i].Time.UTC()] = &vals[i]
	}
	reg, prev := su, start.Time
	for k := 1; k <= n; k++ {
		t := e.next(start.Time, k)
		reg += parts[k-1]
		if wraps && reg >= mu {
			reg -= mu
		}
		v := Value{Key: Key{Meter: e.key.Meter, Class: e.key.Class, Quantity: e.key.Quantity, Time: t}, Unit: start.Unit,
			Value: dlt645.Decimal{Units: reg, Scale: scale}, Delta: dlt645.Decimal{Units: parts[k-1], Scale: scale}, DeltaFrom: prev,
			Quality: quality, Reasons: []Reason{reason}, Sources: srcs, Version: 1}
		prev = t
		if h := held[t.UTC()]; h != nil {
			if h.Quality == v.Quality && h.Value == v.Value && h.Delta == v.Delta && h.DeltaFrom.Equal(v.DeltaFrom) {
				continue // estimated so already
			}
			v.Version = h.Version + 1
		}
		out = append(out, v)
	}
	if end != nil {
		d := dlt645.Decimal{Units: parts[n], Scale: scale}
		if end.Delta == d && end.DeltaFrom.Equal(prev) {
			return out, gaps
		}
		rv := *end
		rv.Reasons = nil
		for _, x := range end.Reasons {
			if x.Code != CodeGap && x.Code != CodeRevised {
				rv.Reasons = append(rv.Reasons, x)
			}
		}
		rv.Reasons = append(rv.Reasons, Reason{Code: CodeRevised,
			Message:  fmt.Sprintf("the %d missing %s before it were estimated: its delta now starts at the estimate of %s", n, unit, prev.Format(time.RFC3339)),
			Evidence: []Figure{when("from", prev), num("delta", d, end.Unit)}})
		rv.Delta, rv.DeltaFrom, rv.Version = d, prev, end.Version+1
		out = append(out, rv)
	}
	return out, gaps
}

func codes(v *Value) string {
	var b []string
	for _, r := range v.Reasons {
		b = append(b, string(r.Code))
	}
	if len(b) == 0 {
		return "no reason given"
	}
	return strings.Join(b, ", ")
}

func ones(n int) []uint64 {
	w := make([]uint64, n)
	for i := range w {
		w[i] = 1
	}
	return w
}

// share splits total in proportion to the weights: each part rounded
// down, the last part taking the remainder. The weights' sum must be > 0.
func share(total uint64, w []uint64) []int64 {
	var sum uint64
	for _, x := range w {
		sum += x
	}
	parts := make([]int64, len(w))
	var given uint64
	for i := range len(w) - 1 {
		p := mulDiv(total, w[i], sum)
		parts[i] = int64(p)
		given += p
	}
	parts[len(w)-1] = int64(total - given)
	return parts
}

// shareWeights is share, evenly when every weight is zero.
func shareWeights(total uint64, w []uint64) ([]int64, bool) {
	for _, x := range w {
		if x != 0 {
			return share(total, w), false
		}
	}
	return share(total, ones(len(w))), true
}

// profileWeights are a span's intervals in the similar-day profile.
type profileWeights struct {
	weights []uint64 // proportional to the means
	means   []int64  // the means, rounded down to the register's scale
}

// lcm1 returns the least common multiple of 1..n.
func lcm1(n int) uint64 {
	l := uint64(1)
	for i := uint64(2); i <= uint64(n); i++ {
		a, b := l, i
		for b != 0 {
			a, b = b, a%b
		}
		l = l / a * i
	}
	return l
}

// profile returns, for the spans intervals after from, the weights of the
// meter's similar-day profile, the days it used, or why there is none.
func (e *estimator) profile(from time.Time, spans int, scale uint8, r *EstimateRules) (profileWeights, []string, string) {
	gapDay, _ := e.slotOf(e.next(from, 1))
	type key struct {
		slot    int
		weekend bool
	}
	// the history by slot and day type, newest day first
	by := make(map[key][]sample)
	for i := len(e.hist) - 1; i >= 0; i-- {
		s := e.hist[i]
		if s.day >= gapDay {
			continue
		}
		k := key{s.slot, e.weekendType(s.day, r)}
		by[k] = append(by[k], s)
	}
	for k := range by {
		sort.SliceStable(by[k], func(i, j int) bool { return by[k][i].day > by[k][j].day })
	}
	mult := lcm1(r.SimilarDays)
	if mult > 1<<20 {
		mult = 1 << 20
	}
	var w profileWeights
	used := map[int]bool{}
	var total uint64
	for k := 1; k <= spans; k++ {
		t := e.next(from, k)
		day, slot := e.slotOf(t)
		ss := by[key{slot, e.weekendType(day, r)}]
		var sum uint64
		n := 0
		for _, s := range ss {
			if n == r.SimilarDays {
				break
			}
			u, ok := rescale(s.value, scale)
			if !ok || u < 0 || u > 1<<40 {
				continue
			}
			sum += uint64(u)
			used[s.day] = true
			n++
		}
		if n < r.MinSimilarDays {
			return w, nil, fmt.Sprintf("only %d similar days of history for the interval ending %s (need %d)", n, t.Format(time.RFC3339), r.MinSimilarDays)
		}
		if hi, _ := bits.Mul64(sum, mult); hi >= uint64(n) {
			return w, nil, "the profile does not fit in exact arithmetic"
		}
		wt := mulDiv(sum, mult, uint64(n))
		var c uint64
		if total, c = bits.Add64(total, wt, 0); c != 0 || total > math.MaxInt64 {
			return w, nil, "the profile does not fit in exact arithmetic"
		}
		w.weights = append(w.weights, wt)
		w.means = append(w.means, int64(sum/uint64(n)))
	}
	var days []string
	for d := range used {
		days = append(days, time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly))
	}
	slices.Sort(days)
	return w, days, ""
}
