package collector

import (
	"time"

	"github.com/headend/headend/collector/health"
	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/collector/terminal"
)

// Status is what the collector reports about itself (GET /status). Its
// JSON keys are snake_case and a time never set is left out. Times are on
// one of two clocks, as Clock says: the collector's (Clock.Now, on which
// reads are stamped and schedules run; a simulator's under headend serve
// --follow) and the host's (keys ending in _host: when a line went up or
// down, when it last carried a byte).
type Status struct {
	Clock    StatusClock     `json:"clock"`
	Rates    []health.Rate   `json:"rates"`
	Channels []ChannelStatus `json:"channels"`
	// Terminals are the Q/GDW 1376.1 terminals of gdw3761 channels, by
	// id; TerminalCounts the listener's counters (gdw.go).
	Terminals      []terminal.Status `json:"terminals,omitempty"`
	TerminalCounts *terminal.Stats   `json:"terminal_counts,omitempty"`
}

// StatusClock names the clocks of a Status.
type StatusClock struct {
	// Now is the collector's clock: schedules, reads, bus.last_success.
	Now time.Time `json:"now"`
	// Simulated reports whether Now is another clock than the host's
	// (a metersim's, under --follow); when false, Now and Host agree.
	Simulated bool `json:"simulated"`
	// Host is the host's clock, that of every key ending in _host.
	Host time.Time `json:"host"`
}

// ChannelStatus is one channel's health.
type ChannelStatus struct {
	ID    string     `json:"id"`
	Link  LinkStatus `json:"link"`
	Bus   BusStatus  `json:"bus"`
	Stray int64      `json:"stray_frames"`
	Bad   int64      `json:"bad_frames"`
	// MeanLatency is the mean time from request to reply on the channel.
	MeanLatency time.Duration `json:"mean_latency_ns"`
	// Whether the line keeps up with its schedules: queue_depth,
	// queue_depth_peak, slots_missed, lag_seconds, lagging,
	// lagging_since (poll.Lag).
	poll.Lag
}

// LinkStatus is the state of a channel's line, on the host's clock.
type LinkStatus struct {
	Online   bool      `json:"online"`
	Since    time.Time `json:"since_host,omitzero"`     // when Online last changed
	LastSeen time.Time `json:"last_seen_host,omitzero"` // last byte received from the bus
	Err      string    `json:"error,omitempty"`         // why it is offline, if it is
}

func linkStatus(s link.State) LinkStatus {
	return LinkStatus{Online: s.Online, Since: s.Since, LastSeen: s.LastSeen, Err: s.Err}
}

// BusStatus is a channel's bus counters ([poll.Stats]).
type BusStatus struct {
	Tasks        int64 `json:"tasks"`
	Transactions int64 `json:"transactions"`
	Retries      int64 `json:"retries"`
	Failed       int64 `json:"failed"`
	Skipped      int64 `json:"skipped"`
	Coalesced    int64 `json:"coalesced"` // scheduled tasks dropped: the meter's previous one was still waiting
	Queued       int   `json:"queued"`
	// LastSuccess is on the collector's clock (StatusClock.Now).
	LastSuccess time.Time `json:"last_success,omitzero"`
}

// busStatus copies s; TestBusStatusHasEveryStat keeps the two in step.
func busStatus(s poll.Stats) BusStatus {
	return BusStatus{Tasks: s.Tasks, Transactions: s.Transactions, Retries: s.Retries, Failed: s.Failed,
		Skipped: s.Skipped, Coalesced: s.Coalesced, Queued: s.Queued, LastSuccess: s.LastSuccess}
}

// simulated reports whether clk is another clock than the host's.
func simulated(clk schedule.Clock) bool {
	switch clk.(type) {
	case nil, schedule.RealClock, *schedule.RealClock:
		return false
	}
	return true
}
