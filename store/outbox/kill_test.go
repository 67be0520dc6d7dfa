//go:build unix

package outbox

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

const killChildEnv = "OUTBOX_KILL_CHILD_DIR"

// pipeStore confirms every batch, telling the parent first.
type pipeStore struct{ w *os.File }

func (s pipeStore) Write(_ context.Context, rs []meter.Read) error {
	_, err := fmt.Fprintln(s.w, batchNo(rs))
	return err
}
func (pipeStore) Query(context.Context, store.Query) ([]meter.Read, error) { return nil, nil }
func (pipeStore) Close() error                                             { return nil }

// TestKillChild is the child of TestKill9: it appends batches 0, 1, ...
// with SyncEvery, writing each number to fd 3 once Append returned, while
// Run delivers them to a store that writes each number it confirms to fd
// 4. It runs until it is killed (or a pipe breaks).
func TestKillChild(t *testing.T) {
	dir := os.Getenv(killChildEnv)
	if dir == "" {
		t.Skip("the child of TestKill9")
	}
	appended, delivered := os.NewFile(3, "appended"), os.NewFile(4, "delivered")
	o, err := Open(dir, Options{Sync: SyncEvery, SegmentBytes: 8 << 10, DeliverReads: 1})
	if err != nil {
		t.Fatal(err)
	}
	go o.Run(context.Background(), pipeStore{delivered})
	for b := 0; b < 1_000_000; b++ {
		if err := o.Append(batch(b, 3)); err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Fprintln(appended, b); err != nil {
			return // the parent is gone
		}
	}
}

// TestKill9 SIGKILLs a child that appends and delivers at full speed, at a
// different point each round, and checks the outbox it leaves: every
// batch the child reported appended is either still there or was
// confirmed by the store, in order, and the only batch sent twice is the
// one in flight at the kill.
func TestKill9(t *testing.T) {
	if os.Getenv(killChildEnv) != "" {
		t.Skip("in the child")
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	for round, killAt := range []int{1, 30, 77, 150, 301} {
		t.Run(strconv.Itoa(round), func(t *testing.T) {
			dir := t.TempDir()
			appended, delivered := killChild(t, dir, killAt)
			if len(appended) <= killAt {
				t.Fatalf("the child appended only %d batches", len(appended))
			}
			assertInts(t, "child appends", appended, seq(0, len(appended)))

			o := mustOpen(t, dir, Options{})
			defer mustClose(t, o)
			for _, ce := range o.Recovery() {
				t.Logf("recovered: %v", ce)
			}
			st := newFakeStore()
			if err := o.Drain(context.Background(), st); err != nil {
				t.Fatal(err)
			}
			left := st.got()
			first := len(appended) // the first batch left in the outbox
			if len(left) > 0 {
				first = left[0]
				assertInts(t, "left in the outbox", left, seq(first, first+len(left)))
			}
			if first+len(left) < len(appended) {
				t.Fatalf("lost: appended 0..%d, outbox holds %d..%d", len(appended)-1, first, first+len(left)-1)
			}
			// Everything before the outbox's first batch was confirmed
			// by the store (in order), and at most the last one
			// confirmed is sent again.
			assertInts(t, "confirmed before the kill", delivered[:min(first, len(delivered))], seq(0, min(first, len(delivered))))
			if len(delivered) < first {
				t.Fatalf("batches %d..%d gone but never confirmed", len(delivered), first-1)
			}
			if len(delivered) > first+1 {
				t.Fatalf("batches %d..%d confirmed and sent again", first, len(delivered)-1)
			}
			t.Logf("killed after %d appends reported, %d confirmed; %d left, resent %d",
				len(appended), len(delivered), len(left), len(delivered)-first)
		})
	}
}

// killChild runs TestKillChild on dir, SIGKILLs it once it has reported
// killAt appends, and returns the numbers it reported appended and
// delivered.
func killChild(t *testing.T, dir string, killAt int) (appended, delivered []int) {
	ar, aw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	dr, dw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
	cmd.ExtraFiles = []*os.File{aw, dw}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	aw.Close()
	dw.Close()
	var wg sync.WaitGroup
	wg.Go(func() {
		defer dr.Close()
		delivered = readInts(t, dr, -1, nil)
	})
	appended = readInts(t, ar, killAt, func() {
		if err := cmd.Process.Kill(); err != nil {
			t.Error(err)
		}
	})
	ar.Close()
	wg.Wait()
	if err := cmd.Wait(); err == nil {
		t.Fatal("the child exited by itself")
	}
	return appended, delivered
}

// readInts reads one number a line until EOF, calling at once the line
// number at is read.
func readInts(t *testing.T, f *os.File, at int, call func()) []int {
	var got []int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n, err := strconv.Atoi(sc.Text())
		if err != nil {
			t.Errorf("child wrote %q", sc.Text())
			continue
		}
		got = append(got, n)
		if len(got) == at+1 {
			call()
		}
	}
	return got
}
