package collector

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/meter"
)

// setOwnership owns the channels of a set the test changes; Idle tells
// the test which channels the collector left idle.
type setOwnership struct {
	mu      sync.Mutex
	owned   map[string]bool
	changes chan struct{}
	idle    chan string
}

func (o *setOwnership) Owns(ch string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.owned[ch]
}

func (o *setOwnership) Changes() <-chan struct{} { return o.changes }

func (o *setOwnership) Idle(ch string) { o.idle <- ch }

func (o *setOwnership) set(chs ...string) {
	o.mu.Lock()
	o.owned = map[string]bool{}
	for _, ch := range chs {
		o.owned[ch] = true
	}
	o.mu.Unlock()
	o.changes <- struct{}{}
}

// An Ownership decides which channels are open: the collector opens only
// the owned one, reads only its meters, and when ownership moves closes
// the lost channel, opens the gained one and tells the idle ones.
func TestOwnershipOpensOnlyOwnedChannels(t *testing.T) {
	sim, cfg := fleet(t, "own", area("OA", "000051", `{kind: tcp-listen, listen: "127.0.0.1:0"}`)+
		area("OB", "000052", `{kind: tcp-listen, listen: "127.0.0.1:0"}`), "", `  instantaneous: {enabled: true, spec: every 15m, jitter: 0s}
  interval: {enabled: false}
  daily: {enabled: false}
  monthly: {enabled: false}
  clock: {enabled: false}
`)
	start := sim.Fleet.Start().Add(2 * time.Hour)
	sim.Fleet.AdvanceTo(start)
	sim.Step()
	a, b := cfg.Archive.Channels[0].ID, cfg.Archive.Channels[1].ID
	own := &setOwnership{owned: map[string]bool{a: true}, changes: make(chan struct{}, 1), idle: make(chan string, 16)}
	clock := &testClock{now: start}
	tasks := make(chan []meter.Read, 100)
	c, err := New(cfg, Options{Clock: clock, Sink: func(rs []meter.Read) { tasks <- rs }, Ownership: own})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	waitIdle := func(want string) {
		t.Helper()
		select {
		case ch := <-own.idle:
			if ch != want {
				t.Fatalf("idle %s, want %s", ch, want)
			}
		case <-time.After(20 * time.Second): // failure guard only
			t.Fatalf("no Idle(%s)", want)
		}
	}
	readOnly := func(ch string) {
		t.Helper()
		want := 0
		for _, m := range cfg.Archive.Meters {
			if m.Channel == ch {
				want++
			}
		}
		deadline := time.After(20 * time.Second) // failure guard only
		for n := 0; n < want; {
			select {
			case rs := <-tasks:
				if len(rs) > 0 && rs[0].Class == meter.Instantaneous {
					if rs[0].Channel != ch {
						t.Fatalf("read on %s, owned only %s", rs[0].Channel, ch)
					}
					n++
				}
			case <-deadline:
				t.Fatalf("read %d of %d meters of %s", n, want, ch)
			}
		}
	}
	open := func() []string {
		var ids []string
		for _, ch := range c.Status().Channels {
			ids = append(ids, ch.ID)
		}
		return ids
	}

	waitIdle(b) // the first pass after Run opened the channels
	if ids := open(); !slices.Equal(ids, []string{a}) {
		t.Fatalf("open channels %v, own %s", ids, a)
	}
	readOnly(a)

	own.set(b)
	waitIdle(a) // told once a is closed and b open
	if ids := open(); !slices.Equal(ids, []string{b}) {
		t.Fatalf("open channels %v, own %s", ids, b)
	}
	clock.Set(start.Add(15 * time.Minute))
	readOnly(b)

	own.set() // the fence: nothing owned
	waitIdle(a)
	waitIdle(b)
	if ids := open(); len(ids) != 0 {
		t.Fatalf("open channels %v, own none", ids)
	}
}
