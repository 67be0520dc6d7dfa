package outbox

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/meter"
)

func TestBatchCodecRoundTrip(t *testing.T) {
	for _, rs := range [][]meter.Read{
		oddReads(), batch(7, 3), batch(0, 1),
	} {
		p := appendBatch(nil, rs)
		got, err := decodeBatch(p)
		if err != nil {
			t.Fatal(err)
		}
		assertReadsEqual(t, rs, got)
		if q := appendBatch(nil, got); string(q) != string(p) {
			t.Fatal("re-encoding differs")
		}
	}
}

// Every field of every read survives Append, Close, Open and Drain.
func TestRoundTripThroughDisk(t *testing.T) {
	dir := t.TempDir()
	o := mustOpen(t, dir, Options{})
	want := append(batch(1, 4), oddReads()...)
	if err := o.Append(want); err != nil {
		t.Fatal(err)
	}
	mustClose(t, o)

	o = mustOpen(t, dir, Options{})
	defer mustClose(t, o)
	if n, _ := o.Backlog(); n != 1 {
		t.Fatalf("backlog %d batches, want 1", n)
	}
	st := newFakeStore()
	if err := o.Drain(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if len(st.batches) != 1 {
		t.Fatalf("%d batches delivered", len(st.batches))
	}
	assertReadsEqual(t, want, st.batches[0])
	if n, b := o.Backlog(); n != 0 || b != 0 {
		t.Fatalf("backlog %d, %d after drain", n, b)
	}
}

// Batches come out in order across many segments, across a restart in
// the middle of a segment, each exactly once.
func TestOrderAcrossSegmentsAndRestart(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Sync: SyncNone, SegmentBytes: 4 << 10}
	o := mustOpen(t, dir, opts)
	const n = 300
	appendBatches(t, o, 0, n, 2)
	if len(segFiles(t, dir)) < 10 {
		t.Fatalf("only %d segments", len(segFiles(t, dir)))
	}
	st := newFakeStore()
	ctx, cancel := context.WithCancel(context.Background())
	st.cancel, st.cancelAt = cancel, 137 // stop mid-segment
	if err := o.Drain(ctx, st); !errors.Is(err, context.Canceled) {
		t.Fatalf("drain: %v", err)
	}
	assertInts(t, "first run", st.got(), seq(0, 137))
	if k, _ := o.Backlog(); k != n-137 {
		t.Fatalf("backlog %d, want %d", k, n-137)
	}
	mustClose(t, o)

	o = mustOpen(t, dir, opts)
	defer mustClose(t, o)
	if k, _ := o.Backlog(); k != n-137 {
		t.Fatalf("backlog after reopen %d, want %d", k, n-137)
	}
	st.cancel = nil
	appendBatches(t, o, n, n+5, 2) // appends after a restart follow on
	if err := o.Drain(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	assertInts(t, "delivered", st.got(), seq(0, n+5))
	if len(st.points) != (n+5)*2 {
		t.Fatalf("%d points stored", len(st.points))
	}
	if got := len(segFiles(t, dir)); got != 1 {
		t.Fatalf("%d segments left after a full drain", got)
	}
	if len(o.Recovery()) != 0 {
		t.Fatalf("recovery after a clean close: %v", o.Recovery())
	}
}

// A store that fails, often, loses and reorders nothing; each batch is
// confirmed exactly once, and the back-off is asked for each retry.
func TestStoreFailuresRetried(t *testing.T) {
	var attempts []int
	o := mustOpen(t, t.TempDir(), Options{SegmentBytes: 8 << 10, Backoff: func(a int) time.Duration {
		attempts = append(attempts, a)
		return 0
	}})
	defer mustClose(t, o)
	const n = 60
	appendBatches(t, o, 0, n, 3)
	st := newFakeStore()
	// The first 5 calls fail, then every third from the ninth.
	st.fail = func(c int) bool { return c <= 5 || c > 6 && c%3 == 0 }
	if err := o.Drain(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	assertInts(t, "confirmed", st.got(), seq(0, n))
	if len(st.points) != n*3 {
		t.Fatalf("%d points, want %d", len(st.points), n*3)
	}
	if s := o.Stats(); s.Retries != int64(st.failures) || s.Delivered != n || s.Appended != n {
		t.Fatalf("stats %+v, %d failures", s, st.failures)
	}
	assertInts(t, "first attempts", attempts[:5], seq(1, 6))
	for _, a := range attempts[5:] {
		if a != 1 {
			t.Fatalf("attempt %d after the outage: back-off not reset per batch", a)
		}
	}
}

// At the bound Append says ErrFull and writes nothing; after a drain it
// works again.
func TestFullThenDrain(t *testing.T) {
	dir := t.TempDir()
	rec := int64(len(appendBatch(make([]byte, headerSize), batch(0, 5))))
	opts := Options{MaxBytes: 10*rec + rec/2, SegmentBytes: 3 * rec}
	o := mustOpen(t, dir, opts)
	defer mustClose(t, o)
	appendBatches(t, o, 0, 10, 5)
	if err := o.Append(batch(10, 5)); !errors.Is(err, ErrFull) {
		t.Fatalf("append past the bound: %v", err)
	}
	if k, b := o.Backlog(); k != 10 || b != 10*rec {
		t.Fatalf("backlog %d, %d after ErrFull", k, b)
	}
	if err := o.Append(batch(99, 100)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a batch larger than the outbox: %v", err)
	}
	st := newFakeStore()
	if err := o.Drain(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	// Fill it again: the acknowledged batches make room, all but at most
	// one segment's worth (a segment is reclaimed whole).
	k := 0
	for ; ; k++ {
		err := o.Append(batch(10+k, 5))
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if min := int((opts.MaxBytes - opts.SegmentBytes) / rec); k < min {
		t.Fatalf("only %d appends after a drain, want at least %d", k, min)
	}
	if err := o.Drain(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	appendBatches(t, o, 10+k, 11+k, 5)
	if err := o.Drain(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	assertInts(t, "delivered", st.got(), seq(0, 11+k))
	if s := o.Stats(); s.Full != 2 {
		t.Fatalf("Full = %d, want 2", s.Full)
	}
}

// Run delivers concurrent Appends in the order they returned, with the
// interval sync policy; Close stops it.
func TestRunConcurrent(t *testing.T) {
	dir := t.TempDir()
	o := mustOpen(t, dir, Options{Sync: SyncInterval, SegmentBytes: 16 << 10})
	const writers, each = 4, 50
	st := newFakeStore()
	st.want = writers * each
	st.fail = func(c int) bool { return c%7 == 0 }
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error)
	go func() { ran <- o.Run(ctx, st) }()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := o.Append(batch(w*each+i, 2)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	<-st.done
	cancel()
	if err := <-ran; !errors.Is(err, context.Canceled) {
		t.Fatalf("run: %v", err)
	}
	got := st.got()
	// Each writer's batches in its own order, every batch once.
	next := make([]int, writers)
	for _, b := range got {
		w := b / each
		if b != w*each+next[w] {
			t.Fatalf("writer %d: batch %d out of order (%v)", w, b, got)
		}
		next[w]++
	}
	mustClose(t, o)
	if err := o.Append(batch(0, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	if err := o.Drain(context.Background(), st); !errors.Is(err, ErrClosed) {
		t.Fatalf("drain after close: %v", err)
	}
}

func TestSecondOpenRefused(t *testing.T) {
	dir := t.TempDir()
	o := mustOpen(t, dir, Options{})
	defer mustClose(t, o)
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("a second Open of the same directory succeeded")
	}
}

// Drain gathers consecutive batches into store writes of up to
// DeliverReads reads, stops a group at a segment's end, and still
// delivers every batch once, in order, across segments and a reopen.
func TestDeliverGroups(t *testing.T) {
	dir := t.TempDir()
	o := mustOpen(t, dir, Options{SegmentBytes: 4 << 10, DeliverReads: 10})
	for b := range 30 {
		if err := o.Append(batch(b, 3)); err != nil {
			t.Fatal(err)
		}
	}
	st := newFakeStore()
	var sizes []int
	st.onWrite = func(int) { sizes = append(sizes, len(st.batches[len(st.batches)-1])) }
	if err := o.Drain(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range sizes {
		if n > 12 || n%3 != 0 {
			t.Fatalf("a store write of %d reads: want whole batches, at most 10 reads plus the batch that crossed it (%v)", n, sizes)
		}
		total += n
	}
	if total != 90 || len(sizes) >= 30 {
		t.Fatalf("writes %v: want 90 reads in fewer than 30 writes", sizes)
	}
	if s := o.Stats(); s.Delivered != 30 {
		t.Fatalf("delivered %d batches, want 30", s.Delivered)
	}
	if b, _ := o.Backlog(); b != 0 {
		t.Fatalf("backlog %d after drain", b)
	}
	mustClose(t, o)
	o = mustOpen(t, dir, Options{DeliverReads: 10})
	defer mustClose(t, o)
	if b, _ := o.Backlog(); b != 0 {
		t.Fatalf("backlog %d after reopen: the group's checkpoint was lost", b)
	}
}
