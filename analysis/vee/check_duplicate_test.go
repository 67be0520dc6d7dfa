package vee

import (
	"testing"
	"time"

	"github.com/headend/headend/meter"
)

// The same value again is dropped and counted; a different value for the
// same time is a conflict: the later one is the next version, suspect,
// naming both reads; a third read equal to either is a duplicate.
func TestDuplicatesAndConflicts(t *testing.T) {
	v := newV(t, DefaultConfig())
	a := reg(meter.Daily, hm(1, "00:00"), "100.00")
	out := v.Validate(nil, a, a)
	if len(out) != 1 || v.Stats().Duplicates != 1 {
		t.Fatalf("%s %+v", dump(out), v.Stats())
	}
	b := a
	b.Value, b.ReadAt = d("100.40"), a.ReadAt.Add(time.Hour)
	out = v.Validate(nil, b)
	if len(out) != 1 {
		t.Fatalf("%s", dump(out))
	}
	c := out[0]
	wantQ(t, c, Suspect, CodeConflict)
	if c.Version != 2 || c.Value != d("100.40") || len(c.Sources) != 2 || !c.Sources[0].ReadAt.Equal(a.ReadAt) || !c.Sources[1].ReadAt.Equal(b.ReadAt) {
		t.Errorf("conflict: %+v", c)
	}
	r, _ := c.Reason(CodeConflict)
	if figure(t, r, "held").Value != d("100.00") || figure(t, r, "new").Value != d("100.40") {
		t.Errorf("%+v", r.Evidence)
	}
	if out := v.Validate(nil, a, b); len(out) != 0 || v.Stats().Duplicates != 3 || v.Stats().Conflicts != 1 {
		t.Errorf("%s %+v", dump(out), v.Stats())
	}
	// the series goes on from the value held now
	out = v.Validate(nil, reg(meter.Daily, hm(2, "00:00"), "110.40"))
	if got := valueAt(t, out, fwd, hm(2, "00:00")); got.Delta != d("10.00") {
		t.Errorf("%s", dump(out))
	}
}

// Text values (freeze and record times) are checked for duplicates too.
func TestTextDuplicates(t *testing.T) {
	v := newV(t, DefaultConfig())
	r := meter.Read{Meter: "M1", Class: meter.Interval, Quantity: "record time", Text: "2026-11-02T10:00", MeterTime: hm(0, "10:00"), ReadAt: hm(0, "10:05"), Status: meter.OK}
	out := v.Validate(nil, r, r)
	if len(out) != 1 || out[0].Text != r.Text || out[0].Quality != Valid {
		t.Fatalf("%s", dump(out))
	}
	r.Text = "2026-11-02T10:01"
	out = v.Validate(nil, r)
	wantQ(t, out[0], Suspect, CodeConflict)
}
