package loss

import (
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
)

// Hourly is the kind of an hour's balance: near-real-time loss from the
// load-profile records (or hourly freezes) at the hour's two ends.
const Hourly PeriodKind = "hourly"

// HourTolerance is the most an hourly boundary read may be stamped away
// from the hour: under half the load profile's 15 minutes, so that the
// record of the quarter before or after never stands for the hour.
const HourTolerance = 7*time.Minute + 29*time.Second

// Hour is the hourly period holding t, in t's location.
func Hour(t time.Time) Period {
	h := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, t.Location())
	return Period{Kind: Hourly, Start: h, End: h.Add(time.Hour)}
}

// Hours are the hourly periods of the date of day in its location, from
// its 00:00 to the next day's: 24 of them, 23 or 25 on a day the clocks
// change.
func Hours(day time.Time) []Period {
	d := Day(day)
	var out []Period
	for t := d.Start; t.Before(d.End); t = t.Add(time.Hour) {
		out = append(out, Period{Kind: Hourly, Start: t, End: t.Add(time.Hour)})
	}
	return out
}

// HourResult is an area's balance over one hour. It is always
// provisional: the daily balance, from the daily freezes after VEE,
// settles the day's figure.
type HourResult struct {
	Result
	Provisional bool
}

// ComputeHours balances area over each hour of day's date from the reads
// in s: the register values at every hour (load-profile records, hourly
// freezes, the daily freeze at 00:00), with the balance, completeness and
// classification rules of [Compute] and cfg. A boundary read stands for
// the hour when stamped within [HourTolerance] of it (or cfg.Tolerance,
// if shorter). The hours' supplies, sales and losses add up to those of
// the day over the same reads.
func ComputeHours(ix *archive.Index, area string, day time.Time, s *Set, cfg Config) []HourResult {
	cfg = cfg.withDefaults()
	if cfg.Tolerance == 0 || cfg.Tolerance > HourTolerance {
		cfg.Tolerance = HourTolerance
	}
	hs := Hours(day)
	out := make([]HourResult, len(hs))
	for i, p := range hs {
		out[i] = HourResult{Result: Compute(ix, area, p, s, cfg), Provisional: true}
	}
	return out
}

// ReadingsOf turns register reads as the collector stored them into
// readings: the reads with a value (status OK) of "forward active energy
// total" and "reverse active energy total", each at its meter stamp (its
// receipt when it has none) and of quality valid. Reads of other
// quantities or statuses are left out. It is how the hourly balance takes
// raw load-profile records, which no VEE has seen yet.
func ReadingsOf(rs []meter.Read) []Reading {
	out := make([]Reading, 0, len(rs))
	for i := range rs {
		r := &rs[i]
		reg, ok := RegisterOf(r.Quantity)
		if !ok || r.Status != meter.OK || r.Text != "" || r.Quantity != string(reg)+" active energy total" {
			continue
		}
		at := r.MeterTime
		if at.IsZero() {
			at = r.ReadAt
		}
		out = append(out, Reading{Key: meter.Key{Meter: r.Meter, Class: r.Class, Quantity: r.Quantity, Time: at}, Register: reg, Value: r.Value, Quality: meter.Valid})
	}
	return out
}
