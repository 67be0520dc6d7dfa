package persist

import (
	"context"
	"github.com/headend/headend/internal/testenv"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/outbox"
	"github.com/headend/headend/store/sqlite"
)

// waitFor waits, up to a bound, for cond on real I/O.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// With the outbox and the embedded store on one small filesystem that
// fills up, Accept blocks (the bus waits) instead of dropping, Status
// says why, and once space returns every batch reaches the store exactly
// once.
func TestDiskFullBlocksThenDeliversEverything(t *testing.T) {
	dir := testenv.SmallDisk(t, 16<<20)
	if err := os.Mkdir(filepath.Join(dir, "store"), 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(dir, "store", "headend.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ob, err := outbox.Open(filepath.Join(dir, "outbox"), outbox.Options{MaxBytes: 8 << 20, SegmentBytes: 256 << 10,
		Backoff: func(int) time.Duration { return 5 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := New(ctx, ob, st, Options{Retry: 5 * time.Millisecond})

	// The first batches wait in the outbox while the disk fills, so that
	// their delivery meets the full disk too.
	const perBatch, before, total = 40, 10, 60
	for i := range before {
		p.Accept(batch(perBatch, i))
	}
	filler := filepath.Join(dir, "filler")
	testenv.Fill(t, filler)
	go p.Run(ctx)
	returned := make(chan int, total)
	go func() {
		for i := before; i < total; i++ {
			p.Accept(batch(perBatch, i))
			returned <- i
		}
		close(returned)
	}()
	waitFor(t, "Status to show the outbox cannot take reads", func() bool { return p.Status().Full })
	waitFor(t, "a store write failing on the full disk", func() bool { return p.Status().Retries > 0 })
	s := p.Status()
	if s.FullReason == "" || s.FullSince.IsZero() || s.Lost != 0 {
		t.Fatalf("status while the disk is full = %+v: want full with a reason and a time, nothing lost", s)
	}
	t.Logf("while full: reason %q, outbox error %q, store error %q, reserve %d", s.FullReason, s.OutboxError, s.StoreError, s.Reserve)
	// The producer is held back: at most the batches that fitted before
	// the disk filled have returned.
	n := len(returned)
	if n == total-before {
		t.Fatalf("all %d batches returned from Accept on a full disk", n)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for range returned {
	}
	waitFor(t, "the backlog to reach the store", func() bool { return p.Status().BacklogBatches == 0 })
	s = p.Status()
	if s.Full || s.Lost != 0 || s.Accepted != total*perBatch {
		t.Fatalf("status after space returned = %+v: want not full, nothing lost, %d accepted", s, total*perBatch)
	}
	if s.Blocked == 0 || len(s.BlockedBy) == 0 {
		t.Fatalf("status after space returned = %+v: want the blocked waits counted by reason", s)
	}
	got, err := st.Query(ctx, store.Query{Class: meter.Interval})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[store.Key]int{}
	for i := range got {
		seen[store.KeyOf(&got[i])]++
	}
	for i := range total {
		for _, r := range batch(perBatch, i) {
			if c := seen[store.KeyOf(&r)]; c != 1 {
				t.Fatalf("batch %d meter %s: stored %d times, want once", i, r.Meter, c)
			}
		}
	}
	if len(got) != total*perBatch {
		t.Fatalf("store holds %d reads, want %d", len(got), total*perBatch)
	}
}
