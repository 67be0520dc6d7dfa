package vee

import (
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// Key identifies a value: one meter's quantity of one reading class at
// one time. The time is the meter's stamp for daily freezes and
// load-profile records (the freeze or record time), the head-end's
// receipt time for instantaneous, on-demand and clock reads.
type Key struct {
	Meter    string
	Class    meter.Class
	Quantity string
	Time     time.Time
}

// Ref names a raw read: its key, and when the head-end received it, which
// tells two reads of the same key apart. With the read's Frame it traces a
// value to the bytes on the wire.
type Ref struct {
	Key
	ReadAt time.Time
}

// Value is one value of a validated series.
//
// Register values (energies) carry the consumption since the previous
// value of their series in Delta, computed across a rollover; DeltaFrom
// is the time of that previous value, zero when there is none (the first
// value, or one after a register decrease).
//
// A Value never replaces another: a revision (a late read filling a gap, a
// conflict, an estimate, an edit, a delta recomputed after its neighbour
// changed) has the same Key and a higher Version, and the store keeps
// both.
type Value struct {
	Key
	Unit      string
	Value     dlt645.Decimal // exact; zero for text values
	Text      string         // times, addresses and status words; empty for numbers
	Delta     dlt645.Decimal // registers: consumption since DeltaFrom
	DeltaFrom time.Time
	Quality   Quality
	Reasons   []Reason
	Sources   []Ref // the raw reads it came from
	Version   int   // 1 for the first value at its Key, then 2, 3, ...
}

// Has reports whether v has a reason with the code.
func (v *Value) Has(c Code) bool {
	for i := range v.Reasons {
		if v.Reasons[i].Code == c {
			return true
		}
	}
	return false
}

// Reason returns v's first reason with the code.
func (v *Value) Reason(c Code) (Reason, bool) {
	for i := range v.Reasons {
		if v.Reasons[i].Code == c {
			return v.Reasons[i], true
		}
	}
	return Reason{}, false
}
