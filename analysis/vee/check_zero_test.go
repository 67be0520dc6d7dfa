package vee

import (
	"testing"

	"github.com/headend/headend/meter"
)

// The register stays at 100.00 from 08:00 while the meter measured 1.5 A
// at 09:00: at 11:45 it has not moved for 3h45 (under the 4h span), at
// 12:00 for 4h, and from then on the values are suspect.
func TestZeroWithCurrent(t *testing.T) {
	v := newV(t, DefaultConfig())
	out := v.Validate(nil, inst("phase A current", "A", hm(0, "09:00"), "1.500"))
	out = v.Validate(out, intervals(hm(0, "08:00"), "100.00", repeat("0.00", 17)...)...)
	wantQ(t, valueAt(t, out, fwd, hm(0, "11:45")), Valid)
	got := valueAt(t, out, fwd, hm(0, "12:00"))
	wantQ(t, got, Suspect, CodeZeroWithCurrent)
	r, _ := got.Reason(CodeZeroWithCurrent)
	if figure(t, r, "current").Value != d("1.500") || figure(t, r, "span").Text != "4h0m0s" {
		t.Errorf("%+v", r.Evidence)
	}
	wantQ(t, valueAt(t, out, fwd, hm(0, "12:15")), Suspect, CodeZeroWithCurrent)
}

// Without a current at or above 0.20 A in the span, or while the export
// register advances (a PV meter feeding in), zero is not suspect.
func TestZeroWithoutCurrentOrExporting(t *testing.T) {
	v := newV(t, DefaultConfig())
	out := v.Validate(nil, inst("phase A current", "A", hm(0, "09:00"), "0.190"), inst("phase A current", "A", hm(0, "07:00"), "5.000"))
	out = v.Validate(out, intervals(hm(0, "08:00"), "100.00", repeat("0.00", 16)...)...)
	wantQ(t, valueAt(t, out, fwd, hm(0, "12:00")), Valid)

	v = newV(t, DefaultConfig())
	out = v.Validate(nil, inst("phase A current", "A", hm(0, "09:00"), "-3.000"))
	for i, r := range intervals(hm(0, "08:00"), "100.00", repeat("0.00", 16)...) {
		export := r
		export.Quantity = "reverse active energy total"
		export.Value = d("50.00")
		export.Value.Units += int64(i * 10)
		out = v.Validate(out, r, export)
	}
	wantQ(t, valueAt(t, out, fwd, hm(0, "12:00")), Valid)
}

// A daily freeze that did not move over a day in which current flowed.
func TestZeroDaily(t *testing.T) {
	v := newV(t, DefaultConfig())
	out := v.Validate(nil, reg(meter.Daily, hm(1, "00:00"), "100.00"), inst("phase B current", "A", hm(1, "14:00"), "2.000"),
		reg(meter.Daily, hm(2, "00:00"), "100.00"))
	wantQ(t, valueAt(t, out, fwd, hm(2, "00:00")), Suspect, CodeZeroWithCurrent)
}
