package vee

import (
	"testing"

	"github.com/headend/headend/meter"
)

// A day of 96 intervals of 0.10 kWh adds up to 9.60. Against the daily
// freezes' delta: 9.60 and 9.70 pass (9.70 is 0.10 off, within 0.10 +
// 1 % × 9.70); 9.80 is 0.20 off, beyond 0.10 + 0.098.
func TestSumCheck(t *testing.T) {
	for _, tc := range []struct {
		delta, pct string
		want       Quality
	}{
		{"9.60", "1", Valid}, {"9.70", "1", Valid}, {"9.80", "1", Suspect},
		{"9.70", "0", Valid}, {"9.71", "0", Suspect}, // exactly at the tolerance, and just beyond
	} {
		c := DefaultConfig()
		c.Versions[0].Sum.Pct = d(tc.pct)
		v := newV(t, c)
		end, _ := add(d("500.00"), d(tc.delta))
		out := v.Validate(nil, reg(meter.Daily, hm(0, "00:00"), "500.00"))
		out = v.Validate(out, intervals(hm(0, "00:00"), "100.00", repeat("0.10", 96)...)...)
		out = v.Validate(out, reg(meter.Daily, hm(1, "00:00"), end.String()))
		got := daily(t, out, hm(1, "00:00"))
		if tc.want == Valid {
			wantQ(t, got, Valid)
			continue
		}
		wantQ(t, got, Suspect, CodeSumCheck)
		r, _ := got.Reason(CodeSumCheck)
		if figure(t, r, "intervals").Value != d("9.60") || figure(t, r, "interval count").Value.Units != 96 {
			t.Errorf("%+v", r.Evidence)
		}
	}
}

// The freeze usually arrives before the 00:00 record: the check runs again
// when the record completes the day, and the daily value is revised.
func TestSumCheckWhenIntervalsComeLast(t *testing.T) {
	v := newV(t, DefaultConfig())
	out := v.Validate(nil, reg(meter.Daily, hm(0, "00:00"), "500.00"), reg(meter.Daily, hm(1, "00:00"), "510.00"))
	wantQ(t, daily(t, out, hm(1, "00:00")), Valid)
	out = v.Validate(nil, intervals(hm(0, "00:00"), "100.00", repeat("0.10", 96)...)...)
	got := daily(t, out, hm(1, "00:00"))
	wantQ(t, got, Suspect, CodeSumCheck)
	if got.Version != 2 || got.Class != meter.Daily {
		t.Errorf("%s", dump(out))
	}
	// an incomplete day is not checked
	v = newV(t, DefaultConfig())
	rs := intervals(hm(0, "00:00"), "100.00", repeat("0.10", 96)...)
	rs = append(rs[:40], rs[41:]...)
	out = v.Validate(nil, reg(meter.Daily, hm(0, "00:00"), "500.00"), reg(meter.Daily, hm(1, "00:00"), "510.00"))
	out = v.Validate(out, rs...)
	wantQ(t, daily(t, out, hm(1, "00:00")), Valid)
}
