package vee

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/headend/headend/protocol/dlt645"
)

// Audit records an edit: who changed which value when, from what to
// what, and why.
type Audit struct {
	Key
	Who           string
	At            time.Time
	Reason        string
	Before, After dlt645.Decimal
	BeforeQuality Quality
	FromVersion   int // the Version edited
	ToVersion     int // the Version the edit made
}

// Errors of Edit.
var (
	ErrEditWho    = errors.New("vee: an edit needs who makes it")
	ErrEditReason = errors.New("vee: an edit needs a reason")
	ErrEditTime   = errors.New("vee: an edit needs the time it is made")
	ErrEditValue  = errors.New("vee: value cannot be edited")
)

// Edit sets a value by hand. The edited value is v's next Version with
// quality edited, the new value at v's scale (a value with more decimals
// than the register is refused), its delta moved by the change, and the
// edit as its last reason after v's; the audit record keeps who, when,
// the value before and after, and the reason. v itself is not changed:
// the caller stores the edited value and the audit next to it, so the
// old value stays retrievable as the earlier Version. An edit without
// who, reason or time is refused.
//
// Pass the edited value to [Validator.Accept] so that the value after it
// is checked against it (its delta changes).
func Edit(v Value, newValue dlt645.Decimal, who, reason string, at time.Time) (Value, Audit, error) {
	who, reason = strings.TrimSpace(who), strings.TrimSpace(reason)
	switch {
	case who == "":
		return v, Audit{}, ErrEditWho
	case reason == "":
		return v, Audit{}, ErrEditReason
	case at.IsZero():
		return v, Audit{}, ErrEditTime
	case v.Meter == "" || v.Time.IsZero():
		return v, Audit{}, fmt.Errorf("%w: it names no meter or time", ErrEditValue)
	case v.Text != "":
		return v, Audit{}, fmt.Errorf("%w: %s is a text (%q), not a number", ErrEditValue, v.Quantity, v.Text)
	case !okScale(newValue):
		return v, Audit{}, fmt.Errorf("%w: %d decimals", ErrEditValue, newValue.Scale)
	}
	nv := newValue
	if v.Quality != Failed || v.Value != (dlt645.Decimal{}) {
		var ok bool
		if nv, ok = newValue.Rescale(v.Value.Scale); !ok {
			return v, Audit{}, fmt.Errorf("%w: %s has more decimals than the register's %d", ErrEditValue, newValue, v.Value.Scale)
		}
	}
	out := v
	out.Value, out.Quality, out.Version = nv, Edited, v.Version+1
	if !v.DeltaFrom.IsZero() {
		change, ok1 := sub(nv, v.Value)
		d, ok2 := add(v.Delta, change)
		if !ok1 || !ok2 {
			return v, Audit{}, fmt.Errorf("%w: the delta does not fit", ErrEditValue)
		}
		out.Delta = d
	}
	out.Reasons = append(slices.Clone(v.Reasons), Reason{Code: CodeEdit,
		Message: fmt.Sprintf("edited by %s at %s from %s (%s) to %s: %s", who, at.Format(time.RFC3339), v.Value, v.Quality, nv, reason),
		Evidence: []Figure{text("who", who), when("at", at), num("before", v.Value, v.Unit), text("before quality", string(v.Quality)),
			num("after", nv, v.Unit), text("reason", reason)},
	})
	out.Sources = slices.Clone(v.Sources)
	a := Audit{Key: v.Key, Who: who, At: at, Reason: reason, Before: v.Value, After: nv, BeforeQuality: v.Quality,
		FromVersion: v.Version, ToVersion: out.Version}
	return out, a, nil
}
