package poll

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/meter"
)

// flaky is a Protocol whose meter answers only while alive, counting
// its transactions.
type flaky struct {
	mu    sync.Mutex
	alive bool
	calls int
}

func (f *flaky) Do(_ context.Context, _ Target, _ Request, base meter.Read) ([]meter.Read, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if !f.alive {
		return nil, errors.New("timeout")
	}
	base.Status = meter.OK
	return []meter.Read{base}, nil
}

func (f *flaky) sent() int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls }

// TestBreakerRestsBacksOffAndOutlivesTheBus: an open breaker sends
// nothing during its rest, measured on the real-time clock however fast
// the collector's clock runs; it probes once when the rest ends, doubles
// the rest after a failed probe up to the maximum, keeps its state in the
// registry across a new Bus (a reload), and closes on success.
func TestBreakerRestsBacksOffAndOutlivesTheBus(t *testing.T) {
	var (
		elapsed = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // real time
		sim     = time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC) // the collector's clock, 1440x
		mu      sync.Mutex
	)
	advance := func(d time.Duration) { mu.Lock(); elapsed = elapsed.Add(d); sim = sim.Add(1440 * d); mu.Unlock() }
	p := &flaky{}
	reg := &Breakers{}
	newBus := func() *Bus {
		return New(p, nil, Options{Retries: 1, BreakAfter: 2, Cooldown: time.Minute, MaxCooldown: 3 * time.Minute, Breakers: reg,
			Now:     func() time.Time { mu.Lock(); defer mu.Unlock(); return sim },
			Elapsed: func() time.Time { mu.Lock(); defer mu.Unlock(); return elapsed },
			Sleep:   func(context.Context, time.Duration) error { return nil }})
	}
	bus := newBus()
	const addr = "000007000001"
	task := func(t *testing.T) []meter.Read {
		t.Helper()
		done := make(chan []meter.Read, 1)
		bus.Enqueue(Task{Target: Target{Address: addr}, Requests: energy(0x00010000, 0x00020000), Done: done})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go bus.Run(ctx)
		select {
		case rs := <-done:
			bus.Stop()
			bus = newBus() // every task on a fresh Bus: the state lives in reg
			return rs
		case <-time.After(10 * time.Second):
			t.Fatal("bus stalled")
		}
		return nil
	}
	step := func(name string, after time.Duration, wantSent int, wantOpen bool, wantRest time.Duration) {
		t.Helper()
		advance(after)
		before := p.sent()
		rs := task(t)
		st := reg.State(addr)
		if got := p.sent() - before; got != wantSent || st.Open != wantOpen || st.Rest != wantRest {
			t.Fatalf("%s: %d transactions (want %d), state %+v (want open %v rest %s), reads %+v", name, got, wantSent, st, wantOpen, wantRest, rs)
		}
	}
	step("closed, first failure", 0, 4, false, 0)
	step("closed, second failure opens", time.Second, 4, true, time.Minute)
	step("resting: simulated day passed, real seconds", 5*time.Second, 0, true, time.Minute)
	step("still resting", 50*time.Second, 0, true, time.Minute)
	step("rest over: one probe, failed, rest doubled", 10*time.Second, 1, true, 2*time.Minute)
	step("resting 2 min", time.Minute, 0, true, 2*time.Minute)
	step("probe fails: rest capped at max", time.Minute, 1, true, 3*time.Minute)
	step("probe fails again: still max", 3*time.Minute, 1, true, 3*time.Minute)
	p.mu.Lock()
	p.alive = true
	p.mu.Unlock()
	step("meter back, still resting", time.Minute, 0, true, 3*time.Minute)
	step("probe succeeds: closed, every request read", 2*time.Minute, 2, false, 0)
	if st := reg.State(addr); st.Failures != 0 {
		t.Fatalf("after success %+v", st)
	}
}
