package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/headend/headend/internal/etcdtest"
)

const ttl = 2 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testNode is a Node with its own etcd client, and the poller's part: it
// releases what it should at its safe points.
type testNode struct {
	*Node
	cli  *clientv3.Client
	ctx  context.Context // the poller's; kill cancels it
	stop context.CancelFunc
	wg   sync.WaitGroup // its releaser or poller
	once sync.Once
}

// goRun runs f (a releaser, a poller) until kill.
func (tn *testNode) goRun(f func()) {
	tn.wg.Add(1)
	go func() {
		defer tn.wg.Done()
		f()
	}()
}

func join(t *testing.T, srv *etcdtest.Server, endpoint, name string, items []string, mod func(*Options)) *testNode {
	t.Helper()
	tn := joinWith(t, srv, endpoint, name, items, mod)
	tn.goRun(func() { tn.releaser(tn.ctx) })
	return tn
}

// joinWith joins without starting a releaser: the caller runs its own.
func joinWith(t *testing.T, srv *etcdtest.Server, endpoint, name string, items []string, mod func(*Options)) *testNode {
	t.Helper()
	cli := srv.Client(t, endpoint)
	o := Options{Node: name, TTL: ttl, Logger: quiet}
	if mod != nil {
		mod(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := Join(ctx, cli, o)
	if err != nil {
		t.Fatalf("join %s: %v", name, err)
	}
	if items != nil {
		n.SetItems(items)
	}
	tn := &testNode{Node: n, cli: cli}
	tn.ctx, tn.stop = context.WithCancel(context.Background())
	t.Cleanup(tn.kill)
	return tn
}

// releaser is the collector's side of a handover: at every change (and
// every 50 ms, its poll cycle) it releases what should be another's.
func (tn *testNode) releaser(ctx context.Context) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tn.Changes():
		case <-tick.C:
		}
		if r := tn.Releasable(); len(r) > 0 {
			tn.Release(ctx, r...)
		}
	}
}

// kill ends the node as SIGKILL would: its loops stop, its client closes,
// its lease is not revoked.
func (tn *testNode) kill() {
	tn.once.Do(func() {
		tn.stop()
		tn.wg.Wait()
		tn.cli.Close()
		tn.Node.Close()
	})
}

func items(n int) []string {
	out := make([]string, n)
	for i := range out {
		if i%3 == 2 {
			out[i] = ChannelItem(fmt.Sprintf("T4401%05d", i))
		} else {
			out[i] = ChannelItem(fmt.Sprintf("bus-%02d", i))
		}
	}
	return out
}

// waitFor polls cond every 10 ms until it holds, failing after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// settled reports whether the nodes own exactly the assignment over
// themselves, every item once.
func settled(nodes []*testNode, all []string) error {
	ms := make([]Member, len(nodes))
	for i, n := range nodes {
		ms[i] = Member{Name: n.Name()}
	}
	want := Assign(ms, all)
	seen := map[string]string{}
	for _, n := range nodes {
		for _, it := range n.Owned() {
			if o, dup := seen[it]; dup {
				return fmt.Errorf("%s owned by %s and %s", it, o, n.Name())
			}
			seen[it] = n.Name()
		}
	}
	for _, it := range all {
		if seen[it] != want[it] {
			return fmt.Errorf("%s owned by %q, the assignment says %q", it, seen[it], want[it])
		}
	}
	return nil
}

// overlaps watches nodes until stop, recording every item two of them
// own at once (seen in A, then B, then A again, so that a handover
// between two reads does not count).
func overlaps(nodes []*testNode) (stop func() []string) {
	var mu sync.Mutex
	var found []string
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			default:
			}
			for i, a := range nodes {
				first := set(a.Owned())
				for _, b := range nodes[i+1:] {
					for _, it := range b.Owned() {
						if first[it] && a.Owns(it) {
							mu.Lock()
							found = append(found, fmt.Sprintf("%s: %s and %s", it, a.Name(), b.Name()))
							mu.Unlock()
						}
					}
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	return func() []string {
		close(quit)
		<-done
		mu.Lock()
		defer mu.Unlock()
		sort.Strings(found)
		return found
	}
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// fakeClock is a Clock the test moves by hand.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

func isNotOwner(err error) bool { return errors.Is(err, ErrNotOwner) }

// seeMembers waits until every node sees every node as a member.
func seeMembers(t *testing.T, nodes []*testNode) {
	t.Helper()
	waitFor(t, 10*time.Second, "every node sees every member", func() bool {
		for _, n := range nodes {
			n.mu.Lock()
			k := len(n.members)
			n.mu.Unlock()
			if k != len(nodes) {
				return false
			}
		}
		return true
	})
}
