package ledger

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

var cst = time.FixedZone("CST", 8*3600)

func day(s string) time.Time {
	t, _ := time.ParseInLocation(time.DateOnly, s, cst)
	return t
}

func TestMissingAcrossReopenAndTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	const m = "000001000001"
	if got := l.Missing(m, day("2025-06-05")); got != nil {
		t.Fatalf("a meter never held has no gaps to fill: %v", got)
	}
	l.Mark(m, day("2025-06-01"))
	l.Mark(m, day("2025-06-02"))
	l.Mark(m, day("2025-06-02")) // twice: one line
	l.Close()
	// a crash tore the last line
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("000001000001 2025-06-0")
	f.Close()
	l, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := l.Missing(m, day("2025-06-05"))
	if len(got) != 3 || got[0] != day("2025-06-03") || got[2] != day("2025-06-05") {
		t.Fatalf("missing %v, want 06-03..06-05", got)
	}
	b, _ := os.ReadFile(path)
	if n := len(b); n != 2*24+22 {
		t.Fatalf("file is %d bytes: %q", n, b)
	}
	// the window: at most 62 days back
	if got := l.Missing(m, day("2025-09-30")); len(got) != Window {
		t.Fatalf("%d missing days over a long outage, want %d", len(got), Window)
	}
}

func TestMarksKeepTheNewest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "marks")
	k, err := OpenMarks(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 6, 1, 10, 15, 0, 0, cst)
	k.Mark("000001000001", at)
	k.Mark("000001000001", at.Add(-time.Hour)) // older: ignored
	k.Close()
	k, _ = OpenMarks(path)
	defer k.Close()
	if got, ok := k.Latest("000001000001"); !ok || !got.Equal(at) {
		t.Fatalf("latest %v %v", got, ok)
	}
	if _, ok := k.Latest("000001000002"); ok {
		t.Fatal("an unknown meter has a mark")
	}
}
