package daemon

import (
	"github.com/headend/headend/collector"
	"github.com/headend/headend/collector/metrics"
)

// terminalCounts are the 376.1 listener's counters for /metrics.
func terminalCounts(c *collector.Collector) (metrics.TerminalCounts, bool) {
	if c == nil {
		return metrics.TerminalCounts{}, false
	}
	l := c.Terminals()
	if l == nil {
		return metrics.TerminalCounts{}, false
	}
	s := l.Stats()
	return metrics.TerminalCounts{Online: s.Online, Logins: s.Logins, Refused: s.Refused, Heartbeats: s.Heartbeats, BadFrames: s.BadFrames}, true
}
