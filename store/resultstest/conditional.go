package resultstest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/headend/headend/store"
)

// testPutIf holds a store.ConditionalResults to its conditions: a put if
// absent, a put if at version v, a conflict that stores nothing, and a
// race of several writers on two stores (two nodes) for one new key of
// which exactly one wins. A backend that is not conditional skips it.
func testPutIf(t *testing.T, f Factory) {
	ctx := context.Background()
	s, reopen, clock := open(t, f)
	defer s.Close()
	c, ok := s.(store.ConditionalResults)
	if !ok {
		t.Skip("the backend has no conditional put")
	}
	out, err := c.PutIf(ctx, Rec("correction", "C1", "D01", 1, `{"s":"proposed"}`), 0)
	if err != nil || len(out) != 1 || out[0].Version != 1 {
		t.Fatalf("put if absent: %+v %v", out, err)
	}
	if _, err := c.PutIf(ctx, Rec("correction", "C1", "D01", 1, `{"s":"other"}`), 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("put if absent on a present record: %v, want ErrConflict", err)
	}
	if _, err := c.PutIf(ctx, Rec("correction", "C1", "D01", 1, `{"s":"other"}`), 2); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("put if version 2 at version 1: %v, want ErrConflict", err)
	}
	out, err = c.PutIf(ctx, Rec("correction", "C1", "D01", 1, `{"s":"approved"}`), 1)
	if err != nil || len(out) != 1 || out[0].Version != 2 {
		t.Fatalf("put if version 1: %+v %v", out, err)
	}
	if _, err := c.PutIf(ctx, Rec("correction", "C1", "D01", 1, `{"s":"rejected"}`), 1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second decision at version 1: %v, want ErrConflict", err)
	}
	if h, err := s.History(ctx, "correction", "C1"); err != nil || len(h) != 2 || string(h[1].Body) != `{"s":"approved"}` {
		t.Fatalf("history after the conflicts: %+v %v", h, err)
	}

	// Two nodes, eight writers, each wanting the same new key.
	other := reopen(t, clock.Now).(store.ConditionalResults)
	defer other.Close()
	nodes := []store.ConditionalResults{c, other}
	const writers = 8
	var wg sync.WaitGroup
	wins, conflicts := make(chan int, writers), make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := nodes[w%2].PutIf(ctx, Rec("correction", "C2", "D01", 1, fmt.Sprintf(`{"w":%d}`, w)), 0)
			switch {
			case err == nil:
				wins <- w
			case errors.Is(err, store.ErrConflict):
			default:
				conflicts <- err
			}
		}()
	}
	wg.Wait()
	close(wins)
	close(conflicts)
	for err := range conflicts {
		t.Errorf("racing put: %v", err)
	}
	var won []int
	for w := range wins {
		won = append(won, w)
	}
	if len(won) != 1 {
		t.Fatalf("writers %v won the race for one new key, want exactly one", won)
	}
	if h, err := s.History(ctx, "correction", "C2"); err != nil || len(h) != 1 || string(h[0].Body) != fmt.Sprintf(`{"w":%d}`, won[0]) {
		t.Fatalf("history of the raced key: %+v %v (winner %d)", h, err, won[0])
	}
}
