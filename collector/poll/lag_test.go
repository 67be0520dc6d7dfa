package poll

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/meter"
)

// slowLine is a line where every transaction takes 10 s of the injected
// clock, and a schedule puts one task per meter on the bus every
// interval (as collector/schedule does), until the clock reaches stop.
type slowLine struct {
	mu       sync.Mutex
	now      time.Time
	next     time.Time // the next cycle's slot
	interval time.Duration
	meters   int
	stop     time.Time
	bus      *Bus
	cancel   context.CancelFunc
	until    func(*Bus) bool // ends the run when true after a transaction
}

func (l *slowLine) Now() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.now
}

// fire enqueues every cycle due by now.
func (l *slowLine) fire() {
	l.mu.Lock()
	var slots []time.Time
	for !l.next.After(l.now) && l.next.Before(l.stop) {
		slots = append(slots, l.next)
		l.next = l.next.Add(l.interval)
	}
	l.mu.Unlock()
	for _, at := range slots {
		for i := range l.meters {
			l.bus.Enqueue(Task{Target: Target{Address: fmt.Sprintf("%012d", i)}, Class: meter.Instantaneous, Due: at,
				Requests: []Request{{DI: 0x02010100}}})
		}
	}
}

func (l *slowLine) Do(_ context.Context, t Target, rq Request, base meter.Read) ([]meter.Read, error) {
	l.mu.Lock()
	l.now = l.now.Add(10 * time.Second)
	l.mu.Unlock()
	l.fire()
	if l.bus.Stats().Queued == 0 {
		// the line is idle until the next cycle falls due
		l.mu.Lock()
		if l.next.Before(l.stop) {
			l.now = l.next
		}
		l.mu.Unlock()
		l.fire()
	}
	if l.until(l.bus) {
		l.cancel()
	}
	base.Status, base.ReadAt = meter.OK, l.Now()
	return []meter.Read{base}, nil
}

func runSlowLine(t *testing.T, meters int, log *slog.Logger) (*slowLine, Lag) {
	t.Helper()
	t0 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	l := &slowLine{now: t0, next: t0, interval: time.Minute, meters: meters, stop: t0.Add(5 * time.Minute)}
	l.bus = New(l, nil, Options{Channel: "SLOW-1", Now: l.Now, Retries: -1, Logger: log})
	var atStop Lag
	l.until = func(b *Bus) bool {
		l.mu.Lock()
		scheduling := l.next.Before(l.stop)
		l.mu.Unlock()
		if scheduling {
			return false
		}
		if atStop.QueueDepthPeak == 0 {
			atStop = b.Lag() // the schedule ends: what /status showed then
		}
		return b.Stats().Queued == 0 // run until the line has caught up
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	l.fire()
	done := make(chan error, 1)
	go func() { done <- l.bus.Run(ctx) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the bus did not get through its queue")
	}
	return l, atStop
}

// A line whose schedule asks more than it can do (10 meters, 10 s a
// transaction, every minute) misses slots, its queue grows and its
// oldest task is due for longer and longer: Lag says so, and the bus
// warns once when it starts lagging and tells when it has caught up.
// The same line with 5 meters keeps up: no slot missed, no warning.
func TestLaggingLineShown(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	_, lag := runSlowLine(t, 10, log)
	if lag.SlotsMissed == 0 || !lag.Lagging || lag.LaggingSince.IsZero() {
		t.Errorf("at the end of the schedule: %+v, want slots missed and lagging", lag)
	}
	// a meter's task waits once (a later cycle's is dropped): the queue
	// grows to every meter of the line
	if lag.QueueDepth == 0 || lag.QueueDepthPeak != 10 {
		t.Errorf("at the end of the schedule: queue %d (peak %d), want it grown to the 10 meters", lag.QueueDepth, lag.QueueDepthPeak)
	}
	if lag.LagSeconds < 60 {
		t.Errorf("at the end of the schedule: oldest task due for %.0f s, want at least the 60 s interval", lag.LagSeconds)
	}
	if n := strings.Count(logs.String(), "line cannot keep up with its schedule"); n != 1 {
		t.Errorf("%d WARNs of a lagging line, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "channel=SLOW-1") {
		t.Errorf("the lagging line's log does not warn naming the channel:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "line caught up with its schedule") {
		t.Errorf("no INFO once the line caught up:\n%s", logs.String())
	}

	logs.Reset()
	l, lag := runSlowLine(t, 5, log)
	if lag.SlotsMissed != 0 || lag.Lagging || logs.Len() != 0 {
		t.Errorf("a line that keeps up: %+v, log %q", lag, logs.String())
	}
	if after := l.bus.Lag(); after.Lagging || after.QueueDepth != 0 || after.LagSeconds != 0 {
		t.Errorf("after the queue drained: %+v", after)
	}
}
