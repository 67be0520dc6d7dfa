package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/headend/headend/internal/etcdtest"
)

// TestCursorFollowsTheOwner: only the owner of an item moves its cursor,
// even a node whose view still says it owns the item after a handover
// (the etcd transaction refuses it); the next owner reads the last cursor
// set, after a handover and after a death.
func TestCursorFollowsTheOwner(t *testing.T) {
	srv := etcdtest.Start(t)
	it := []string{PublishItem}
	// first is the node that loses the item when second joins
	first, second := "alpha", "bravo"
	if Owner([]Member{{Name: first}, {Name: second}}, PublishItem) == first {
		first, second = second, first
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := join(t, srv, srv.Endpoint, first, it, nil)
	waitFor(t, 10*time.Second, first+" owns the item", func() bool { return a.Owns(PublishItem) })
	if _, ok, err := a.Cursor(ctx, PublishItem); ok || err != nil {
		t.Fatalf("cursor before any: ok %v, %v", ok, err)
	}
	if err := a.SetCursor(ctx, PublishItem, 7); err != nil {
		t.Fatal(err)
	}
	b := join(t, srv, srv.Endpoint, second, it, nil)
	waitFor(t, 10*time.Second, second+" takes the item over", func() bool { return b.Owns(PublishItem) })
	if err := a.SetCursor(ctx, PublishItem, 8); !isNotOwner(err) {
		t.Fatalf("%s set the cursor after the handover: %v", first, err)
	}
	// a stale view: the local check passes, the transaction must not
	a.mu.Lock()
	a.owners[PublishItem] = owner{node: a.opt.Node, lease: a.lease}
	delete(a.releasing, PublishItem)
	a.mu.Unlock()
	if !a.Owns(PublishItem) {
		t.Fatal("the stale view did not take")
	}
	if err := a.SetCursor(ctx, PublishItem, 8); !isNotOwner(err) {
		t.Fatalf("%s with a stale view set the cursor: %v", first, err)
	}
	if seq, ok, err := b.Cursor(ctx, PublishItem); err != nil || !ok || seq != 7 {
		t.Fatalf("%s read %d %v %v, want 7", second, seq, ok, err)
	}
	if err := b.SetCursor(ctx, PublishItem, 9); err != nil {
		t.Fatal(err)
	}
	a.kill()
	c := join(t, srv, srv.Endpoint, first+"-2", it, nil)
	b.kill() // as a crash: c claims the item once b's lease lapses
	took := waitFor(t, 3*ttl, "the survivor takes the item", func() bool { return c.Owns(PublishItem) })
	t.Logf("taken over %v after the owner died (ttl %v)", took.Round(time.Millisecond), ttl)
	if seq, ok, err := c.Cursor(ctx, PublishItem); err != nil || !ok || seq != 9 {
		t.Fatalf("the survivor read %d %v %v, want 9", seq, ok, err)
	}
}
