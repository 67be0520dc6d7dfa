package cluster

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/internal/etcdtest"
)

func TestResume(t *testing.T) {
	slot := time.Date(2026, 12, 7, 12, 15, 0, 0, time.UTC)
	for _, c := range []struct {
		p    Progress
		ok   bool
		want int
	}{
		{Progress{}, false, 0},
		{Progress{Slot: slot, Done: 7}, true, 7},
		{Progress{Slot: slot.Add(-15 * time.Minute), Done: 7}, true, 0},
	} {
		if got := Resume(c.p, c.ok, slot); got != c.want {
			t.Errorf("Resume(%+v, %v) = %d, want %d", c.p, c.ok, got, c.want)
		}
	}
}

func TestOnlyTheOwnerSetsProgress(t *testing.T) {
	srv := etcdtest.Start(t)
	all := items(20)
	a := join(t, srv, srv.Endpoint, "alpha", all, nil)
	b := join(t, srv, srv.Endpoint, "bravo", all, nil)
	waitFor(t, 10*time.Second, "two nodes own the assignment", func() bool { return settled([]*testNode{a, b}, all) == nil })
	it := a.Owned()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	slot := time.Date(2026, 12, 7, 12, 15, 0, 0, time.UTC)
	if _, ok, err := b.Progress(ctx, it); ok || err != nil {
		t.Fatalf("progress before any: ok %v, %v", ok, err)
	}
	if err := a.SetProgress(ctx, it, Progress{Slot: slot, Done: 3, Last: "000000000003"}); err != nil {
		t.Fatal(err)
	}
	if err := b.SetProgress(ctx, it, Progress{Slot: slot, Done: 9}); !isNotOwner(err) {
		t.Fatalf("bravo set alpha's progress: %v", err)
	}
	p, ok, err := b.Progress(ctx, it)
	if err != nil || !ok || p.Done != 3 || p.Node != "alpha" || !p.Slot.Equal(slot) || p.Last != "000000000003" {
		t.Fatalf("progress read by bravo: %+v %v %v", p, ok, err)
	}
}

// poller is a collector in miniature for the progress tests: it polls the
// meters of each item it owns in order, one transaction at a time,
// resuming from the item's progress record and writing it after each
// transaction; it releases items at its safe point, between transactions.
type poller struct {
	slot   time.Time
	meters int

	mu    sync.Mutex
	count map[string][]int // item → requests per meter in the slot
}

func (p *poller) run(tn *testNode, dieMidTransaction <-chan struct{}, died chan<- string) {
	ctx := tn.ctx
	for ctx.Err() == nil {
		busy := false
		for _, it := range tn.Owned() {
			pr, ok, err := tn.Progress(ctx, it)
			if err != nil {
				continue
			}
			for i := Resume(pr, ok, p.slot); i < p.meters && ctx.Err() == nil; i++ {
				if r := tn.Releasable(); len(r) > 0 {
					tn.Release(ctx, r...) // the safe point
				}
				if !tn.Owns(it) {
					break
				}
				busy = true
				p.mu.Lock()
				p.count[it][i]++
				p.mu.Unlock()
				time.Sleep(2 * time.Millisecond) // the transaction on the bus
				select {
				case <-dieMidTransaction:
					died <- fmt.Sprintf("%s meter %d", it, i)
					<-ctx.Done() // SIGKILL: the request went out, the progress never will
					return
				default:
				}
				if err := tn.SetProgress(ctx, it, Progress{Slot: p.slot, Done: i + 1, Last: fmt.Sprintf("%012d", i)}); err != nil {
					break
				}
			}
		}
		if !busy {
			select {
			case <-ctx.Done():
			case <-tn.Changes():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

func (p *poller) done() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.count {
		for _, n := range c {
			if n == 0 {
				return false
			}
		}
	}
	return true
}

// TestTakerResumesWhereTheDeadOwnerStopped kills charlie in the middle of
// a transaction of a slot: alpha and bravo take its items over once its
// lease lapses and resume each from its progress record. Every meter is
// read in the slot; the only meter read twice is the one whose transaction
// was in flight at the kill (its progress was never written), and
// charlie, back in the same slot, reads nothing again.
func TestTakerResumesWhereTheDeadOwnerStopped(t *testing.T) {
	srv := etcdtest.Start(t)
	all := items(9)
	p := &poller{slot: time.Date(2026, 12, 7, 12, 15, 0, 0, time.UTC), meters: 200, count: map[string][]int{}}
	for _, it := range all {
		p.count[it] = make([]int, p.meters)
	}
	die, died := make(chan struct{}), make(chan string, 1)
	var nodes []*testNode
	for _, name := range []string{"alpha", "bravo", "charlie"} {
		nodes = append(nodes, joinWith(t, srv, srv.Endpoint, name, nil, nil))
	}
	seeMembers(t, nodes)
	for _, n := range nodes {
		n.SetItems(all)
	}
	waitFor(t, 10*time.Second, "three nodes own the assignment", func() bool { return settled(nodes, all) == nil })
	c := nodes[2]
	nodes[0].goRun(func() { p.run(nodes[0], nil, nil) })
	nodes[1].goRun(func() { p.run(nodes[1], nil, nil) })
	c.goRun(func() { p.run(c, die, died) })
	cItems := c.Owned()
	waitFor(t, 10*time.Second, "charlie is into the slot", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.count[cItems[0]][10] > 0
	})
	close(die)
	inFlight := <-died
	c.kill()
	killed := time.Now()

	waitFor(t, 5*ttl, "alpha and bravo own charlie's items", func() bool {
		return settled(nodes[:2], all) == nil
	})
	t.Logf("charlie killed mid-transaction: its %d items owned by the others %v later (TTL %v)",
		len(cItems), time.Since(killed).Round(time.Millisecond), ttl)
	waitFor(t, 20*time.Second, "every meter read in the slot", p.done)

	// charlie comes back within the slot: it gets its items back and reads nothing again.
	c2 := joinWith(t, srv, srv.Endpoint, "charlie", all, nil)
	c2.goRun(func() { p.run(c2, nil, nil) })
	for _, n := range nodes[:2] { // their pollers release only while reading: do it here
		n.goRun(func() { n.releaser(n.ctx) })
	}
	waitFor(t, 10*time.Second, "charlie owns its share again", func() bool {
		return settled([]*testNode{nodes[0], nodes[1], c2}, all) == nil
	})
	time.Sleep(100 * time.Millisecond) // let charlie's poller look at its items (it must find them done)

	p.mu.Lock()
	defer p.mu.Unlock()
	var twice []string
	for _, it := range all {
		for i, n := range p.count[it] {
			if n > 1 {
				twice = append(twice, fmt.Sprintf("%s meter %d", it, i))
			}
			if n > 2 {
				t.Errorf("%s meter %d read %d times", it, i, n)
			}
		}
	}
	if len(twice) != 1 || twice[0] != inFlight {
		t.Fatalf("read twice in the slot: %v; only %s, in flight at the kill, should be", twice, inFlight)
	}
	t.Logf("%d items × %d meters: each read once but %s, in flight at the kill", len(all), p.meters, inFlight)
}
