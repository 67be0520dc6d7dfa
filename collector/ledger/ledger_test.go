package ledger

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/internal/testenv"
)

var cst = time.FixedZone("CST", 8*3600)

func day(s string) time.Time {
	t, _ := time.ParseInLocation(time.DateOnly, s, cst)
	return t
}

func TestMissingAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	const m = "000001000001"
	if got := l.Missing(m, day("2025-06-05")); got != nil {
		t.Fatalf("a meter never held has no gaps to fill: %v", got)
	}
	for _, d := range []string{"2025-06-01", "2025-06-02", "2025-06-02"} {
		if err := l.Mark(m, day(d)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !l.Known(m) || !l.Has(m, day("2025-06-02")) || l.Has(m, day("2025-06-03")) {
		t.Fatal("the reopened ledger lost a mark")
	}
	got := l.Missing(m, day("2025-06-05"))
	if len(got) != 3 || got[0] != day("2025-06-03") || got[2] != day("2025-06-05") {
		t.Fatalf("missing %v, want 06-03..06-05", got)
	}
	// the window: at most 62 days back
	if got := l.Missing(m, day("2025-09-30")); len(got) != Window {
		t.Fatalf("%d missing days over a long outage, want %d", len(got), Window)
	}
	// a late backfill of an old day, behind a newer one
	l.Mark(m, day("2025-08-01"))
	l.Mark(m, day("2025-06-04"))
	if got := l.Missing(m, day("2025-06-05")); len(got) != 2 || got[0] != day("2025-06-03") || got[1] != day("2025-06-05") {
		t.Fatalf("missing after a backfill of 06-04: %v", got)
	}
}

func TestMarksKeepTheNewest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	k, err := OpenMarks(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 6, 1, 10, 15, 0, 0, cst)
	k.Mark("000001000001", at)
	k.Mark("000001000001", at.Add(-time.Hour)) // older: ignored
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	k, _ = OpenMarks(path)
	defer k.Close()
	if got, ok := k.Latest("000001000001"); !ok || !got.Equal(at) || got.Format(time.RFC3339) != "2025-06-01T10:15:00+08:00" {
		t.Fatalf("latest %v %v", got, ok)
	}
	if _, ok := k.Latest("000001000002"); ok {
		t.Fatal("an unknown meter has a mark")
	}
}

// TestImportFormerFiles reads the append-only files of earlier versions
// (with a line torn by a crash) into the database and removes them.
func TestImportFormerFiles(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "state.db")
	os.WriteFile(filepath.Join(dir, "daily-freezes.ledger"), []byte("000001000001 2025-06-01\n000001000001 2025-06-02\n000001000001 2025-06-0"), 0o644)
	os.WriteFile(filepath.Join(dir, "load-profile.marks"), []byte("000001000001 2025-06-01T10:00:00+08:00\n000001000001 2025-06-01T11:00:00+08:00\n000001000001 2025-06-01T1"), 0o644)
	l, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := l.Import(filepath.Join(dir, "daily-freezes.ledger")); n != 2 || err != nil {
		t.Fatalf("ledger import: %d %v", n, err)
	}
	if n, err := l.Import(filepath.Join(dir, "daily-freezes.ledger")); n != 0 || err != nil {
		t.Fatalf("second import: %d %v", n, err)
	}
	l.Close()
	k, err := OpenMarks(db)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := k.Import(filepath.Join(dir, "load-profile.marks")); n != 2 || err != nil {
		t.Fatalf("marks import: %d %v", n, err)
	}
	k.Close()
	for _, f := range []string{"daily-freezes.ledger", "load-profile.marks"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not removed: %v", f, err)
		}
	}
	l, _ = Open(db)
	defer l.Close()
	if got := l.Missing("000001000001", day("2025-06-03")); len(got) != 1 || got[0] != day("2025-06-03") {
		t.Errorf("imported ledger: missing %v", got)
	}
	k, _ = OpenMarks(db)
	defer k.Close()
	if got, _ := k.Latest("000001000001"); !got.Equal(time.Date(2025, 6, 1, 11, 0, 0, 0, cst)) {
		t.Errorf("imported mark %v", got)
	}
}

