package ledger

import (
	"path/filepath"
	"testing"
)

// The event pointers survive a reopen, per terminal and log, beside the
// freeze ledger in the same file.
func TestPointersAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p, err := OpenPointers(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Next("4401 0001", Important); ok {
		t.Fatal("a terminal never read has no pointer")
	}
	for _, s := range []struct {
		term string
		log  EventLog
		next uint8
	}{{"4401 0001", Important, 7}, {"4401 0001", Normal, 2}, {"4401 0002", Important, 255}, {"4401 0001", Important, 9}} {
		if err := p.Set(s.term, s.log, s.next); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p, err = OpenPointers(path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, w := range []struct {
		term string
		log  EventLog
		next uint8
	}{{"4401 0001", Important, 9}, {"4401 0001", Normal, 2}, {"4401 0002", Important, 255}} {
		if n, ok := p.Next(w.term, w.log); !ok || n != w.next {
			t.Errorf("%s log %d: %d %v, want %d", w.term, w.log, n, ok, w.next)
		}
	}
}
