package review

import (
	"cmp"
	"slices"
	"time"
)

// Rule names a review rule or archive check.
type Rule string

// The rules.
const (
	ExchangeBelowBilled Rule = "exchange_removal_below_billed" // removal reading below the old meter's last billed reading
	RepeatingDelta      Rule = "estimated_repeating"           // the same daily consumption days running
	WeeklyPattern       Rule = "estimated_weekly_pattern"      // a week's consumption repeating the week before
	ReadWithoutFrame    Rule = "read_without_frame"            // OK reads that carry no reply frame
	ReadRateLow         Rule = "read_rate_low"                 // a concentrator's or area's actual-read rate below the minimum
	ReadGap             Rule = "read_gap"                      // a meter without an OK read for too long
	ZeroConsumption     Rule = "consumption_zero"              // no consumption over a period
	FixedConsumption    Rule = "consumption_fixed"             // the same consumption as the period before
	SharpChange         Rule = "consumption_sharp_change"      // consumption far from the period before
	CapacityOver        Rule = "capacity_over"                 // demand above the transformer's capacity
	CapacityUnder       Rule = "capacity_under"                // demand far under the transformer's capacity
	SuspendedLong       Rule = "transformer_suspended_long"    // suspended longer than allowed

	MultiplierMismatch Rule = "multiplier_mismatch"     // stored multiplier is not CT × PT
	Unarchived         Rule = "unarchived_meter"        // answers on a bus, not in the archive
	OtherBus           Rule = "meter_on_other_bus"      // answers on a bus, archived on another
	NotFound           Rule = "archived_not_found"      // archived on a scanned bus, did not answer
	NeverAnswers       Rule = "never_answers"           // archived, no OK read for days
	VerificationDue    Rule = "verification_due"        // verification due within an alarm window
	VerificationOver   Rule = "verification_overdue"    // verification overdue
	CTVerificationDue  Rule = "ct_verification_due"     // the CTs' verification due within an alarm window
	CTVerificationOver Rule = "ct_verification_overdue" // the CTs' verification overdue
	RotationDue        Rule = "rotation_due"            // rotation due within an alarm window
	RotationOver       Rule = "rotation_overdue"        // rotation overdue
	OutOfTolerance     Rule = "out_of_tolerance"        // last accuracy test out of tolerance
)

// Severity ranks a finding for the inspection list.
type Severity string

// The severities.
const (
	High   Severity = "high"
	Medium Severity = "medium"
	Low    Severity = "low"
)

func (s Severity) rank() int {
	switch s {
	case High:
		return 0
	case Medium:
		return 1
	}
	return 2
}

// Finding is what one rule found on one area, concentrator or meter.
type Finding struct {
	Rule         Rule     `json:"rule"`
	Severity     Severity `json:"severity"`
	Area         string   `json:"area"`
	Concentrator string   `json:"concentrator,omitempty"`
	Meter        string   `json:"meter"`
	Day          string   `json:"day"` // YYYY-MM-DD: the day it is about (or ends on)
	Summary      string   `json:"summary"`
	// Evidence are the figures it was decided on: reads, values, archive
	// fields and thresholds.
	Evidence []Evidence `json:"evidence"`
}

// Evidence is one figure of a finding: what it is, whose, when, and its
// value as an exact decimal string (or a text) with its unit.
type Evidence struct {
	What  string `json:"what"`
	Meter string `json:"meter,omitempty"`
	Time  string `json:"time,omitempty"` // RFC 3339, or YYYY-MM-DD for a day
	Value string `json:"value"`
	Unit  string `json:"unit,omitempty"`
}

// sortFindings orders findings by day, then severity, area, meter and
// rule, so that a report reads the same every time.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Day, b.Day), cmp.Compare(a.Severity.rank(), b.Severity.rank()), cmp.Compare(a.Area, b.Area),
			cmp.Compare(a.Concentrator, b.Concentrator), cmp.Compare(a.Meter, b.Meter), cmp.Compare(a.Rule, b.Rule))
	})
}

// day formats a day.
func day(t time.Time) string { return t.Format(time.DateOnly) }

// stamp formats an instant in loc.
func stamp(t time.Time, loc *time.Location) string { return t.In(loc).Format(time.RFC3339) }
