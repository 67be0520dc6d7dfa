package vee

import (
	"testing"
	"time"
)

// Eight intervals of 0.30 kWh: their median is 0.30, the limit 10 × 0.30
// = 3.00. An interval of exactly 3.00 is not a spike; 3.01 is.
func TestSpikeAtThreshold(t *testing.T) {
	for _, tc := range []struct {
		delta string
		want  Quality
	}{{"3.00", Valid}, {"3.01", Suspect}} {
		v := newV(t, DefaultConfig())
		out := v.Validate(nil, intervals(hm(0, "08:00"), "100.00", append(repeat("0.30", 8), tc.delta)...)...)
		got := valueAt(t, out, fwd, hm(0, "10:15"))
		if got.Delta != d(tc.delta) {
			t.Fatalf("delta %s", got.Delta)
		}
		wantQ(t, got, tc.want)
		if tc.want == Suspect {
			r, ok := got.Reason(CodeSpike)
			if !ok || figure(t, r, "median").Value != d("0.30") || figure(t, r, "references").Value.Units != 8 {
				t.Errorf("reason %+v", r)
			}
		}
	}
}

// An even number of references: the median is the mean of the middle two,
// (0.20 + 0.40) / 2 = 0.30, and the comparison stays exact.
func TestSpikeEvenMedian(t *testing.T) {
	c := DefaultConfig()
	c.Versions[0].Spike.Neighbours, c.Versions[0].Spike.Days = 4, 0
	for _, tc := range []struct {
		delta string
		want  Quality
	}{{"3.00", Valid}, {"3.01", Suspect}} {
		v := newV(t, c)
		out := v.Validate(nil, intervals(hm(0, "08:00"), "100.00", "0.20", "0.40", "0.20", "0.40", tc.delta)...)
		wantQ(t, valueAt(t, out, fwd, hm(0, "09:15")), tc.want)
	}
}

// Too little history, or an interval below the minimum: no spike.
func TestSpikeNeedsReferencesAndMinimum(t *testing.T) {
	v := newV(t, DefaultConfig())
	out := v.Validate(nil, intervals(hm(0, "08:00"), "100.00", "0.01", "0.01", "0.01", "5.00")...) // 3 references < 4
	wantQ(t, valueAt(t, out, fwd, hm(0, "09:00")), Valid)
	v = newV(t, DefaultConfig())
	out = v.Validate(nil, intervals(hm(0, "08:00"), "100.00", append(repeat("0.01", 8), "1.99")...)...) // below 2.00
	wantQ(t, valueAt(t, out, fwd, hm(0, "10:15")), Valid)
}

// The same interval yesterday is a reference too: a heater that runs at
// 07:00 every day is not a spike after a quiet night.
func TestSpikeHistory(t *testing.T) {
	c := DefaultConfig()
	c.Versions[0].Spike.Neighbours, c.Versions[0].Spike.MinRefs = 2, 3
	yesterday := intervals(hm(0, "06:45"), "100.00", "4.00")
	today := intervals(hm(1, "06:15"), "200.00", "0.30", "0.30", "4.00")
	v := newV(t, c)
	out := v.Validate(nil, append(yesterday, today...)...)
	// references 0.30, 0.30, 4.00: median 0.30, limit 3.00, and 4.00 is above
	wantQ(t, valueAt(t, out, fwd, hm(1, "07:00")), Suspect, CodeSpike)
	c.Versions[0].Spike.Neighbours, c.Versions[0].Spike.MinRefs = 1, 2
	v = newV(t, c)
	out = v.Validate(nil, append(yesterday, today...)...)
	// references 0.30, 4.00: median 2.15, limit 21.50
	wantQ(t, valueAt(t, out, fwd, hm(1, "07:00")), Valid)
}

// A spike check from a date: before it the same interval passes.
func TestSpikeNotBeforeItsDate(t *testing.T) {
	c := DefaultConfig()
	c.Versions[0].Spike.From = hm(0, "10:30")
	v := newV(t, c)
	out := v.Validate(nil, intervals(hm(0, "08:00"), "100.00", append(repeat("0.30", 8), "9.00", "0.30", "9.00")...)...)
	wantQ(t, valueAt(t, out, fwd, hm(0, "10:15")), Valid)
	wantQ(t, valueAt(t, out, fwd, hm(0, "10:45")), Suspect, CodeSpike)
}

// Dated versions of the settings: the factor in force at the value's time.
func TestSettingsVersions(t *testing.T) {
	c := DefaultConfig()
	later := DefaultSettings()
	later.From = hm(0, "10:30")
	later.Spike.Factor = d("50")
	c.Versions = append(c.Versions, later)
	v := newV(t, c)
	out := v.Validate(nil, intervals(hm(0, "08:00"), "100.00", append(repeat("0.30", 8), "9.00", "0.30", "9.00")...)...)
	wantQ(t, valueAt(t, out, fwd, hm(0, "10:15")), Suspect, CodeSpike) // 9.00 > 10 × 0.30
	wantQ(t, valueAt(t, out, fwd, hm(0, "10:45")), Valid)              // 9.00 < 50 × 0.30
	if s := c.settings(hm(0, "10:29")); s.Spike.Factor != d("10") {
		t.Errorf("before: %s", s.Spike.Factor)
	}
	if s := c.settings(day0.Add(-time.Hour)); s.Spike.Factor != d("10") {
		t.Errorf("before the first: %s", s.Spike.Factor)
	}
}
