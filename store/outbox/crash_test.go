package outbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// written returns a closed outbox directory holding batches 0..n-1 of
// size reads each.
func written(t *testing.T, n, size int, opts Options) string {
	t.Helper()
	dir := t.TempDir()
	o := mustOpen(t, dir, opts)
	appendBatches(t, o, 0, n, size)
	mustClose(t, o)
	return dir
}

// recovered opens dir, drains it and returns the batches delivered and the
// recovery report, after checking a new Append still works and follows.
func recovered(t *testing.T, dir string) ([]int, []*CorruptError) {
	t.Helper()
	o := mustOpen(t, dir, Options{})
	defer mustClose(t, o)
	rep := o.Recovery()
	st := newFakeStore()
	if err := o.Drain(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	got := st.got()
	if err := o.Append(batch(1000, 1)); err != nil {
		t.Fatal(err)
	}
	if err := o.Drain(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if all := st.got(); all[len(all)-1] != 1000 || len(all) != len(got)+1 {
		t.Fatalf("after recovery, an append is not delivered last: %v", all)
	}
	return got, rep
}

// A crash mid-write leaves a torn last record: at every byte it can be
// cut at, reopening keeps everything before it and drops it, reported.
func TestTornTailEveryOffset(t *testing.T) {
	const n = 5
	src := written(t, n, 2, Options{Sync: SyncNone})
	segs := segFiles(t, src)
	if len(segs) != 1 {
		t.Fatalf("%d segments", len(segs))
	}
	whole, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	last := len(appendBatch(make([]byte, headerSize), batch(n-1, 2)))
	start := len(whole) - last
	for cut := start; cut < len(whole); cut++ {
		dir := copyDir(t, src)
		seg := filepath.Join(dir, filepath.Base(segs[0]))
		if err := os.Truncate(seg, int64(cut)); err != nil {
			t.Fatal(err)
		}
		got, rep := recovered(t, dir)
		assertInts(t, "kept", got, seq(0, n-1))
		if cut == start {
			if len(rep) != 0 {
				t.Fatalf("a cut between records reported %v", rep)
			}
			continue
		}
		if len(rep) != 1 || !errors.Is(rep[0], ErrCorrupt) || !errors.Is(rep[0], errTorn) ||
			rep[0].Offset != int64(start) || rep[0].Dropped != int64(cut-start) {
			t.Fatalf("cut at %d: report %v", cut, rep)
		}
	}
}

// A flipped byte anywhere in a record is caught by its length or its
// checksum; the records before it are kept, in order.
func TestFlippedByteDetected(t *testing.T) {
	const n = 6
	src := written(t, n, 1, Options{Sync: SyncNone})
	seg := segFiles(t, src)[0]
	whole, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	reclen := len(whole) / n // all records are the same size
	for _, r := range []int{n - 1, 2} {
		start := r * reclen
		for i := start; i < start+reclen; i++ {
			dir := copyDir(t, src)
			b := append([]byte(nil), whole...)
			b[i] ^= 0x5A
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(seg)), b, 0o640); err != nil {
				t.Fatal(err)
			}
			got, rep := recovered(t, dir)
			if len(rep) != 1 || rep[0].Offset != int64(start) {
				t.Fatalf("byte %d of record %d flipped: report %v", i-start, r, rep)
			}
			// The rest of that segment goes with it (with SyncEvery only a
			// tail can be torn; a flip inside is the disk's doing, and is
			// reported).
			assertInts(t, "kept", got, seq(0, r))
		}
	}
}

// A bad record in an older segment cuts only that segment.
func TestCorruptOlderSegment(t *testing.T) {
	rec := len(appendBatch(make([]byte, headerSize), batch(0, 1)))
	src := written(t, 9, 1, Options{Sync: SyncNone, SegmentBytes: int64(3 * rec)})
	segs := segFiles(t, src)
	if len(segs) != 3 {
		t.Fatalf("%d segments", len(segs))
	}
	b, err := os.ReadFile(segs[1])
	if err != nil {
		t.Fatal(err)
	}
	b[rec+headerSize+3] ^= 1 // the second record of the second segment: batch 4
	dir := copyDir(t, src)
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(segs[1])), b, 0o640); err != nil {
		t.Fatal(err)
	}
	got, rep := recovered(t, dir)
	if len(rep) != 1 || !errors.Is(rep[0], errChecksum) || rep[0].Dropped != int64(2*rec) {
		t.Fatalf("report %v", rep)
	}
	assertInts(t, "kept", got, []int{0, 1, 2, 3, 6, 7, 8})
}

