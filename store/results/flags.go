package results

import (
	"strings"
	"time"
)

// Record kinds of the anomaly detection.
const (
	KindFlag  = "flag"  // an anomaly: Body is an anomaly.Flag
	KindTheft = "theft" // an area's theft ranking on a day: Body is an anomaly.Ranking
)

// FlagKey is the record key of a flag of the given kind on area, meter
// and other (either may be empty). A flag's versions follow one condition
// as the days come (its end, its confidence, its evidence); a later
// episode of the same condition is a later version of the same record.
func FlagKey(kind, area, meter, other string) string {
	return strings.Join([]string{kind, area, meter, other}, "|")
}

// TheftKey is the record key of an area's ranking over the window ending
// on day.
func TheftKey(area string, day time.Time) string { return area + "|" + day.Format(time.DateOnly) }
