package vee

import (
	"testing"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// A 2007 register passing 999999.99: 999999.95 → 000000.15 is 0.04 up to
// the maximum, one unit to zero and 0.15 after: 0.20 kWh.
func TestRollover2007(t *testing.T) {
	v := newV(t, DefaultConfig())
	out := v.Validate(nil, reg(meter.Daily, hm(1, "00:00"), "999999.95"), reg(meter.Daily, hm(2, "00:00"), "000000.15"))
	got := valueAt(t, out, fwd, hm(2, "00:00"))
	wantQ(t, got, Valid, CodeRollover)
	if got.Delta != d("0.20") || !got.DeltaFrom.Equal(hm(1, "00:00")) {
		t.Errorf("delta %s from %s, want 0.20 from day 1", got.Delta, got.DeltaFrom)
	}
	r, _ := got.Reason(CodeRollover)
	if figure(t, r, "max").Value != d("999999.99") {
		t.Errorf("max %v", figure(t, r, "max"))
	}
}

// A 1997 meter with a five-digit register rolls at 99999.99; the same
// figures on a 2007 meter are a decrease.
func TestRollover1997(t *testing.T) {
	v := newV(t, DefaultConfig())
	a, b := reg(meter.Daily, hm(1, "00:00"), "99999.95"), reg(meter.Daily, hm(2, "00:00"), "0.15")
	a.Edition, b.Edition = dlt645.DLT1997, dlt645.DLT1997
	got := valueAt(t, v.Validate(nil, a, b), fwd, hm(2, "00:00"))
	wantQ(t, got, Valid, CodeRollover)
	if got.Delta != d("0.20") {
		t.Errorf("delta %s", got.Delta)
	}
	v = newV(t, DefaultConfig())
	a.Edition, b.Edition = dlt645.DLT2007, dlt645.DLT2007
	wantQ(t, valueAt(t, v.Validate(nil, a, b), fwd, hm(2, "00:00")), Suspect, CodeDecrease)
}

// A register going down, not from near its maximum, is suspect and has
// no delta; so is a drop from near the maximum to far above zero (more
// than the 1000 kWh a rollover may account for).
func TestRegisterDecrease(t *testing.T) {
	for _, tc := range []struct{ before, after string }{
		{"500.00", "499.00"},
		{"999999.95", "1000.15"},
		{"12345.67", "0.00"},
	} {
		v := newV(t, DefaultConfig())
		got := valueAt(t, v.Validate(nil, reg(meter.Daily, hm(1, "00:00"), tc.before), reg(meter.Daily, hm(2, "00:00"), tc.after)), fwd, hm(2, "00:00"))
		wantQ(t, got, Suspect, CodeDecrease)
		if got.Has(CodeRollover) || !got.DeltaFrom.IsZero() {
			t.Errorf("%s → %s: %s, delta %s from %s", tc.before, tc.after, reasonsText(got), got.Delta, got.DeltaFrom)
		}
	}
	// the edge of the rollover span: exactly 1000.00 across the maximum is a rollover
	v := newV(t, DefaultConfig())
	got := valueAt(t, v.Validate(nil, reg(meter.Daily, hm(1, "00:00"), "999999.99"), reg(meter.Daily, hm(2, "00:00"), "999.99")), fwd, hm(2, "00:00"))
	wantQ(t, got, Valid, CodeRollover)
	if got.Delta != d("1000.00") {
		t.Errorf("delta %s", got.Delta)
	}
}

// A check that is off, or not yet in force, does not flag.
func TestRegisterCheckFrom(t *testing.T) {
	c := DefaultConfig()
	c.Versions[0].Register.From = hm(2, "00:00")
	v := newV(t, c)
	out := v.Validate(nil,
		reg(meter.Daily, hm(0, "00:00"), "500.00"), reg(meter.Daily, hm(1, "00:00"), "400.00"), // before From: not checked
		reg(meter.Daily, hm(2, "00:00"), "300.00")) // at From: checked
	wantQ(t, valueAt(t, out, fwd, hm(1, "00:00")), Valid)
	wantQ(t, valueAt(t, out, fwd, hm(2, "00:00")), Suspect, CodeDecrease)
}
