package review

import (
	"fmt"
	"time"

	"github.com/headend/headend/archive"
)

// suspended flags transformers suspended for more than MaxDays as of
// the day asOf.
func (x *run) suspended(asOf time.Time) {
	r := x.cfg.Suspended
	if !r.applies(asOf) {
		return
	}
	today := archive.DateOf(asOf)
	for _, ar := range x.in.Archive.Archive().Areas {
		if ar.SuspendedSince.IsZero() || today.Before(ar.SuspendedSince) {
			continue
		}
		n := ar.SuspendedSince.DaysUntil(today)
		if n <= r.MaxDays {
			continue
		}
		x.add(Finding{Rule: SuspendedLong, Severity: Medium, Area: ar.ID, Day: day(asOf),
			Summary: fmt.Sprintf("area %s's transformer has been suspended since %s, %d days on %s: longer than the %d days allowed",
				ar.ID, ar.SuspendedSince, n, today, r.MaxDays),
			Evidence: []Evidence{{What: "suspended since (archive)", Time: ar.SuspendedSince.String(), Value: ar.SuspendedSince.String()},
				{What: "days suspended", Time: today.String(), Value: fmt.Sprint(n), Unit: "days"},
				{What: "allowed", Value: fmt.Sprint(r.MaxDays), Unit: "days"}}})
	}
}
