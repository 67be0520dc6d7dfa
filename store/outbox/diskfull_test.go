package outbox

import (
	"context"
	"errors"
	"github.com/headend/headend/internal/testenv"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func writeFile(t *testing.T, path string, n int) {
	t.Helper()
	if err := os.WriteFile(path, make([]byte, n), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A record cut short by a full disk is undone: the Append fails with
// ENOSPC (not sticky), the segment keeps only whole records, later
// Appends work once space returns, and a reopen recovers without a cut
// and delivers exactly the batches whose Append returned nil.
func TestDiskFullPartialWriteUndone(t *testing.T) {
	dir := testenv.SmallDisk(t, 2<<20)
	ob := filepath.Join(dir, "outbox")
	o := mustOpen(t, ob, Options{Reserve: -1, SegmentBytes: 1 << 20})
	appendBatches(t, o, 0, 3, 20)
	// Leave 16 KiB free: the next record (about 30 KiB) is written in part.
	writeFile(t, filepath.Join(dir, "room"), 16<<10)
	testenv.Fill(t, filepath.Join(dir, "filler"))
	if err := os.Remove(filepath.Join(dir, "room")); err != nil {
		t.Fatal(err)
	}
	err := o.Append(batch(3, 200))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("append on a full disk: %v, want ENOSPC", err)
	}
	segs := segFiles(t, ob)
	fi, serr := os.Stat(segs[len(segs)-1])
	if serr != nil {
		t.Fatal(serr)
	}
	if _, bytes := o.Backlog(); fi.Size() != bytes {
		t.Fatalf("segment is %d bytes after the failed append, want %d (its whole records)", fi.Size(), bytes)
	}
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	appendBatches(t, o, 4, 6, 20)
	if st := o.Stats(); st.Failed != 1 || st.Appended != 5 {
		t.Fatalf("stats %+v: want 1 failed, 5 appended", st)
	}
	mustClose(t, o)

	o = mustOpen(t, ob, Options{Reserve: -1})
	defer mustClose(t, o)
	if cuts := o.Recovery(); len(cuts) != 0 {
		t.Fatalf("recovery cut %v after an undone append", cuts[0])
	}
	s := newFakeStore()
	if err := o.Drain(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	assertInts(t, "delivered", s.got(), []int{0, 1, 2, 4, 5})
}

// Below the reserve Append refuses with ErrLowDisk and writes nothing; it
// takes batches again once the free space is back above the reserve and
// a quarter.
func TestReserveRefusesAppends(t *testing.T) {
	dir := testenv.SmallDisk(t, 8<<20)
	ob := filepath.Join(dir, "outbox")
	o := mustOpen(t, ob, Options{})
	defer mustClose(t, o)
	if r := o.Reserve(); r != DefaultReserve(8<<20) || r == 0 {
		t.Fatalf("reserve %d, want %d", r, DefaultReserve(8<<20))
	}
	appendBatches(t, o, 0, 1, 10)
	free, _, err := diskSpace(ob)
	if err != nil {
		t.Fatal(err)
	}
	// Leave half the reserve free.
	writeFile(t, filepath.Join(dir, "filler"), int(free-o.Reserve()/2))
	err = o.Append(batch(1, 10))
	if !errors.Is(err, ErrLowDisk) {
		t.Fatalf("append below the reserve: %v, want ErrLowDisk", err)
	}
	if b, _ := o.Backlog(); b != 1 {
		t.Fatalf("backlog %d batches after a refused append, want 1", b)
	}
	// Just above the reserve is not enough once refused.
	writeFile(t, filepath.Join(dir, "filler"), int(free-o.Reserve()-64<<10))
	if err := o.Append(batch(1, 10)); !errors.Is(err, ErrLowDisk) {
		t.Fatalf("append just above the reserve after a refusal: %v, want ErrLowDisk", err)
	}
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	appendBatches(t, o, 1, 3, 10)
	if st := o.Stats(); st.LowDisk != 2 || st.Appended != 3 {
		t.Fatalf("stats %+v: want 2 refused for low disk, 3 appended", st)
	}
}
