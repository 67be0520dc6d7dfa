package vee

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/meter"
)

// Two intervals missing between 100.00 at 10:00 and 101.00 at 10:45: the
// 1.00 kWh is shared over three intervals, 0.33 each rounded down, the
// last (ending at 10:45) taking the remainder: 0.33, 0.33, 0.34.
func TestEstimateInterpolation(t *testing.T) {
	c := DefaultConfig()
	v := newV(t, c)
	series := v.Validate(nil, reg(meter.Interval, hm(0, "10:00"), "100.00"), reg(meter.Interval, hm(0, "10:45"), "101.00"))
	est, gaps, err := Estimate(c, series, nil)
	if err != nil || len(gaps) != 0 || len(est) != 3 {
		t.Fatalf("%v %+v %s", err, gaps, dump(est))
	}
	for i, w := range []struct{ tm, value, delta string }{{"10:15", "100.33", "0.33"}, {"10:30", "100.66", "0.33"}} {
		e := est[i]
		wantQ(t, e, EstimatedInterpolation, CodeInterpolation)
		if !e.Time.Equal(hm(0, w.tm)) || e.Value != d(w.value) || e.Delta != d(w.delta) || e.Version != 2 {
			t.Errorf("%s: %s", w.tm, dump([]Value{e}))
		}
		if len(e.Sources) != 2 || !e.Sources[0].Time.Equal(hm(0, "10:00")) || !e.Sources[1].Time.Equal(hm(0, "10:45")) {
			t.Errorf("sources %+v", e.Sources)
		}
	}
	end := est[2]
	if !end.Time.Equal(hm(0, "10:45")) || end.Quality != Valid || end.Delta != d("0.34") || !end.DeltaFrom.Equal(hm(0, "10:30")) ||
		end.Version != 2 || end.Has(CodeGap) || !end.Has(CodeRevised) {
		t.Errorf("end: %s %s", dump([]Value{end}), reasonsText(end))
	}
	// again on what is stored now: nothing new
	if again, _, _ := Estimate(c, append(series, est...), nil); len(again) != 0 {
		t.Errorf("again: %s", dump(again))
	}
	// stored and told to the validator: the real record, read late, takes the estimate's place
	v.Accept(nil, est...)
	out := v.Validate(nil, reg(meter.Interval, hm(0, "10:15"), "100.40"))
	got := valueAt(t, out, fwd, hm(0, "10:15"))
	if got.Version != 3 || got.Quality != Valid || got.Delta != d("0.40") {
		t.Errorf("%s", dump(out))
	}
	// estimates are not revised by the validator: estimating again redoes them
	stored := append(append(series, est...), out...)
	est, _, _ = Estimate(c, stored, nil)
	if len(est) != 2 || est[0].Value != d("100.70") || est[0].Version != 3 || est[1].Delta != d("0.30") || est[1].Version != 3 {
		t.Errorf("again: %s", dump(est))
	}
}

// Across a rollover: 999999.90 → 000000.10 is 0.20; the estimate in the
// middle is at the maximum plus one unit, 000000.00.
func TestEstimateAcrossRollover(t *testing.T) {
	c := DefaultConfig()
	v := newV(t, c)
	series := v.Validate(nil, reg(meter.Interval, hm(0, "23:45"), "999999.90"), reg(meter.Interval, hm(1, "00:15"), "000000.10"))
	est, gaps, _ := Estimate(c, series, nil)
	if len(gaps) != 0 || len(est) != 2 || est[0].Value != d("0.00") || est[0].Delta != d("0.10") || est[1].Delta != d("0.10") {
		t.Fatalf("%+v %s", gaps, dump(est))
	}
}

// Nothing is estimated across a register decrease.
func TestEstimateRefusesAcrossDecrease(t *testing.T) {
	c := DefaultConfig()
	v := newV(t, c)
	series := v.Validate(nil, reg(meter.Interval, hm(0, "10:00"), "500.00"), reg(meter.Interval, hm(0, "10:45"), "400.00"))
	est, gaps, _ := Estimate(c, series, nil)
	if len(est) != 0 || len(gaps) != 1 || gaps[0].Missing != 2 || !strings.Contains(gaps[0].Why, "register decrease") {
		t.Fatalf("%+v %s", gaps, dump(est))
	}
	// the same figures marked valid (the check off): still refused
	c.Versions[0].Register.Off = true
	v = newV(t, c)
	series = v.Validate(nil, reg(meter.Interval, hm(0, "10:00"), "500.00"), reg(meter.Interval, hm(0, "10:45"), "400.00"))
	wantQ(t, series[len(series)-1], Valid)
	est, gaps, _ = Estimate(c, series, nil)
	if len(est) != 0 || len(gaps) != 1 || !strings.Contains(gaps[0].Why, "went down") {
		t.Fatalf("%+v %s", gaps, dump(est))
	}
}