// size is the bytes of the database at path with its log.
func size(t *testing.T, path string) int64 {
	var n int64
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// TestStateStaysBounded marks 10 meters' daily freezes and 6-hourly
// load-profile marks for 10 days, then for 60 more: the file does not
// grow (one row per meter), and a reopen reads back the newest state.
func TestStateStaysBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	const meters = 10
	start := day("2025-01-01")
	run := func(from, to int) {
		l, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		k, err := OpenMarks(path)
		if err != nil {
			t.Fatal(err)
		}
		for d := from; d < to; d++ {
			for i := range meters {
				m := fmt.Sprintf("0000010000%02d", i)
				if err := l.Mark(m, start.AddDate(0, 0, d)); err != nil {
					t.Fatal(err)
				}
				for h := range 4 {
					if err := k.Mark(m, start.AddDate(0, 0, d).Add(time.Duration(6*h)*time.Hour)); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		if err := errors.Join(l.Close(), k.Close()); err != nil {
			t.Fatal(err)
		}
	}
	run(0, 10)
	after10 := size(t, path)
	run(10, 70)
	after70 := size(t, path)
	t.Logf("%d meters: %d bytes after 10 days, %d after 70", meters, after10, after70)
	if after70 > after10 {
		t.Errorf("the state grew from %d to %d bytes", after10, after70)
	}
	l, _ := Open(path)
	defer l.Close()
	k, _ := OpenMarks(path)
	defer k.Close()
	last := start.AddDate(0, 0, 69)
	if got := l.Missing("000001000009", last.AddDate(0, 0, 2)); len(got) != 2 || got[0] != last.AddDate(0, 0, 1) {
		t.Errorf("missing after reopen: %v", got)
	}
	if got := l.Missing("000001000009", last); got != nil {
		t.Errorf("missing within the window: %v", got)
	}
	if got, _ := k.Latest("000001000007"); !got.Equal(last.Add(18 * time.Hour)) {
		t.Errorf("latest mark %v, want %v", got, last.Add(18*time.Hour))
	}
}

// TestMarkErrorSurfacesAndIsRetried fills the disk under the state: Mark
// returns the error, the mark stays pending, and once there is room again
// the next Mark saves it too.
func TestMarkErrorSurfacesAndIsRetried(t *testing.T) {
	dir := testenv.SmallDisk(t, 512<<10)
	path := filepath.Join(dir, "state.db")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	k, err := OpenMarks(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Mark("000001000000", day("2025-06-01")); err != nil {
		t.Fatal(err)
	}
	testenv.Fill(t, filepath.Join(dir, "fill"))
	var lerr, kerr error
	n := 0
	for ; n < 20000 && (lerr == nil || kerr == nil); n++ {
		m := fmt.Sprintf("%012d", 1000001+n)
		if lerr == nil {
			lerr = l.Mark(m, day("2025-06-01"))
		}
		if kerr == nil {
			kerr = k.Mark(m, day("2025-06-01").Add(time.Hour))
		}
	}
	if lerr == nil || !strings.Contains(lerr.Error(), "ledger "+path) || kerr == nil || !strings.Contains(kerr.Error(), "marks "+path) {
		t.Fatalf("a full disk after %d marks: ledger %v, marks %v", n, lerr, kerr)
	}
	t.Logf("full after %d meters: %v", n, lerr)
	if l.Pending() == 0 || k.Pending() == 0 {
		t.Fatalf("pending %d %d after a failed mark", l.Pending(), k.Pending())
	}
	os.Remove(filepath.Join(dir, "fill"))
	if err := l.Mark("000009000000", day("2025-06-02")); err != nil {
		t.Fatalf("with room again: %v", err)
	}
	if err := k.Flush(); err != nil {
		t.Fatalf("flush with room again: %v", err)
	}
	if l.Pending() != 0 || k.Pending() != 0 {
		t.Fatalf("pending %d %d after the retry", l.Pending(), k.Pending())
	}
	if err := errors.Join(l.Close(), k.Close()); err != nil {
		t.Fatal(err)
	}
	l, _ = Open(path)
	defer l.Close()
	k, _ = OpenMarks(path)
	defer k.Close()
	for i := range n {
		m := fmt.Sprintf("%012d", 1000001+i)
		if !l.Has(m, day("2025-06-01")) {
			t.Fatalf("meter %s: the freeze marked on a full disk is lost", m)
		}
		if _, ok := k.Latest(m); !ok {
			t.Fatalf("meter %s: the load-profile mark made on a full disk is lost", m)
		}
	}
}

// FuzzLedger checks the ledger's days against a plain set of every day
// marked, within the window Missing looks at.
func FuzzLedger(f *testing.F) {
	f.Add([]byte{0, 1, 2, 70, 3, 200, 5})
	f.Fuzz(func(t *testing.T, marks []byte) {
		l := &Ledger{days: map[string]*held{}, pending: map[string]bool{}}
		set := map[int64]bool{}
		base := dayNum(day("2025-01-01"))
		newest := int64(-1 << 62)
		for _, b := range marks {
			d := base + int64(b)
			l.mark("m", d)
			set[d] = true
			newest = max(newest, d)
		}
		if len(marks) == 0 {
			return
		}
		h := l.days["m"]
		for d := newest - Window; d <= newest+1; d++ {
			if h.has(d) != set[d] {
				t.Fatalf("day %d (newest %d): has %v, marked %v", d-base, newest-base, h.has(d), set[d])
			}
		}
	})
}
