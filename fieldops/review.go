package fieldops

import (
	"fmt"
	"time"

	"github.com/headend/headend/analysis/review"
)

// ReviewScan is what a scan made at at with request rq on channel tells
// the review (审核) of the archive against the buses: the result's own
// channel wins when it has one.
func ReviewScan(channel string, rq ScanRequest, res *ScanResult, at time.Time) review.Scan {
	s := review.Scan{Channel: channel, At: at, Found: []string{}, Missing: res.Missing}
	if res.Channel != "" {
		s.Channel = res.Channel
	}
	if rq.From != "" && rq.To != "" {
		if lo, hi, err := ParseRange(rq.From, rq.To); err == nil {
			s.From, s.To = fmt.Sprintf("%012d", lo), fmt.Sprintf("%012d", hi)
		}
	}
	for _, f := range res.Found {
		s.Found = append(s.Found, f.Address)
	}
	return s
}
