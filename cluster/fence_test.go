package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/headend/headend/internal/etcdtest"
)

// TestPartitionedNodeStopsBeforeItsItemsMove cuts alpha's link to etcd (a
// proxy holds every byte): alpha must own nothing before etcd deletes its
// owner keys (its lease lapsing), which is the only way bravo can claim
// them. An observer watching etcd directly checks alpha's Owned() at the
// moment it sees the first delete. After the heal alpha finds its lease
// gone, rejoins, and gets its share back.
func TestPartitionedNodeStopsBeforeItsItemsMove(t *testing.T) {
	srv := etcdtest.Start(t)
	proxy := etcdtest.NewProxy(t, srv)
	all := items(40)
	a := join(t, srv, proxy.Endpoint, "alpha", all, nil)
	b := join(t, srv, srv.Endpoint, "bravo", all, nil)
	waitFor(t, 10*time.Second, "two nodes own the assignment", func() bool { return settled([]*testNode{a, b}, all) == nil })
	mine := set(a.Owned())

	// The observer: the first delete of one of alpha's owner keys.
	obs := srv.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wch := obs.Watch(ctx, "/headend/cluster/"+ownerDir, clientv3.WithPrefix())
	type seen struct {
		at         time.Time
		alphaOwned []string
		item       string
	}
	first := make(chan seen, 1)
	go func() {
		for resp := range wch {
			for _, ev := range resp.Events {
				it := strings.TrimPrefix(string(ev.Kv.Key), "/headend/cluster/"+ownerDir)
				if ev.Type == clientv3.EventTypeDelete && mine[it] {
					first <- seen{time.Now(), a.Owned(), it}
					return
				}
			}
		}
	}()

	var fencedAt time.Time
	stopAt := time.Now()
	proxy.Partition()
	waitFor(t, 2*ttl, "alpha fences itself", func() bool {
		if len(a.Owned()) == 0 {
			fencedAt = time.Now()
			return true
		}
		return false
	})
	var s seen
	select {
	case s = <-first:
	case <-time.After(3 * ttl):
		t.Fatal("alpha's owner keys were not deleted within 3 TTLs")
	}
	if len(s.alphaOwned) != 0 {
		t.Fatalf("alpha still owned %v when etcd deleted its key for %s", s.alphaOwned, s.item)
	}
	if !fencedAt.Before(s.at) {
		t.Fatalf("alpha fenced at %v, after its key went at %v", fencedAt, s.at)
	}
	waitFor(t, 2*ttl, "bravo owns everything", func() bool { return settled([]*testNode{b}, all) == nil })
	t.Logf("partition at 0: alpha owned nothing by %v, its lease lapsed by %v (margin seen %v; TTL %v, margin %v)",
		fencedAt.Sub(stopAt).Round(time.Millisecond), s.at.Sub(stopAt).Round(time.Millisecond),
		s.at.Sub(fencedAt).Round(time.Millisecond), ttl, ttl/3)

	proxy.Heal()
	took := waitFor(t, 5*ttl, "alpha rejoins and gets its share back", func() bool { return settled([]*testNode{a, b}, all) == nil })
	t.Logf("healed: alpha back with its share in %v", took.Round(time.Millisecond))
}

// TestFenceDeadlineCountsFromTheRenewalSent drives the node's clock by
// hand: the fence falls at the time the last successful renewal was sent +
// TTL − margin, whatever the server answered later.
func TestFenceDeadlineCountsFromTheRenewalSent(t *testing.T) {
	srv := etcdtest.Start(t)
	proxy := etcdtest.NewProxy(t, srv)
	clk := &fakeClock{now: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}
	t0 := clk.Now()
	margin := 500 * time.Millisecond
	all := items(10)
	a := join(t, srv, proxy.Endpoint, "alpha", all, func(o *Options) { o.Clock = clk; o.Margin = margin })
	waitFor(t, 10*time.Second, "alpha owns everything", func() bool { return len(a.Owned()) == len(all) })
	a.stop() // the test reads Changes itself
	a.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := a.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(ttl - margin); !st.Self.Deadline.Equal(want) {
		t.Fatalf("deadline after the grant %v, want t0 + TTL − margin = %v", st.Self.Deadline, want)
	}

	// A renewal sent at t0+Renew succeeds: the deadline moves to it + TTL − margin.
	renew := ttl / 6
	clk.Advance(renew)
	waitFor(t, 5*time.Second, "the renewal moves the deadline", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.deadline.Equal(t0.Add(renew + ttl - margin))
	})

	// Cut the link; the next renewals hang. The fence falls at exactly the deadline.
	proxy.Partition()
	deadline := t0.Add(renew + ttl - margin)
	clk.Advance(deadline.Sub(clk.Now()) - time.Millisecond)
	if len(a.Owned()) != len(all) {
		t.Fatalf("owns %d of %d a millisecond before the deadline", len(a.Owned()), len(all))
	}
	drain(a.Changes())
	clk.Advance(time.Millisecond)
	if got := a.Owned(); len(got) != 0 {
		t.Fatalf("owns %v at the deadline", got)
	}
	select {
	case <-a.Changes():
	case <-time.After(5 * time.Second):
		t.Fatal("no change signalled at the fence")
	}
	if err := a.SetProgress(ctx, all[0], Progress{}); !isNotOwner(err) {
		t.Fatalf("a fenced node set progress: %v", err)
	}

	// Healed before the server expired the lease (real time is far short
	// of the TTL): the next renewal opens the fence again.
	proxy.Heal()
	waitFor(t, 5*time.Second, "alpha owns everything again", func() bool {
		clk.Advance(renew)
		return len(a.Owned()) == len(all)
	})
}

func drain(c <-chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// TestEtcdStoppedStopsEveryNode stops the etcd process (SIGSTOP): no node
// can renew, so every node owns nothing within a TTL, and after SIGCONT
// they share the items out again.
func TestEtcdStoppedStopsEveryNode(t *testing.T) {
	srv := etcdtest.Start(t)
	all := items(20)
	a := join(t, srv, srv.Endpoint, "alpha", all, nil)
	b := join(t, srv, srv.Endpoint, "bravo", all, nil)
	nodes := []*testNode{a, b}
	waitFor(t, 10*time.Second, "two nodes own the assignment", func() bool { return settled(nodes, all) == nil })
	srv.Pause()
	stopped := waitFor(t, 2*ttl, "both nodes own nothing", func() bool { return len(a.Owned())+len(b.Owned()) == 0 })
	srv.Resume()
	back := waitFor(t, 5*ttl, "the nodes own the assignment again", func() bool { return settled(nodes, all) == nil })
	t.Logf("etcd stopped: both nodes fenced in %v; continued: back in %v", stopped.Round(time.Millisecond), back.Round(time.Millisecond))
}
