package vee

import (
	"testing"

	"github.com/headend/headend/meter"
)

// days returns daily freezes from day 1 with the given consumptions.
func days(start string, deltas ...string) []meter.Read {
	r := d(start)
	out := []meter.Read{reg(meter.Daily, hm(1, "00:00"), r.String())}
	for i, x := range deltas {
		r, _ = add(r, d(x))
		out = append(out, reg(meter.Daily, hm(2+i, "00:00"), r.String()))
	}
	return out
}

// Fourteen days of 10.00 kWh: the average day is 10.00, the limits 3 ×
// = 30.00 and 0.1 × = 1.00, both themselves allowed.
func TestUsageHighLow(t *testing.T) {
	for _, tc := range []struct {
		day  string
		want Quality
		code Code
	}{
		{"30.00", Valid, ""}, {"30.01", Suspect, CodeHighUsage},
		{"1.00", Valid, ""}, {"0.99", Suspect, CodeLowUsage},
	} {
		v := newV(t, DefaultConfig())
		out := v.Validate(nil, days("1000.00", append(repeat("10.00", 14), tc.day)...)...)
		got := valueAt(t, out, fwd, hm(16, "00:00"))
		if tc.code == "" {
			wantQ(t, got, tc.want)
			continue
		}
		wantQ(t, got, tc.want, tc.code)
		r, _ := got.Reason(tc.code)
		if figure(t, r, "average").Value.Cmp(d("10.00")) != 0 || figure(t, r, "days").Value.Units != 14 {
			t.Errorf("%+v", r.Evidence)
		}
	}
}

// Not applied until there are 14 days of history, nor for a meter whose
// average day is under 1.00 kWh.
func TestUsageNeedsHistory(t *testing.T) {
	v := newV(t, DefaultConfig())
	out := v.Validate(nil, days("1000.00", append(repeat("10.00", 13), "100.00")...)...)
	wantQ(t, valueAt(t, out, fwd, hm(15, "00:00")), Valid)
	v = newV(t, DefaultConfig())
	out = v.Validate(nil, days("1000.00", append(repeat("0.50", 14), "20.00")...)...)
	wantQ(t, valueAt(t, out, fwd, hm(16, "00:00")), Valid)
}
