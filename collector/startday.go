package collector

import (
	"time"

	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/collector/settings"
	"github.com/headend/headend/meter"
)

// boundaryWindow is how long after midnight a register read of a meter
// that keeps no freezes still stands for 00:00 in a day's balance: the
// line-loss boundary tolerance (analysis.loss.tolerance, 3 h by default).
const boundaryWindow = 3 * time.Hour

// readMissedBoundary enqueues, when the head-end starts after today's
// daily read fell due but within boundaryWindow of midnight, the daily
// read of every meter of channels that keeps no freezes (DL/T 645-1997,
// Modbus). The scheduler runs only the cycles to come and no freeze holds
// such a meter's 00:00 registers: without this read a start at 01:00 loses
// them, and with them the balances of the day before and of the start's
// own day. A meter whose jittered slot is still to come today is read
// again then (the read nearest midnight stands for it).
func (c *Collector) readMissedBoundary(channels []*channel) {
	now := c.opts.Clock.Now().In(c.config().Collector.Location())
	since := now.Sub(freezeDay(now))
	d := c.config().Collector.Daily
	if !d.Enabled || d.Spec.Kind != settings.SpecDaily || since <= d.Spec.At || since >= boundaryWindow {
		return
	}
	plan := c.config().Collector.Plan.Reading()
	n := 0
	for _, ch := range channels {
		for _, m := range c.index().MetersOnChannel(ch.id) {
			if hasFreezes(m) {
				continue
			}
			t := target(m)
			if ch.bus.Enqueue(poll.Task{Target: t, Class: meter.Daily, Due: c.opts.Clock.Now(), Requests: plan.DailyRequests(t, now)}) {
				n++
			}
		}
	}
	if n > 0 {
		c.log.Info("daily read of meters without freezes at start", "meters", n, "since_midnight", since.Round(time.Minute).String())
	}
}
