package vee

import (
	"fmt"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// failedReason explains a read whose status is not OK.
func failedReason(r *meter.Read) Reason {
	msg := fmt.Sprintf("the read gave no value: %s", r.Status)
	if r.Err != "" {
		msg += ": " + r.Err
	}
	return Reason{Code: CodeReadFailed, Message: msg, Evidence: []Figure{text("status", string(r.Status)), text("error", r.Err)}}
}

// implausibleScale explains a number with more decimals than any meter sends.
func implausibleScale(d dlt645.Decimal) Reason {
	return Reason{Code: CodeImplausible, Message: fmt.Sprintf("a number with %d decimals: not a meter's value", d.Scale),
		Evidence: []Figure{count("decimals", int(d.Scale))}}
}

// future is the future-timestamp check: the meter stamped the value more
// than the tolerance after the head-end received it. Clock reads are
// judged by the clock check instead.
func (v *Validator) future(r *meter.Read, set *Settings) (Reason, bool) {
	c := &set.Future
	if r.Class == meter.Clock || r.MeterTime.IsZero() || r.ReadAt.IsZero() || !c.applies(r.MeterTime) {
		return Reason{}, false
	}
	ahead := r.MeterTime.Sub(r.ReadAt)
	if ahead <= c.Tolerance {
		return Reason{}, false
	}
	return Reason{Code: CodeFuture,
		Message: fmt.Sprintf("stamped %s, %s after the head-end received it at %s (tolerance %s)",
			r.MeterTime.Format(time.RFC3339), ahead, r.ReadAt.Format(time.RFC3339), c.Tolerance),
		Evidence: []Figure{when("meter time", r.MeterTime), when("read at", r.ReadAt), dur("ahead", ahead), dur("tolerance", c.Tolerance)},
	}, true
}

// lateReason explains a read older than its series' window.
func lateReason(s *series, c *Config) Reason {
	newest := s.pts[len(s.pts)-1].t
	return Reason{Code: CodeLate,
		Message:  fmt.Sprintf("older than the values kept of its series (the newest is of %s): not checked against its neighbours or for duplicates", newest.Format(time.RFC3339)),
		Evidence: []Figure{when("newest", newest)},
	}
}