// The crash came after the checkpoint was written and before the
// acknowledged segments were deleted: nothing is delivered twice.
func TestCheckpointWrittenSegmentsNotDeleted(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Sync: SyncNone, SegmentBytes: 2 << 10}
	o := mustOpen(t, dir, opts)
	const n = 40
	appendBatches(t, o, 0, n, 2)
	saved := copyDir(t, dir)
	st := newFakeStore()
	ctx, cancel := context.WithCancel(context.Background())
	st.cancel, st.cancelAt = cancel, 25
	if err := o.Drain(ctx, st); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	mustClose(t, o)
	if len(segFiles(t, dir)) >= len(segFiles(t, saved)) {
		t.Fatal("no segment was deleted")
	}
	// Put back every segment: as if none of the deletes happened.
	for _, p := range segFiles(t, saved) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	o = mustOpen(t, dir, opts)
	defer mustClose(t, o)
	if k, _ := o.Backlog(); k != n-25 {
		t.Fatalf("backlog %d, want %d", k, n-25)
	}
	st.cancel = nil
	if err := o.Drain(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	assertInts(t, "delivered", st.got(), seq(0, n))
}

// The crash came after the store confirmed a batch and before its
// checkpoint: that batch, and only it, is sent again, and the idempotent
// store holds it once.
func TestInFlightBatchResent(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Sync: SyncNone, SegmentBytes: 2 << 10}
	o := mustOpen(t, dir, opts)
	const n, k = 30, 17
	appendBatches(t, o, 0, n, 3)
	var before []byte // the checkpoint while batch k is in flight
	st := newFakeStore()
	st.onWrite = func(b int) {
		if b == k {
			var err error
			if before, err = os.ReadFile(filepath.Join(dir, checkpointName)); err != nil {
				t.Error(err)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	st.cancel, st.cancelAt = cancel, k+1
	if err := o.Drain(ctx, st); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	mustClose(t, o)
	if err := os.WriteFile(filepath.Join(dir, checkpointName), before, 0o640); err != nil {
		t.Fatal(err)
	}
	o = mustOpen(t, dir, opts)
	defer mustClose(t, o)
	st.cancel, st.onWrite = nil, nil
	if err := o.Drain(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	assertInts(t, "delivered", st.got(), append(seq(0, k+1), seq(k, n)...))
	if len(st.points) != n*3 {
		t.Fatalf("%d points stored, want %d", len(st.points), n*3)
	}
}

// An unreadable checkpoint is reported and everything kept is sent again.
func TestBadCheckpoint(t *testing.T) {
	dir := t.TempDir()
	o := mustOpen(t, dir, Options{})
	appendBatches(t, o, 0, 4, 1)
	st := newFakeStore()
	ctx, cancel := context.WithCancel(context.Background())
	st.cancel, st.cancelAt = cancel, 2
	if err := o.Drain(ctx, st); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	mustClose(t, o)
	if err := os.WriteFile(filepath.Join(dir, checkpointName), []byte("garbage"), 0o640); err != nil {
		t.Fatal(err)
	}
	got, rep := recovered(t, dir)
	if len(rep) != 1 || !errors.Is(rep[0], ErrCorrupt) {
		t.Fatalf("report %v", rep)
	}
	assertInts(t, "delivered again", got, seq(0, 4))
}

// A checkpoint ahead of the log (the log's tail was lost in a power cut
// after the drainer had sent it) must not make new batches count as
// acknowledged.
func TestCheckpointAheadOfLog(t *testing.T) {
	dir := t.TempDir()
	o := mustOpen(t, dir, Options{})
	appendBatches(t, o, 0, 5, 1)
	if err := o.Drain(context.Background(), newFakeStore()); err != nil {
		t.Fatal(err)
	}
	mustClose(t, o)
	seg := segFiles(t, dir)[0]
	if err := os.Truncate(seg, 0); err != nil { // the log lost everything
		t.Fatal(err)
	}
	got, _ := recovered(t, dir)
	assertInts(t, "delivered", got, nil)
}
