package vee

import (
	"errors"
	"testing"

	"github.com/headend/headend/meter"
)

func TestEdit(t *testing.T) {
	v := newV(t, DefaultConfig())
	out := v.Validate(nil, reg(meter.Daily, hm(1, "00:00"), "100.00"), reg(meter.Daily, hm(2, "00:00"), "90.00"), reg(meter.Daily, hm(3, "00:00"), "120.00"))
	bad := out[1]
	wantQ(t, bad, Suspect, CodeDecrease)
	when := hm(5, "09:30")
	ed, audit, err := Edit(bad, d("110"), "li.wei", "register photographed on site: 110.00", when)
	if err != nil {
		t.Fatal(err)
	}
	if ed.Quality != Edited || ed.Value != d("110.00") || ed.Version != 2 || !ed.Has(CodeDecrease) || ed.Reasons[len(ed.Reasons)-1].Code != CodeEdit {
		t.Errorf("%+v", ed)
	}
	if bad.Quality != Suspect || bad.Value != d("90.00") || len(bad.Reasons) != 1 {
		t.Errorf("the original changed: %+v", bad)
	}
	if audit.Who != "li.wei" || !audit.At.Equal(when) || audit.Before != d("90.00") || audit.After != d("110.00") ||
		audit.BeforeQuality != Suspect || audit.FromVersion != 1 || audit.ToVersion != 2 || audit.Meter != "M1" || audit.Reason == "" {
		t.Errorf("%+v", audit)
	}
	// told to the validator: the edited value gets its delta, the next one is revised
	rev := v.Accept(nil, ed)
	if len(rev) != 2 {
		t.Fatalf("%s", dump(rev))
	}
	if rev[0].Version != 3 || rev[0].Delta != d("10.00") || rev[0].Quality != Edited {
		t.Errorf("%s", dump(rev))
	}
	if rev[1].Version != 2 || rev[1].Delta != d("10.00") || !rev[1].DeltaFrom.Equal(hm(2, "00:00")) {
		t.Errorf("%s", dump(rev))
	}
	// an edit of a value with a delta moves the delta by the change
	ed2, _, err := Edit(out[2], d("121.50"), "li.wei", "typo", when)
	if err != nil || ed2.Delta != d("31.50") {
		t.Errorf("%v %s", err, dump([]Value{ed2}))
	}
}

func TestEditRefused(t *testing.T) {
	v := newV(t, DefaultConfig())
	val := v.Validate(nil, reg(meter.Daily, hm(1, "00:00"), "100.00"))[0]
	for _, tc := range []struct {
		value, who, reason string
		at                 bool
		want               error
	}{
		{"101.00", "", "reason", true, ErrEditWho},
		{"101.00", "  ", "reason", true, ErrEditWho},
		{"101.00", "li.wei", "", true, ErrEditReason},
		{"101.00", "li.wei", "reason", false, ErrEditTime},
		{"101.005", "li.wei", "reason", true, ErrEditValue},
	} {
		when := hm(2, "10:00")
		if !tc.at {
			when = zeroTime
		}
		_, _, err := Edit(val, d(tc.value), tc.who, tc.reason, when)
		if !errors.Is(err, tc.want) {
			t.Errorf("%+v: %v", tc, err)
		}
	}
	text := Value{Key: Key{Meter: "M1", Class: meter.Interval, Quantity: "record time", Time: hm(0, "10:00")}, Text: "2026-11-02T10:00"}
	if _, _, err := Edit(text, d("1"), "li.wei", "x", hm(1, "00:00")); !errors.Is(err, ErrEditValue) {
		t.Errorf("%v", err)
	}
}

// A person fills a gap: the edited placeholder gets its delta when the
// validator is told, and the value after it is revised.
func TestEditGap(t *testing.T) {
	v := newV(t, DefaultConfig())
	out := v.Validate(nil, reg(meter.Daily, hm(1, "00:00"), "100.00"), reg(meter.Daily, hm(3, "00:00"), "120.00"))
	gap := valueAt(t, out, fwd, hm(2, "00:00"))
	wantQ(t, gap, Failed, CodeGap)
	ed, _, err := Edit(gap, d("108.00"), "li.wei", "read on site", hm(4, "10:00"))
	if err != nil || ed.Value != d("108.00") || ed.Version != 2 {
		t.Fatalf("%v %+v", err, ed)
	}
	rev := v.Accept(nil, ed)
	if len(rev) != 2 || rev[0].Version != 3 || rev[0].Delta != d("8.00") || rev[1].Delta != d("12.00") || rev[1].Has(CodeGap) {
		t.Fatalf("%s", dump(rev))
	}
}
