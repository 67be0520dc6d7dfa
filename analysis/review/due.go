package review

import (
	"fmt"
	"slices"
	"time"

	"github.com/headend/headend/archive"
)

// dueDates raises the alarms of verification, CT verification and
// rotation due dates, and flags out-of-tolerance meters.
func (x *run) dueDates(today time.Time) {
	r := x.cfg.Due
	if !r.applies(today) {
		return
	}
	now := archive.DateOf(today)
	windows := slices.Clone(r.AlarmMonths)
	slices.Sort(windows)
	for _, m := range x.in.Archive.Archive().Meters {
		conc := concentratorOf(x.in.Archive, &m)
		who := "meter " + m.Address
		if m.Role == archive.RoleArea {
			who = "area meter " + m.Address
		}
		if m.Tolerance == archive.OutOfTolerance {
			x.add(Finding{Rule: OutOfTolerance, Severity: High, Area: m.Area, Concentrator: conc, Meter: m.Address, Day: now.String(),
				Summary:  fmt.Sprintf("%s failed its last accuracy test (out of tolerance): replace or recalibrate it", who),
				Evidence: []Evidence{{What: "accuracy (archive)", Meter: m.Address, Value: string(m.Tolerance)}}})
		}
		for _, d := range []struct {
			due        archive.Date
			what       string
			soon, over Rule
			from       archive.Date
			months     int
			fromWhat   string
		}{
			{m.VerifyDue(), "verification", VerificationDue, VerificationOver, m.VerifiedOn, m.VerifyMonths, "verified on"},
			{m.CTVerifyDue(), "CT verification", CTVerificationDue, CTVerificationOver, m.CTVerifiedOn, m.CTVerifyMonths, "CTs verified on"},
			{m.RotationDue, "rotation", RotationDue, RotationOver, archive.Date{}, 0, ""},
		} {
			if d.due.IsZero() {
				continue
			}
			ev := []Evidence{{What: d.what + " due", Meter: m.Address, Time: d.due.String(), Value: d.due.String()}}
			if !d.from.IsZero() {
				ev = append([]Evidence{{What: d.fromWhat + " (archive)", Meter: m.Address, Time: d.from.String(), Value: d.from.String()},
					{What: "period (archive)", Meter: m.Address, Value: fmt.Sprint(d.months), Unit: "months"}}, ev...)
			}
			f := Finding{Area: m.Area, Concentrator: conc, Meter: m.Address, Day: now.String()}
			if d.due.Before(now) {
				f.Rule, f.Severity = d.over, High
				f.Summary = fmt.Sprintf("%s of %s was due on %s: %d day%s overdue", d.what, who, d.due, d.due.DaysUntil(now), plural(d.due.DaysUntil(now)))
				f.Evidence = append(ev, Evidence{What: "days overdue", Meter: m.Address, Time: now.String(), Value: fmt.Sprint(d.due.DaysUntil(now)), Unit: "days"})
				x.add(f)
				continue
			}
			for i, n := range windows {
				if now.AddMonths(n).Before(d.due) {
					continue
				}
				f.Rule, f.Severity = d.soon, Low
				if i == 0 {
					f.Severity = Medium
				}
				f.Summary = fmt.Sprintf("%s of %s is due on %s, within %d month%s (in %d days)", d.what, who, d.due, n, plural(n), now.DaysUntil(d.due))
				f.Evidence = append(ev, Evidence{What: "alarm", Meter: m.Address, Time: now.String(), Value: fmt.Sprint(n), Unit: "months ahead"})
				x.add(f)
				break
			}
		}
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
