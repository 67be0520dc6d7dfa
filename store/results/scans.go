package results

import "time"

// KindScan is the record kind of a saved bus scan: Body is a review.Scan.
const KindScan = "scan"

// ScanKey is the record key of the scan of channel at at.
func ScanKey(channel string, at time.Time) string {
	return channel + "|" + at.UTC().Format(time.RFC3339Nano)
}
