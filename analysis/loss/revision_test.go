package loss

import (
	"testing"
)

func TestRevisionOnLateRead(t *testing.T) {
	ix, all := hand(t)
	// c3's end read (forward and reverse) arrives late
	late := []Reading{all[17], all[19]}
	early := append(append([]Reading(nil), all[:17]...), all[18])
	p := Day(day1)
	r0 := Compute(ix, "A1", p, NewSet(early), Config{})
	// without c3: sales 50 + 20, loss 960.00; 3 of 4 customers is below 95 %
	if r0.Revision != 0 || r0.Missing != 1 || r0.Class != NotComputable {
		t.Fatalf("first: revision %d missing %d class %s", r0.Revision, r0.Missing, r0.Class)
	}
	eqDec(t, "first loss", r0.Loss, "960.00")
	r1 := Recompute(&r0, ix, NewSet(append(early, late...)), Config{})
	if r1.Revision != 1 || len(r1.Changes) != 2 {
		t.Fatalf("revision %d changes %+v", r1.Revision, r1.Changes)
	}
	for _, c := range r1.Changes {
		if c.Kind != ReadAdded || c.Meter != "000000000014" || c.Was != nil || c.Now == nil || !c.Key.Time.Equal(p.End) {
			t.Errorf("change %+v", c)
		}
	}
	if r1.Changes[0].Register != Forward || r1.Changes[1].Register != Reverse {
		t.Errorf("registers %s %s", r1.Changes[0].Register, r1.Changes[1].Register)
	}
	eqDec(t, "revised loss", r1.Loss, "120.00")
	if r1.Class != High || r1.Missing != 0 {
		t.Errorf("revised class %s missing %d", r1.Class, r1.Missing)
	}
	// the same inputs again: no new revision
	r2 := Recompute(&r1, ix, NewSet(append(early, late...)), Config{})
	if r2.Revision != 1 || len(r2.Changes) != 0 {
		t.Errorf("unchanged: revision %d changes %v", r2.Revision, r2.Changes)
	}
	// an edit of c1's end read, then a requalification of it
	edited := append(append([]Reading(nil), all...), all[5])
	edited[len(edited)-1].Value = dec(t, "525.00")
	edited[len(edited)-1].Quality = Edited
	r3 := Recompute(&r2, ix, NewSet(edited), Config{})
	if r3.Revision != 2 || len(r3.Changes) != 1 || r3.Changes[0].Kind != ValueChanged || r3.Changes[0].Was.Value.String() != "520.00" {
		t.Fatalf("edit: revision %d changes %+v", r3.Revision, r3.Changes)
	}
	eqDec(t, "edited loss", r3.Loss, "115.00")
	requal := append([]Reading(nil), all...)
	requal[5].Quality = EstimatedInterpolation
	r4 := Recompute(&r1, ix, NewSet(requal), Config{})
	if r4.Revision != 2 || len(r4.Changes) != 1 || r4.Changes[0].Kind != QualityOnly {
		t.Errorf("quality: revision %d changes %+v", r4.Revision, r4.Changes)
	}
}

func TestRevisionOnArchiveChange(t *testing.T) {
	ix, all := hand(t)
	r0 := Compute(ix, "A1", Day(day1), NewSet(all), Config{})
	a := ix.Archive()
	a.Meters[4].Area = "elsewhere"
	a.Meters[2].CT = 2
	r1 := Recompute(&r0, a.Index(), NewSet(all), Config{})
	if r1.Revision != 1 || len(r1.Changes) != 2 || r1.Changes[0].Kind != Multiplier || r1.Changes[1].Kind != MeterRemoved {
		t.Errorf("revision %d changes %+v", r1.Revision, r1.Changes)
	}
}
