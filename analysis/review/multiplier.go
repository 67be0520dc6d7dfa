package review

import (
	"fmt"
	"time"

	"github.com/headend/headend/archive"
)

// multipliers flags meters whose stored multiplier is not CT × PT: an
// area meter's skews the area's supply in billing and assessment, a
// customer's its bill.
func (x *run) multipliers(today time.Time) {
	if !x.cfg.Multiplier.applies(today) {
		return
	}
	for _, m := range x.in.Archive.Archive().Meters {
		if m.Multiplier == 0 || m.Multiplier == m.Ratio() {
			continue
		}
		sev, who := Medium, "customer meter"
		if m.Role == archive.RoleArea {
			sev, who = High, "area meter"
		}
		x.add(Finding{Rule: MultiplierMismatch, Severity: sev, Area: m.Area, Concentrator: concentratorOf(x.in.Archive, &m), Meter: m.Address,
			Day: day(today),
			Summary: fmt.Sprintf("%s %s stores multiplier %d, but its CT ratio %d × PT ratio %d is %d",
				who, m.Address, m.Multiplier, m.CT, m.PT, m.Ratio()),
			Evidence: []Evidence{{What: "stored multiplier (archive)", Meter: m.Address, Value: fmt.Sprint(m.Multiplier)},
				{What: "CT ratio (archive)", Meter: m.Address, Value: fmt.Sprint(m.CT)},
				{What: "PT ratio (archive)", Meter: m.Address, Value: fmt.Sprint(m.PT)},
				{What: "CT × PT", Meter: m.Address, Value: fmt.Sprint(m.Ratio())}}})
	}
}
