package vee

import (
	"github.com/headend/headend/meter"
	"time"

	"github.com/headend/headend/protocol/dlt645"
)

// Quality says how far a value may be trusted: meter's vocabulary.
type Quality = meter.Quality

// The qualities (see meter.Quality).
const (
	Valid                  = meter.Valid
	EstimatedInterpolation = meter.EstimatedInterpolation
	EstimatedProfile       = meter.EstimatedProfile
	Edited                 = meter.Edited
	Suspect                = meter.Suspect
	Failed                 = meter.FailedQuality
)

// severity orders the qualities the validator assigns: a value takes the
// worst of its checks' verdicts.
func severity(q Quality) int {
	switch q {
	case Suspect:
		return 1
	case Failed:
		return 2
	}
	return 0
}

// worse returns the worse of two qualities.
func worse(a, b Quality) Quality {
	if severity(b) > severity(a) {
		return b
	}
	return a
}

// Code names a check, or what else a reason is about.
type Code string

// The reason codes.
const (
	CodeGap             Code = "gap"               // missing intervals or days
	CodeSpike           Code = "spike"             // an interval far above its neighbours and history
	CodeDecrease        Code = "register_decrease" // a register went down, and not by a rollover
	CodeRollover        Code = "rollover"          // a register passed its maximum and started again at zero
	CodeZeroWithCurrent Code = "zero_with_current" // no energy over a span while current flowed
	CodeHighUsage       Code = "high_usage"        // a day far above the meter's average day
	CodeLowUsage        Code = "low_usage"         // a day far below the meter's average day
	CodeSumCheck        Code = "sum_check"         // Σ interval energy differs from the register delta
	CodeClockError      Code = "clock_error"       // the meter's clock is off beyond tolerance
	CodeDuplicate       Code = "duplicate"         // the same value again (only counted: see Stats)
	CodeConflict        Code = "conflict"          // a different value for the same meter, quantity and time
	CodeFuture          Code = "future"            // stamped after the head-end received it
	CodeImplausible     Code = "implausible"       // outside the physical range
	CodeLate            Code = "late"              // older than the validator's window: not checked against neighbours
	CodeReadFailed      Code = "read_failed"       // the read's status was not OK
	CodeInterpolation   Code = "interpolation"     // estimated by linear interpolation
	CodeProfile         Code = "profile"           // estimated from the similar-day profile
	CodeRevised         Code = "revised"           // the delta now starts at an estimate
	CodeEdit            Code = "edit"              // a person's edit
)

// Reason explains one decision about a value: which check, in words, and
// the figures it was decided on.
type Reason struct {
	Code     Code
	Message  string
	Evidence []Figure
}

// Figure is one figure of a reason's evidence: a number with its unit, or,
// for times and other non-numbers, a text.
type Figure struct {
	Name  string
	Value dlt645.Decimal // when Text is empty
	Unit  string
	Text  string
}

func num(name string, d dlt645.Decimal, unit string) Figure {
	return Figure{Name: name, Value: d, Unit: unit}
}

func text(name, s string) Figure { return Figure{Name: name, Text: s} }

func when(name string, t time.Time) Figure { return Figure{Name: name, Text: t.Format(time.RFC3339)} }

func dur(name string, d time.Duration) Figure { return Figure{Name: name, Text: d.String()} }

func count(name string, n int) Figure {
	return Figure{Name: name, Value: dlt645.Decimal{Units: int64(n)}}
}

func sameReasons(a, b []Reason) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Code != b[i].Code || a[i].Message != b[i].Message {
			return false
		}
	}
	return true
}
