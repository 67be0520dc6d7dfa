package poll

import (
	"log/slog"
	"time"
)

// Lag is whether a bus keeps up with its schedules. A line that cannot
// finish one cycle's work before the next cycle falls due (a slow
// 2400-baud line with many meters, dead meters' timeouts) misses slots:
// a meter's scheduled task finds the task of its earlier cycle still
// waiting and is dropped (Enqueue). The bus is lagging from its first
// missed slot until its queue is empty again; it logs a WARN when it
// starts lagging and an INFO when it has caught up.
type Lag struct {
	QueueDepth     int   `json:"queue_depth"`      // tasks waiting now
	QueueDepthPeak int   `json:"queue_depth_peak"` // the most tasks waiting at once since the bus started
	SlotsMissed    int64 `json:"slots_missed"`     // scheduled tasks dropped since start: the meter's task of an earlier cycle was still waiting
	// LagSeconds is how long the oldest waiting scheduled task has been
	// due, on the collector's clock (Options.Now); 0 with none waiting.
	LagSeconds   float64   `json:"lag_seconds"`
	Lagging      bool      `json:"lagging"` // slots missed since the queue was last empty
	LaggingSince time.Time `json:"lagging_since,omitzero"`
}

// lagState is a bus's lagging episode; Bus.mu guards it.
type lagState struct {
	peak    int
	lagging bool
	since   time.Time // collector clock
	missed  int64     // Stats.Coalesced when the episode began
}

// Lag returns whether the bus keeps up with its schedules now.
func (b *Bus) Lag() Lag {
	now := b.opts.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	l := Lag{QueueDepth: b.queue.Len(), QueueDepthPeak: b.lag.peak, SlotsMissed: b.stats.Coalesced,
		Lagging: b.lag.lagging, LaggingSince: b.lag.since}
	var oldest time.Time
	for _, q := range b.queue {
		if !q.Urgent && !q.Due.IsZero() && (oldest.IsZero() || q.Due.Before(oldest)) {
			oldest = q.Due
		}
	}
	if !oldest.IsZero() && now.After(oldest) {
		l.LagSeconds = now.Sub(oldest).Seconds()
	}
	return l
}

// lagEvent is a change of the lagging state to log once b.mu is released.
type lagEvent func(*slog.Logger)

// missedSlot records a scheduled task dropped by Enqueue; b.mu held. It
// returns the WARN to log when this begins an episode.
func (b *Bus) missedSlot(t *Task) lagEvent {
	b.stats.Coalesced++
	if b.lag.lagging {
		return nil
	}
	now := b.opts.Now()
	b.lag.lagging, b.lag.since, b.lag.missed = true, now, b.stats.Coalesced-1
	depth, meter, class, due := b.queue.Len(), t.Target.Address, t.Class, t.Due
	return func(log *slog.Logger) {
		log.Warn("line cannot keep up with its schedule: slots missed, the queue grows (slow line, many meters or dead meters' timeouts)",
			"channel", b.opts.Channel, "queue_depth", depth, "meter", meter, "class", class,
			"slot", due.Format(time.DateTime), "now", now.Format(time.DateTime))
	}
}

// queuedNow records the queue's length after a push; b.mu held.
func (b *Bus) queuedNow() {
	if n := b.queue.Len(); n > b.lag.peak {
		b.lag.peak = n
	}
}

// drained ends a lagging episode once the queue is empty; b.mu held.
func (b *Bus) drained() lagEvent {
	if !b.lag.lagging || b.queue.Len() > 0 {
		return nil
	}
	now := b.opts.Now()
	since, missed := b.lag.since, b.stats.Coalesced-b.lag.missed
	b.lag.lagging, b.lag.since = false, time.Time{}
	return func(log *slog.Logger) {
		log.Info("line caught up with its schedule", "channel", b.opts.Channel, "slots_missed", missed,
			"lagged_for", now.Sub(since).String())
	}
}

func (e lagEvent) log(l *slog.Logger) {
	if e != nil {
		e(l)
	}
}
