package collector

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/meter"
)

// countingProxy forwards TCP connections to a far end and counts them, so
// that a test sees when the collector connects again.
type countingProxy struct {
	addr     string
	accepted atomic.Int64
	closed   atomic.Int64 // connections the collector closed
}

func newCountingProxy(t *testing.T, to string) *countingProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{addr: l.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			far, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			wg.Go(func() { io.Copy(far, c); p.closed.Add(1); far.Close() })
			wg.Go(func() { io.Copy(c, far); c.Close() })
		}
	})
	return p
}

// Apply with one channel changed reopens that channel alone: the other
// keeps its connection (one connection at its far end across the reload)
// and today's clock sync slots; both are read on the next cycle.
func TestApplyKeepsUnchangedChannels(t *testing.T) {
	sim, cfg := fleet(t, "reload", area("TA", "000041", `{kind: tcp-listen, listen: "127.0.0.1:0"}`)+
		area("TB", "000042", `{kind: tcp-listen, listen: "127.0.0.1:0"}`), "", `  instantaneous: {enabled: true, spec: every 15m, jitter: 0s}
  interval: {enabled: false}
  daily: {enabled: false}
  monthly: {enabled: false}
  clock: {enabled: false}
`)
	start := sim.Fleet.Start().Add(2 * time.Hour)
	sim.Fleet.AdvanceTo(start)
	sim.Step()
	proxies := map[string]*countingProxy{}
	for i := range cfg.Archive.Channels {
		ch := &cfg.Archive.Channels[i]
		p := newCountingProxy(t, ch.Address)
		proxies[ch.ID] = p
		ch.Address = p.addr
	}
	if len(proxies) != 2 {
		t.Fatalf("%d channels", len(proxies))
	}
	a, b := cfg.Archive.Channels[0].ID, cfg.Archive.Channels[1].ID
	clock := &testClock{now: start}
	tasks := make(chan []meter.Read, 100)
	c, err := New(cfg, Options{Clock: clock, Sink: func(rs []meter.Read) { tasks <- rs }})
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
	readAll := func(what string) {
		t.Helper()
		seen := map[string]int{}
		want := len(cfg.Archive.Meters)
		deadline := time.After(20 * time.Second) // failure guard only
		for n := 0; n < want; {
			select {
			case rs := <-tasks:
				if len(rs) > 0 && rs[0].Class == meter.Instantaneous {
					seen[rs[0].Channel]++
					n++
				}
			case <-deadline:
				t.Fatalf("%s: read %v of %d meters", what, seen, want)
			}
		}
		if seen[a] == 0 || seen[b] == 0 {
			t.Fatalf("%s: reads per channel %v", what, seen)
		}
	}
	readAll("first cycle")
	if !c.clocks.syncAllowed(a, start) {
		t.Fatal("a sync slot taken before any sync")
	}

	nc := *cfg
	arch := *cfg.Archive
	arch.Channels = append([]archive.Channel(nil), cfg.Archive.Channels...)
	arch.Channels[1].Timeout = 2 * time.Second // b changes
	nc.Archive = &arch
	ch, err := c.Apply(&nc)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Kept) != 1 || ch.Kept[0] != a || len(ch.Changed) != 1 || ch.Changed[0] != b {
		t.Errorf("changes %+v", ch)
	}
	if c.clocks.syncAllowed(a, start) {
		t.Error("today's clock sync of the kept channel forgotten by the reload")
	}
	clock.Set(start.Add(15 * time.Minute))
	readAll("cycle after the reload")
	if n := proxies[a].accepted.Load(); n != 1 {
		t.Errorf("unchanged channel %s: %d connections, want 1 (kept across the reload)", a, n)
	}
	if n := proxies[b].accepted.Load(); n != 2 {
		t.Errorf("changed channel %s: %d connections, want 2 (reopened)", b, n)
	}
}

// Apply refuses what needs a restart, naming the key.
func TestApplyRefusesRestartKeys(t *testing.T) {
	d := config.Default()
	old := &Config{Collector: d.Collector, Archive: d.Archive}
	nc := *old
	nc.Collector.DataDir = "elsewhere"
	if keys := Restart(old, &nc); len(keys) != 1 || keys[0] != "collector.data_dir" {
		t.Errorf("Restart: %v", keys)
	}
}

// A breaker change rebuilds each bus on its link: the connection stays.
func TestApplyBreakerKeepsConnections(t *testing.T) {
	sim, cfg := fleet(t, "rebus", area("TA", "000043", `{kind: tcp-listen, listen: "127.0.0.1:0"}`), "", `  instantaneous: {enabled: true, spec: every 15m, jitter: 0s}
  interval: {enabled: false}
  daily: {enabled: false}
  monthly: {enabled: false}
  clock: {enabled: false}
`)
	start := sim.Fleet.Start().Add(2 * time.Hour)
	sim.Fleet.AdvanceTo(start)
	sim.Step()
	p := newCountingProxy(t, cfg.Archive.Channels[0].Address)
	cfg.Archive.Channels[0].Address = p.addr
	clock := &testClock{now: start}
	tasks := make(chan []meter.Read, 100)
	c, err := New(cfg, Options{Clock: clock, Sink: func(rs []meter.Read) { tasks <- rs }})
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
	wait := func() {
		t.Helper()
		select {
		case <-tasks:
		case <-time.After(20 * time.Second): // failure guard only
			t.Fatal("no reads")
		}
	}
	wait()
	nc := *cfg
	nc.Collector.Breaker.Failures = 9
	ch, err := c.Apply(&nc)
	if err != nil || len(ch.Rebused) != 1 {
		t.Fatalf("Apply: %+v %v", ch, err)
	}
	clock.Set(start.Add(15 * time.Minute))
	wait()
	if n := p.accepted.Load(); n != 1 {
		t.Errorf("%d connections after a breaker change, want 1", n)
	}
}
