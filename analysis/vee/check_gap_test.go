package vee

import (
	"testing"

	"github.com/headend/headend/meter"
)

// Records at 10:00, 10:15 and 11:00: the two missing between become
// failed placeholders, and the 11:00 value says two intervals are missing
// and that its delta spans them. The 10:30 record, read late, takes its
// placeholder's place as version 2, and 11:00 is revised: its delta now
// starts at 10:30.
func TestGapIntervals(t *testing.T) {
	v := newV(t, DefaultConfig())
	out := v.Validate(nil, reg(meter.Interval, hm(0, "10:00"), "100.00"), reg(meter.Interval, hm(0, "10:15"), "100.10"),
		reg(meter.Interval, hm(0, "11:00"), "100.50"))
	if len(out) != 5 {
		t.Fatalf("%d values: %s", len(out), dump(out))
	}
	for _, tm := range []string{"10:30", "10:45"} {
		p := valueAt(t, out, fwd, hm(0, tm))
		wantQ(t, p, Failed, CodeGap)
		if p.Version != 1 || len(p.Sources) != 2 || !p.Sources[0].Time.Equal(hm(0, "10:15")) || !p.Sources[1].Time.Equal(hm(0, "11:00")) {
			t.Errorf("placeholder %s: v%d sources %+v", tm, p.Version, p.Sources)
		}
	}
	last := valueAt(t, out, fwd, hm(0, "11:00"))
	wantQ(t, last, Valid, CodeGap)
	r, _ := last.Reason(CodeGap)
	if figure(t, r, "missing").Value.Units != 2 || last.Delta != d("0.40") || !last.DeltaFrom.Equal(hm(0, "10:15")) {
		t.Errorf("after the gap: %s, delta %s from %s", reasonsText(last), last.Delta, last.DeltaFrom)
	}

	out = v.Validate(nil, reg(meter.Interval, hm(0, "10:30"), "100.20"))
	if len(out) != 2 {
		t.Fatalf("late read: %s", dump(out))
	}
	late := valueAt(t, out, fwd, hm(0, "10:30"))
	wantQ(t, late, Valid)
	if late.Version != 2 || late.Delta != d("0.10") {
		t.Errorf("late: v%d delta %s", late.Version, late.Delta)
	}
	rev := valueAt(t, out, fwd, hm(0, "11:00"))
	r, _ = rev.Reason(CodeGap)
	if rev.Version != 2 || rev.Delta != d("0.30") || !rev.DeltaFrom.Equal(hm(0, "10:30")) || figure(t, r, "missing").Value.Units != 1 {
		t.Errorf("revised: v%d delta %s from %s %s", rev.Version, rev.Delta, rev.DeltaFrom, reasonsText(rev))
	}
	if s := v.Stats(); s.Placeholders != 2 || s.Revisions != 1 || s.Values != 7 || s.Reads != 4 {
		t.Errorf("stats %+v", s)
	}
}

// Daily freezes of days 1 and 4: days 2 and 3 are placeholders at 00:00.
func TestGapDaily(t *testing.T) {
	v := newV(t, DefaultConfig())
	out := v.Validate(nil, reg(meter.Daily, hm(1, "00:00"), "100.00"), reg(meter.Daily, hm(4, "00:00"), "130.00"))
	wantQ(t, valueAt(t, out, fwd, hm(2, "00:00")), Failed, CodeGap)
	wantQ(t, valueAt(t, out, fwd, hm(3, "00:00")), Failed, CodeGap)
	last := valueAt(t, out, fwd, hm(4, "00:00"))
	wantQ(t, last, Valid, CodeGap)
	if len(out) != 4 || last.Delta != d("30.00") {
		t.Errorf("%s", dump(out))
	}
}

// A gap longer than MaxPlaceholders is reported only on the value after it.
func TestGapTooLongForPlaceholders(t *testing.T) {
	c := DefaultConfig()
	c.Versions[0].Gap.MaxPlaceholders = 3
	v := newV(t, c)
	out := v.Validate(nil, reg(meter.Interval, hm(0, "10:00"), "100.00"), reg(meter.Interval, hm(0, "11:15"), "100.50"))
	if len(out) != 2 {
		t.Fatalf("%s", dump(out))
	}
	r, _ := out[1].Reason(CodeGap)
	if figure(t, r, "missing").Value.Units != 4 {
		t.Errorf("%s", reasonsText(out[1]))
	}
}

// A failed read becomes a failed value; for a load-profile record it is
// the gap's placeholder, which the record read again replaces.
func TestFailedReads(t *testing.T) {
	v := newV(t, DefaultConfig())
	bad := meter.Read{Meter: "M1", Class: meter.Daily, Quantity: "daily freeze -1 forward active energy total", Unit: "kWh",
		ReadAt: hm(1, "00:20"), Status: meter.Failed, Err: "timeout"}
	out := v.Validate(nil, bad)
	if len(out) != 1 {
		t.Fatalf("%s", dump(out))
	}
	wantQ(t, out[0], Failed, CodeReadFailed)
	if out[0].Quantity != fwd || !out[0].Time.Equal(hm(1, "00:20")) {
		t.Errorf("%+v", out[0].Key)
	}

	noData := reg(meter.Interval, hm(0, "10:15"), "0")
	noData.Status = meter.NoData
	out = v.Validate(nil, reg(meter.Interval, hm(0, "10:00"), "100.00"), noData, reg(meter.Interval, hm(0, "10:30"), "100.20"))
	if len(out) != 3 {
		t.Fatalf("%s", dump(out))
	}
	wantQ(t, valueAt(t, out, fwd, hm(0, "10:15")), Failed, CodeReadFailed)
	again := v.Validate(nil, noData) // failed again: nothing new
	if len(again) != 0 || v.Stats().Duplicates != 1 {
		t.Errorf("%s %+v", dump(again), v.Stats())
	}
	out = v.Validate(nil, reg(meter.Interval, hm(0, "10:15"), "100.10"))
	got := valueAt(t, out, fwd, hm(0, "10:15"))
	if got.Version != 2 || got.Quality != Valid {
		t.Errorf("%s", dump(out))
	}
	// a failed re-read of a held value is counted, not emitted
	if out := v.Validate(nil, noData); len(out) != 0 || v.Stats().FailedRereads != 1 {
		t.Errorf("%s %+v", dump(out), v.Stats())
	}
}
