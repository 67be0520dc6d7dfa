package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// TerminalCounts are the Q/GDW 1376.1 listener's counters
// (collector/terminal.Stats):
//
//	terminals_online                  terminals logged in now
//	terminal_logins_total             logins accepted
//	terminal_refused_total            connections refused (unknown terminal, no login)
//	terminal_heartbeats_total         heartbeats confirmed
//	terminal_bad_frames_total         malformed frames received from terminals
type TerminalCounts struct {
	Online                                 int
	Logins, Refused, Heartbeats, BadFrames int64
}

type terminals struct {
	online, logins, refused, heartbeats, bad *prometheus.Desc

	mu sync.Mutex
	fn func() (TerminalCounts, bool)
}

func newTerminals() *terminals {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc("headend_"+name, help, nil, nil) }
	return &terminals{
		online:     d("terminals_online", "Q/GDW 1376.1 terminals logged in now."),
		logins:     d("terminal_logins_total", "Q/GDW 1376.1 logins accepted."),
		refused:    d("terminal_refused_total", "Q/GDW 1376.1 connections refused: a terminal not in the archive, or no login first."),
		heartbeats: d("terminal_heartbeats_total", "Q/GDW 1376.1 heartbeats confirmed."),
		bad:        d("terminal_bad_frames_total", "Malformed frames received from Q/GDW 1376.1 terminals."),
	}
}

func (t *terminals) Describe(ch chan<- *prometheus.Desc) {
	ch <- t.online
	ch <- t.logins
	ch <- t.refused
	ch <- t.heartbeats
	ch <- t.bad
}

func (t *terminals) Collect(ch chan<- prometheus.Metric) {
	t.mu.Lock()
	fn := t.fn
	t.mu.Unlock()
	if fn == nil {
		return
	}
	c, ok := fn()
	if !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(t.online, prometheus.GaugeValue, float64(c.Online))
	ch <- prometheus.MustNewConstMetric(t.logins, prometheus.CounterValue, float64(c.Logins))
	ch <- prometheus.MustNewConstMetric(t.refused, prometheus.CounterValue, float64(c.Refused))
	ch <- prometheus.MustNewConstMetric(t.heartbeats, prometheus.CounterValue, float64(c.Heartbeats))
	ch <- prometheus.MustNewConstMetric(t.bad, prometheus.CounterValue, float64(c.BadFrames))
}

// Terminals sets the function that reports the 376.1 listener's counters
// at each scrape, false when there is no listener (nil: none).
func (m *Metrics) Terminals(f func() (TerminalCounts, bool)) {
	if m == nil {
		return
	}
	m.terms.mu.Lock()
	m.terms.fn = f
	m.terms.mu.Unlock()
}