// values makes a valid register series from t every 15 minutes.
func values(t time.Time, start string, deltas ...string) []Value {
	var out []Value
	for _, r := range intervals(t, start, deltas...) {
		v := Value{Key: Key{Meter: r.Meter, Class: r.Class, Quantity: r.Quantity, Time: r.MeterTime}, Unit: r.Unit, Value: r.Value, Quality: Valid, Version: 1,
			Sources: []Ref{{Key: Key{Meter: r.Meter, Class: r.Class, Quantity: r.Quantity, Time: r.MeterTime}, ReadAt: r.ReadAt}}}
		if n := len(out); n > 0 {
			v.Delta, _ = sub(v.Value, out[n-1].Value)
			v.DeltaFrom = out[n-1].Time
		}
		out = append(out, v)
	}
	return out
}

// profileDay is a workday's load: 0.10 kWh an interval, 0.20 in the four
// intervals ending 08:15 .. 09:00.
func profileDay(day int, start string) []Value {
	deltas := repeat("0.10", 96)
	for i := 32; i < 36; i++ { // the interval ending 00:15 is deltas[0]
		deltas[i] = "0.20"
	}
	return values(hm(day, "00:00"), start, deltas...)
}

// Eight intervals missing on Wednesday 08:00 .. 09:45, the register 2.00
// kWh higher at 10:00 than at 07:45. Monday's and Tuesday's profile for
// the nine intervals is 0.10, 0.20 × 4, 0.10 × 4 (weights 1 2 2 2 2 1 1 1
// 1, sum 13): the shares of 2.00 rounded down are 0.15 and 0.30, and the
// last interval takes 2.00 − 1.80 = 0.20.
func TestEstimateProfileScaled(t *testing.T) {
	c := DefaultConfig()
	history := append(profileDay(0, "100.00"), profileDay(1, "200.00")...)
	series := values(hm(2, "07:30"), "300.00", "0.10")
	end := values(hm(2, "07:45"), "300.10", "2.00")[1]
	end.Time = hm(2, "10:00")
	end.Reasons = []Reason{{Code: CodeGap, Message: "8 intervals missing"}}
	series = append(series, end)
	est, gaps, err := Estimate(c, series, history)
	if err != nil || len(gaps) != 0 || len(est) != 9 {
		t.Fatalf("%v %+v %s", err, gaps, dump(est))
	}
	want := []string{"0.15", "0.30", "0.30", "0.30", "0.30", "0.15", "0.15", "0.15"}
	reg := d("300.10")
	for i, w := range want {
		e := est[i]
		reg, _ = add(reg, d(w))
		wantQ(t, e, EstimatedProfile, CodeProfile)
		if e.Delta != d(w) || e.Value != reg || !e.Time.Equal(hm(2, "08:00").Add(time.Duration(i)*15*time.Minute)) || e.Version != 1 {
			t.Errorf("%d: %s, want Δ%s = %s", i, dump([]Value{e}), w, reg)
		}
	}
	if est[8].Delta != d("0.20") || !est[8].Time.Equal(hm(2, "10:00")) {
		t.Errorf("end: %s", dump(est[8:]))
	}
	r, _ := est[0].Reason(CodeProfile)
	if figure(t, r, "similar days").Text != "2026-11-02 2026-11-03" {
		t.Errorf("%+v", r.Evidence)
	}
}

// With no value after the gap yet, the profile is taken as it is: the
// means rounded down to the register's scale.
func TestEstimateProfileOpenEnd(t *testing.T) {
	c := DefaultConfig()
	history := append(profileDay(0, "100.00"), profileDay(1, "200.00")...)
	series := values(hm(2, "07:45"), "300.00")
	for _, tm := range []string{"08:15", "08:30"} { // placeholders; 08:00 is absent
		series = append(series, Value{Key: Key{Meter: "M1", Class: meter.Interval, Quantity: fwd, Time: hm(2, tm)}, Unit: "kWh", Quality: Failed, Version: 1,
			Reasons: []Reason{{Code: CodeGap}}})
	}
	est, gaps, _ := Estimate(c, series, history)
	if len(gaps) != 0 || len(est) != 3 {
		t.Fatalf("%+v %s", gaps, dump(est))
	}
	for i, w := range []struct {
		value string
		ver   int
	}{{"300.10", 1}, {"300.30", 2}, {"300.50", 2}} {
		if est[i].Value != d(w.value) || est[i].Version != w.ver || est[i].Quality != EstimatedProfile {
			t.Errorf("%d: %s", i, dump(est[i:i+1]))
		}
	}
}

// A long gap without enough similar days is left, saying why; so is one
// on a holiday, whose type (rest day) has no history.
func TestEstimateProfileNeedsHistory(t *testing.T) {
	c := DefaultConfig()
	series := values(hm(2, "07:45"), "300.00")
	end := values(hm(2, "07:45"), "300.00", "2.00")[1]
	end.Time = hm(2, "10:00")
	series = append(series, end)
	_, gaps, _ := Estimate(c, series, profileDay(1, "200.00"))
	if len(gaps) != 1 || gaps[0].Missing != 8 || !strings.Contains(gaps[0].Why, "only 1 similar days") {
		t.Fatalf("%+v", gaps)
	}
	c.Versions[0].Estimate.Holidays = []time.Time{hm(2, "00:00")}
	_, gaps, _ = Estimate(c, series, append(profileDay(0, "100.00"), profileDay(1, "200.00")...))
	if len(gaps) != 1 || !strings.Contains(gaps[0].Why, "only 0 similar days") {
		t.Fatalf("%+v", gaps)
	}
}

