package results

import "time"

// KindLoss is the record kind of an area's balance over a day or a month:
// Body is a loss.Result.
const KindLoss = "loss"

// LossKey is the record key of an area's balance over the period of the
// given kind ("daily", "monthly") starting at start, with its date in
// start's location: "D01|daily|2025-06-02", "D01|monthly|2025-06-01".
func LossKey(area, period string, start time.Time) string {
	return area + "|" + period + "|" + start.Format(time.DateOnly)
}
