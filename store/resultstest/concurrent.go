package resultstest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/headend/headend/store"
)

// testConcurrent puts from several goroutines through two stores on one
// database (two nodes), some of them revising the same records, while a
// reader follows the change feed as billing does. The reader must see
// every version exactly once, in Seq order: a version committed after the
// reader passed its Seq would be lost to billing.
func testConcurrent(t *testing.T, f Factory) {
	ctx := context.Background()
	o := f(t)
	clock := NewClock()
	nodes := []store.Results{o(t, clock.Now), o(t, clock.Now)}
	defer nodes[0].Close()
	defer nodes[1].Close()
	const writers, batches, size = 4, 30, 6
	put := make([][]store.Record, writers)
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := nodes[w%2]
			for b := range batches {
				recs := make([]store.Record, 0, size+1)
				for i := range size {
					recs = append(recs, Rec("value", fmt.Sprintf("w%d/b%02d/%d", w, b, i), "D01", 1+b%28, `{}`))
				}
				// a record every writer revises
				recs = append(recs, Rec("loss", fmt.Sprintf("shared%d", b%3), "D01", 1, fmt.Sprintf(`{"w":%d,"b":%d}`, w, b)))
				out, err := s.Put(ctx, recs)
				if err != nil {
					errs <- fmt.Errorf("writer %d batch %d: %w", w, b, err)
					return
				}
				if len(out) != len(recs) {
					errs <- fmt.Errorf("writer %d batch %d: stored %d of %d", w, b, len(out), len(recs))
					return
				}
				put[w] = append(put[w], out...)
			}
		}()
	}
	done := make(chan struct{})
	var seen []store.Record
	reader := make(chan error, 1)
	go func() { // the reader, on the first node
		var cursor int64
		for {
			var finished bool
			select {
			case <-done:
				finished = true // all is committed: one more pass to the end
			default:
			}
			page, err := nodes[0].Since(ctx, cursor, nil, 13)
			if err != nil {
				reader <- fmt.Errorf("reader: %w", err)
				return
			}
			for _, r := range page {
				if r.Seq <= cursor {
					reader <- fmt.Errorf("reader: seq %d after cursor %d", r.Seq, cursor)
					return
				}
				cursor = r.Seq
			}
			seen = append(seen, page...)
			if finished && len(page) == 0 {
				reader <- nil
				return
			}
		}
	}()
	wg.Wait()
	close(done)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := <-reader; err != nil {
		t.Fatal(err)
	}
	if t.Failed() {
		t.FailNow()
	}

	// the whole feed, read after the writers, is what the reader saw
	var all []store.Record
	for cursor := int64(0); ; {
		page, err := nodes[1].Since(ctx, cursor, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		cursor = page[len(page)-1].Seq
	}
	if len(all) != writers*batches*(size+1) {
		t.Fatalf("feed holds %d versions, %d were put", len(all), writers*batches*(size+1))
	}
	if len(seen) != len(all) {
		t.Fatalf("the reader following the feed saw %d versions of %d: it skipped some", len(seen), len(all))
	}
	bySeq := map[int64]store.Record{}
	for i, r := range all {
		if seen[i].Seq != r.Seq || seen[i].Key != r.Key || seen[i].Version != r.Version {
			t.Fatalf("feed[%d] is %s v%d seq %d; the reader saw %s v%d seq %d", i, r.Key, r.Version, r.Seq, seen[i].Key, seen[i].Version, seen[i].Seq)
		}
		bySeq[r.Seq] = r
	}
	for w := range put {
		for _, p := range put[w] {
			if r, ok := bySeq[p.Seq]; !ok || r.Key != p.Key || r.Version != p.Version {
				t.Fatalf("writer %d: put %s v%d as seq %d; the feed has %+v", w, p.Key, p.Version, p.Seq, r)
			}
		}
	}
	// the revised records: one version per put, numbered without a gap
	for j := range 3 {
		h, err := nodes[1].History(ctx, "loss", fmt.Sprintf("shared%d", j))
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for b := range batches {
			if b%3 == j {
				want += writers
			}
		}
		if len(h) != want {
			t.Fatalf("shared%d: %d versions, want %d", j, len(h), want)
		}
		for i, r := range h {
			if r.Version != i+1 || (i > 0 && r.Seq <= h[i-1].Seq) {
				t.Fatalf("shared%d: version %d is %+v", j, i+1, r)
			}
		}
	}
}
