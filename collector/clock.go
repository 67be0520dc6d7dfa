package collector

import (
	"fmt"
	"sync"
	"time"

	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// clockCheck turns a clock task's date and time reads into the meter's
// clock error, and decides what to do about it (DOMAIN.md section 2):
// within the tolerance nothing; up to the broadcast limit a broadcast
// time sync on the meter's bus, at most once a day per bus and never
// within a quarter hour of midnight, when meters freeze; beyond it a
// flag for a person, never a forced write.
type clockCheck struct {
	tolerance, maxCorrection time.Duration
	loc                      *time.Location

	mu     sync.Mutex
	synced map[string]string // bus -> day of its last broadcast sync
}

// ClockError is what a clock check found.
type ClockError struct {
	Error time.Duration // meter clock − head-end clock
	Sync  bool          // a broadcast sync is due on the meter's bus
	Flag  bool          // beyond what a broadcast may correct: for a person
}

// check reads a clock task's reads: it appends the clock error as a read
// and says what to do.
func (c *clockCheck) check(reads []meter.Read) ([]meter.Read, ClockError, bool) {
	meterAt, ours, clock, ok := c.joined(reads)
	if !ok {
		return reads, ClockError{}, false
	}
	if inFreezeWindow(ours) {
		// a clock task run late, on a busy line, into the freeze: meters
		// are busy freezing then; no clock error is taken (the next
		// day's check falls outside it)
		return reads, ClockError{}, false
	}
	e := meterAt.Sub(ours).Round(time.Second)
	out := ClockError{Error: e}
	abs := e.Abs()
	switch {
	case abs <= c.tolerance:
	case abs <= c.maxCorrection:
		out.Sync = true
	default:
		out.Flag = true
	}
	r := clock
	r.DI, r.Quantity, r.Unit, r.Text = 0, "clock error", "s", ""
	r.Value = dlt645.Decimal{Units: int64(e / time.Second)}
	r.MeterTime = meterAt
	if out.Flag {
		r.Err = fmt.Sprintf("clock %s off, beyond the %s a broadcast may correct: needs a person (authorised write)", e, c.maxCorrection)
	}
	return append(reads, r), out, true
}

// joined joins a clock task's date and time reads into the meter's time,
// and says when the head-end read it (when the time read arrived).
func (c *clockCheck) joined(reads []meter.Read) (meterAt, ours time.Time, clock meter.Read, ok bool) {
	var date, clk *meter.Read
	for i := range reads {
		switch reads[i].DI {
		case 0x04000101, 0xC010:
			date = &reads[i]
		case 0x04000102, 0xC011:
			clk = &reads[i]
		}
	}
	if date == nil || clk == nil || date.Status != meter.OK || clk.Status != meter.OK {
		return
	}
	var y, mo, d, w, h, m, s int
	if _, err := fmt.Sscanf(date.Text, "%d-%d-%d W%d", &y, &mo, &d, &w); err != nil {
		return
	}
	if _, err := fmt.Sscanf(clk.Text, "%d:%d:%d", &h, &m, &s); err != nil {
		return
	}
	return time.Date(y, time.Month(mo), d, h, m, s, 0, c.loc), clk.ReadAt.In(c.loc), *clk, true
}

// syncAllowed reports whether bus may get a broadcast sync at now, and
// takes today's slot if so.
func (c *clockCheck) syncAllowed(bus string, now time.Time) bool {
	now = now.In(c.loc)
	if inFreezeWindow(now) {
		return false
	}
	day := now.Format(time.DateOnly)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.synced[bus] == day {
		return false
	}
	c.synced[bus] = day
	return true
}

// syncTask is the broadcast that corrects the clocks on a bus.
func syncTask(t poll.Target) poll.Task {
	return poll.Task{Target: t, Class: meter.Clock, Urgent: true, Requests: []poll.Request{{TimeSync: true}}}
}

// freezeWindow is how close to midnight no clock is checked or set:
// meters freeze at 00:00 (DOMAIN.md section 2).
const freezeWindow = 15 * time.Minute

// inFreezeWindow reports whether t lies in 23:45..00:15 of its own day.
func inFreezeWindow(t time.Time) bool {
	tod := t.Sub(time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location()))
	return tod < freezeWindow || tod > 24*time.Hour-freezeWindow
}
