package vee

import (
	"fmt"
	"time"

	"github.com/headend/headend/meter"
)

// clockState is a meter's last known clock error.
type clockState struct {
	known bool
	err   time.Duration // meter − head-end
	at    time.Time     // when it was read
}

// maxClockSeconds bounds a clock error read, so that it fits a Duration.
const maxClockSeconds = 100 * 365 * 24 * 3600

// clockRead is the clock-error check of the collector's "clock error"
// reads (class clock, seconds, meter − head-end): beyond the tolerance
// the read is suspect. It also remembers the error for clockStamp.
func (v *Validator) clockRead(m *meterState, s *series, p *point, set *Settings) (Quality, Reason, bool) {
	secs := p.v.Units
	if p.v.Scale > 0 {
		secs /= pow10[p.v.Scale]
	}
	secs = max(min(secs, maxClockSeconds), -maxClockSeconds)
	e := time.Duration(secs) * time.Second
	m.clock = clockState{known: true, err: e, at: p.t}
	c := &set.Clock
	if !c.applies(p.t) || e.Abs() <= c.Tolerance {
		return "", Reason{}, false
	}
	return Suspect, Reason{Code: CodeClockError,
		Message:  fmt.Sprintf("meter clock %s, beyond the %s tolerance: the values it stamps are suspect until it is set right", offBy(e), c.Tolerance),
		Evidence: []Figure{dur("error", e), dur("tolerance", c.Tolerance), dur("fail", c.Fail)},
	}, true
}

// clockStamp propagates the clock error to the values a meter stamps
// (daily freezes, load-profile records, settlement records): while its
// last known error is beyond the tolerance they are suspect, beyond the
// fail limit failed.
func (v *Validator) clockStamp(m *meterState, r *meter.Read, set *Settings) (Quality, Reason, bool) {
	c := &set.Clock
	if !m.clock.known || r.MeterTime.IsZero() || !c.applies(r.MeterTime) {
		return "", Reason{}, false
	}
	switch r.Class {
	case meter.Interval, meter.Daily, meter.Monthly:
	default:
		return "", Reason{}, false
	}
	e := m.clock.err
	if e.Abs() <= c.Tolerance {
		return "", Reason{}, false
	}
	q, limit := Suspect, c.Tolerance
	if e.Abs() > c.Fail {
		q, limit = Failed, c.Fail
	}
	return q, Reason{Code: CodeClockError,
		Message: fmt.Sprintf("stamped by the meter's clock, %s at its last check (%s), beyond %s: the stamp is not the true time",
			offBy(e), m.clock.at.Format(time.RFC3339), limit),
		Evidence: []Figure{dur("error", e), when("checked at", m.clock.at), dur("limit", limit)},
	}, true
}

func offBy(e time.Duration) string {
	if e < 0 {
		return (-e).String() + " slow"
	}
	return e.String() + " fast"
}
