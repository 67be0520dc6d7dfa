package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/headend/headend/internal/etcdtest"
)

func TestOptionsNeedANameAndWholeSeconds(t *testing.T) {
	for _, o := range []Options{{}, {Node: "a/b"}, {Node: "a", TTL: 1500 * time.Millisecond}, {Node: "a", TTL: time.Second},
		{Node: "a", TTL: 2 * time.Second, Margin: 2 * time.Second}} {
		if err := o.fill(); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	o := Options{Node: "a"}
	if err := o.fill(); err != nil || o.TTL != 10*time.Second || o.Prefix != "/headend/cluster/" {
		t.Fatalf("defaults: %+v %v", o, err)
	}
}

func TestNodesShareItemsByTheAssignment(t *testing.T) {
	srv := etcdtest.Start(t)
	all := items(60)
	var nodes []*testNode
	for _, name := range []string{"alpha", "bravo", "charlie"} {
		nodes = append(nodes, join(t, srv, srv.Endpoint, name, all, nil))
	}
	waitFor(t, 10*time.Second, "three nodes own the assignment", func() bool { return settled(nodes, all) == nil })
	for _, n := range nodes {
		t.Logf("%s owns %d of %d", n.Name(), len(n.Owned()), len(all))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := nodes[0].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Members) != 3 || len(st.Owners) != len(all) || len(st.Free) != 0 || st.Self.Fenced {
		t.Fatalf("status: %+v", st)
	}
	total := 0
	for _, m := range st.Members {
		if m.TTL <= 0 || m.TTL > ttl {
			t.Errorf("%s: lease TTL left %v", m.Node, m.TTL)
		}
		total += m.Owns
	}
	if total != len(all) {
		t.Fatalf("status counts %d owned, want %d", total, len(all))
	}
}

// TestJoinHandsOverOnlyTheNewcomersShare starts two nodes, then a third:
// the two release exactly the items the assignment moves to it, at their
// safe points, and no item is owned by two nodes at any moment.
func TestJoinHandsOverOnlyTheNewcomersShare(t *testing.T) {
	srv := etcdtest.Start(t)
	all := items(90)
	a := join(t, srv, srv.Endpoint, "alpha", all, nil)
	b := join(t, srv, srv.Endpoint, "bravo", all, nil)
	waitFor(t, 10*time.Second, "two nodes own the assignment", func() bool { return settled([]*testNode{a, b}, all) == nil })
	before := map[string]string{}
	for _, n := range []*testNode{a, b} {
		for _, it := range n.Owned() {
			before[it] = n.Name()
		}
	}
	stop := overlaps([]*testNode{a, b})
	c := join(t, srv, srv.Endpoint, "charlie", all, nil)
	nodes := []*testNode{a, b, c}
	took := waitFor(t, 10*time.Second, "three nodes own the assignment", func() bool { return settled(nodes, all) == nil })
	if o := stop(); len(o) > 0 {
		t.Fatalf("owned twice at once: %v", o)
	}
	moved := 0
	for _, it := range c.Owned() {
		moved++
		if before[it] == "" {
			t.Errorf("%s was nobody's", it)
		}
	}
	for _, n := range []*testNode{a, b} {
		for _, it := range n.Owned() {
			if before[it] != n.Name() {
				t.Errorf("%s moved from %s to %s, not to the newcomer", it, before[it], n.Name())
			}
		}
	}
	t.Logf("charlie joined: %d of %d items moved to it (1/3 is %d) in %v", moved, len(all), len(all)/3, took.Round(time.Millisecond))
}

// TestCrashedNodesItemsMoveAfterItsLease kills one of three nodes (its
// client closes, its lease is not revoked): the other two own all its items
// once its lease lapses, a TTL after its last renewal. When it comes back
// it gets its share again by handover, never owned twice.
func TestCrashedNodesItemsMoveAfterItsLease(t *testing.T) {
	srv := etcdtest.Start(t)
	all := items(60)
	a := join(t, srv, srv.Endpoint, "alpha", all, nil)
	b := join(t, srv, srv.Endpoint, "bravo", all, nil)
	c := join(t, srv, srv.Endpoint, "charlie", all, nil)
	waitFor(t, 10*time.Second, "three nodes own the assignment", func() bool { return settled([]*testNode{a, b, c}, all) == nil })
	lost := c.Owned()
	stop := overlaps([]*testNode{a, b})
	c.kill()
	took := waitFor(t, 5*ttl, "alpha and bravo own everything", func() bool { return settled([]*testNode{a, b}, all) == nil })
	t.Logf("charlie killed with %d items: alpha and bravo own them %v later (TTL %v)", len(lost), took.Round(time.Millisecond), ttl)

	c2 := join(t, srv, srv.Endpoint, "charlie", all, nil)
	nodes := []*testNode{a, b, c2}
	back := waitFor(t, 10*time.Second, "charlie has its share back", func() bool { return settled(nodes, all) == nil })
	if o := stop(); len(o) > 0 {
		t.Fatalf("owned twice at once: %v", o)
	}
	if got := c2.Owned(); len(got) != len(lost) {
		t.Fatalf("charlie back owns %d items, before %d", len(got), len(lost))
	}
	t.Logf("charlie back: its %d items handed over in %v", len(lost), back.Round(time.Millisecond))
}

// TestLeaveHandsOverAtOnce: a node that leaves (revoking its lease) has
// its items claimed without waiting for a TTL.
func TestLeaveHandsOverAtOnce(t *testing.T) {
	srv := etcdtest.Start(t)
	all := items(30)
	a := join(t, srv, srv.Endpoint, "alpha", all, nil)
	b := join(t, srv, srv.Endpoint, "bravo", all, nil)
	waitFor(t, 10*time.Second, "two nodes own the assignment", func() bool { return settled([]*testNode{a, b}, all) == nil })
	b.stop()
	b.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, ttl, "alpha owns everything within a TTL", func() bool { return settled([]*testNode{a}, all) == nil })
	t.Logf("bravo left: alpha owns its items %v later", took.Round(time.Millisecond))
}

// TestRestartWithinTheTTLWaitsForTheOldLease: a node killed and started
// again at once, under the same name, cannot claim its items while its old
// lease still holds them; it gets them once that lease lapses.
func TestRestartWithinTheTTLWaitsForTheOldLease(t *testing.T) {
	srv := etcdtest.Start(t)
	all := items(30)
	a := join(t, srv, srv.Endpoint, "alpha", all, nil)
	b := join(t, srv, srv.Endpoint, "bravo", all, nil)
	waitFor(t, 10*time.Second, "two nodes own the assignment", func() bool { return settled([]*testNode{a, b}, all) == nil })
	share := len(b.Owned())
	b.kill()
	b2 := join(t, srv, srv.Endpoint, "bravo", all, nil)
	stop := overlaps([]*testNode{a, b2})
	if got := b2.Owned(); len(got) != 0 {
		t.Fatalf("restarted bravo owns %v while its old lease holds them", got)
	}
	took := waitFor(t, 5*ttl, "bravo owns its share again", func() bool { return settled([]*testNode{a, b2}, all) == nil })
	if o := stop(); len(o) > 0 {
		t.Fatalf("owned twice at once: %v", o)
	}
	t.Logf("bravo restarted at once: its %d items back %v later, after its old lease lapsed (TTL %v)", share, took.Round(time.Millisecond), ttl)
}
