package vee

import (
	"fmt"
	"slices"
	"time"
)

// The duplicate check. A read for a key the series holds with the same
// value is dropped (Stats.Duplicates). One with a different value is a
// conflict: the value held stays stored as its Version, the new read
// becomes the next Version, suspect, with both values in the evidence and
// both reads in its Sources, for a person to decide. A read that
// contradicts an edit or another accepted value is a conflict too; one
// for an estimate's time simply replaces the estimate.

// conflict takes the later read p at index i, which holds another value.
func (v *Validator) conflict(dst []Value, s *series, i int, p point) []Value {
	e := &s.pts[i]
	old := v.ref(s, e)
	heldV, heldT := e.v, e.text
	srcs := []Ref{old}
	if e.x != nil && e.x.srcs != nil {
		srcs = slices.Clone(e.x.srcs)
	}
	srcs = append(srcs, v.ref(s, &p))
	held, got := heldV.String(), p.v.String()
	if heldT != "" || p.text != "" {
		held, got = heldT, p.text
	}
	r := Reason{Code: CodeConflict,
		Message: fmt.Sprintf("a second read for the same time gave %s (read at %s), the value held is %s (read at %s): both are kept, the later one is suspect",
			got, v.tm(p.readAt).Format(time.RFC3339), held, old.ReadAt.Format(time.RFC3339)),
		Evidence: []Figure{
			{Name: "held", Value: heldV, Unit: s.unit, Text: heldT}, when("held read at", old.ReadAt),
			{Name: "new", Value: p.v, Unit: s.unit, Text: p.text}, when("new read at", v.tm(p.readAt)),
		},
	}
	own := append(slices.Clone(p.ownReasons()), r)
	ver := e.ver + 1
	*e = p
	e.ver = ver
	e.own = max(e.own, uint8(severity(Suspect)))
	e.x = &extra{own: own, alt: heldV, altText: heldT, hasAlt: true, srcs: srcs}
	v.stats.Conflicts++
	return v.settle(dst, s, i)
}
