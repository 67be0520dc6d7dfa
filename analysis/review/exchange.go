package review

import (
	"fmt"
	"time"

	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/meter"
)

// exchanges judges the meter exchanges whose time keep accepts: a
// removal reading below the old meter's last billed reading (the latest
// usable daily or settlement value of its forward register at or before
// the exchange; a freeze of 00:00 on the day of an exchange counts) is an
// error in the reading or in the exchange record.
func (x *run) exchanges(keep func(time.Time) bool) {
	for _, e := range x.in.Archive.Archive().Exchanges {
		d := midnight(e.Date, x.loc)
		if !keep(e.Date) || !x.cfg.Exchange.applies(d) {
			continue
		}
		var billed *vee.Value
		for i := range x.in.Values {
			v := &x.in.Values[i]
			if v.Meter != e.OldMeter || v.Quantity != Forward || (v.Class != meter.Daily && v.Class != meter.Monthly) ||
				!v.Quality.Usable() || v.Time.After(e.Date) {
				continue
			}
			if billed == nil || v.Time.After(billed.Time) {
				billed = v
			}
		}
		if billed == nil || e.RemovalReading.Cmp(billed.Value) >= 0 {
			continue
		}
		short := sub(rat(billed.Value), rat(e.RemovalReading))
		x.add(Finding{Rule: ExchangeBelowBilled, Severity: High, Area: e.Area, Meter: e.OldMeter, Day: day(d),
			Summary: fmt.Sprintf("meter %s was exchanged for %s at %s with a removal reading of %s kWh, %s kWh below its last billed reading %s kWh (%s %s)",
				e.OldMeter, e.NewMeter, stamp(e.Date, x.loc), e.RemovalReading, show(short, int(max(billed.Value.Scale, e.RemovalReading.Scale))),
				billed.Value, billed.Class, stamp(billed.Time, x.loc)),
			Evidence: []Evidence{
				{What: "removal reading (archive exchange)", Meter: e.OldMeter, Time: stamp(e.Date, x.loc), Value: e.RemovalReading.String(), Unit: "kWh"},
				{What: fmt.Sprintf("last billed reading (%s, %s)", billed.Class, billed.Quality), Meter: e.OldMeter, Time: stamp(billed.Time, x.loc),
					Value: billed.Value.String(), Unit: "kWh"},
				{What: "installation reading (archive exchange)", Meter: e.NewMeter, Time: stamp(e.Date, x.loc), Value: e.InstallReading.String(), Unit: "kWh"},
			}})
	}
}