// Gaps Estimate cannot fill, and series it refuses.
func TestEstimateRefusals(t *testing.T) {
	c := DefaultConfig()
	placeholder := func(tm string) Value {
		return Value{Key: Key{Meter: "M1", Class: meter.Interval, Quantity: fwd, Time: hm(0, tm)}, Unit: "kWh", Quality: Failed, Version: 1,
			Reasons: []Reason{{Code: CodeReadFailed}}}
	}
	// nothing before the gap
	_, gaps, _ := Estimate(c, append([]Value{placeholder("09:45")}, values(hm(0, "10:00"), "100.00")...), nil)
	if len(gaps) != 1 || !strings.Contains(gaps[0].Why, "before the gap") {
		t.Errorf("%+v", gaps)
	}
	// a suspect value before the gap
	s := values(hm(0, "10:00"), "100.00", "0.10", "0.10")
	s[0].Quality = Suspect
	s = append(s[:1], s[2:]...)
	if _, gaps, _ := Estimate(c, s, nil); len(gaps) != 1 || !strings.Contains(gaps[0].Why, "before the gap is suspect") {
		t.Errorf("%+v", gaps)
	}
	// longer than the profile may fill
	c.Versions[0].Estimate.ProfileIntervals = 4
	s = values(hm(0, "10:00"), "100.00", repeat("0.10", 6)...)
	s = append(s[:1], s[6:]...)
	if _, gaps, _ := Estimate(c, s, nil); len(gaps) != 1 || gaps[0].Missing != 5 || !strings.Contains(gaps[0].Why, "more than the 4") {
		t.Errorf("%+v", gaps)
	}
	// not a register series, or two of them
	if _, _, err := Estimate(DefaultConfig(), []Value{{Key: Key{Meter: "M1", Class: meter.Instantaneous, Quantity: "phase A voltage"}, Unit: "V"}}, nil); !errors.Is(err, ErrSeries) {
		t.Errorf("%v", err)
	}
	two := values(hm(0, "10:00"), "100.00", "0.10")
	two[1].Meter = "M2"
	if _, _, err := Estimate(DefaultConfig(), two, nil); !errors.Is(err, ErrSeries) {
		t.Errorf("%v", err)
	}
}

// Daily gaps: two days missing are interpolated; the day slots keep the
// freezes' time of day.
func TestEstimateDaily(t *testing.T) {
	c := DefaultConfig()
	v := newV(t, c)
	series := v.Validate(nil, reg(meter.Daily, hm(1, "00:00"), "100.00"), reg(meter.Daily, hm(4, "00:00"), "110.00"))
	est, gaps, _ := Estimate(c, series, nil)
	if len(gaps) != 0 || len(est) != 3 || est[0].Value != d("103.33") || est[1].Value != d("106.66") || est[2].Delta != d("3.34") ||
		!est[1].Time.Equal(hm(3, "00:00")) {
		t.Fatalf("%+v %s", gaps, dump(est))
	}
}

func TestShareIsExact(t *testing.T) {
	for _, tc := range []struct {
		total uint64
		w     []uint64
	}{{100, []uint64{1, 1, 1}}, {7, []uint64{5, 0, 3, 9}}, {0, []uint64{1, 2}}, {1 << 62, []uint64{1 << 62, 3, 1 << 61}}} {
		parts := share(tc.total, tc.w)
		var sum int64
		for _, p := range parts {
			if p < 0 {
				t.Errorf("%v: negative part %v", tc, parts)
			}
			sum += p
		}
		if uint64(sum) != tc.total {
			t.Errorf("%v: %v sums to %d", tc, parts, sum)
		}
	}
}

// A failed value that holds a read (its meter's clock an hour off) is not
// filled over, and the gap next to it is left.
func TestEstimateKeepsFailedReads(t *testing.T) {
	c := DefaultConfig()
	v := newV(t, c)
	out := v.Validate(nil, reg(meter.Interval, hm(0, "10:00"), "100.00"), clockRead(hm(0, "10:20"), 4000),
		reg(meter.Interval, hm(0, "10:30"), "100.20"))
	wantQ(t, out[len(out)-1], Failed, CodeClockError)
	series := []Value{out[0], out[2], out[3]} // 10:00, the 10:15 placeholder, 10:30
	est, gaps, _ := Estimate(c, series, nil)
	if len(est) != 0 || len(gaps) != 1 || !strings.Contains(gaps[0].Why, "after the gap is failed") {
		t.Fatalf("%+v %s", gaps, dump(est))
	}
}
