package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/api/auth"
)

var t0 = time.Date(2026, 11, 22, 13, 45, 0, 0, time.FixedZone("+08:00", 8*3600))

// clock returns a time one minute later at each call.
func clock() func() time.Time {
	n := 0
	return func() time.Time {
		n++
		return t0.Add(time.Duration(n-1) * time.Minute)
	}
}

func open(t *testing.T, path string) *Log {
	t.Helper()
	l, err := Open(path, Options{Now: clock()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func operator(ctx context.Context) context.Context {
	return auth.WithPrincipal(WithRemote(ctx, "192.0.2.7:5100"), auth.Principal{Name: "ops", Roles: []auth.Role{auth.Operator}})
}

func TestRecordAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "audit.jsonl")
	l := open(t, path)
	e, err := l.Record(operator(t.Context()), Entry{Action: "relay.trip", Target: "000001000001", Reason: "arrears",
		Before: map[string]string{"relay": "closed"}, After: map[string]string{"relay": "open"}, Outcome: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != 1 || !e.Time.Equal(t0) || e.Who != "ops" || len(e.Roles) != 1 || e.Roles[0] != auth.Operator || e.Remote != "192.0.2.7:5100" {
		t.Errorf("entry %+v", e)
	}
	if _, err := l.Record(t.Context(), Entry{Action: "config.reload"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Record(t.Context(), Entry{}); err == nil {
		t.Error("an entry without action recorded")
	}
	l.Close()
	if _, err := l.Record(t.Context(), Entry{Action: "x"}); err != ErrClosed {
		t.Errorf("after close: %v", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}

	l2 := open(t, path)
	if l2.Seq() != 2 || len(l2.Damaged()) != 0 {
		t.Fatalf("reopened: seq %d, damage %v", l2.Seq(), l2.Damaged())
	}
	e3, err := l2.Record(t.Context(), Entry{Action: "read.edit", Target: "000001000001/00010000/2026-11-21"})
	if err != nil || e3.Seq != 3 || e3.Who != "anonymous" {
		t.Fatalf("after reopen: %+v %v", e3, err)
	}
	all, err := l2.List(Filter{})
	if err != nil || len(all) != 3 || all[0].Action != "relay.trip" || all[2].Seq != 3 {
		t.Fatalf("list %+v %v", all, err)
	}
	if b, _ := json.Marshal(all[0].After); string(b) != `{"relay":"open"}` {
		t.Errorf("after %s", b)
	}
}

func TestTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l := open(t, path)
	for _, a := range []string{"relay.trip", "relay.close"} {
		if _, err := l.Record(operator(t.Context()), Entry{Action: a}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":3,"time":"2026-11-22T14:00:00+08:00","who":"ops","act`) // the crash
	f.Close()

	l2 := open(t, path)
	d := l2.Damaged()
	if len(d) != 1 || !d[0].Torn || d[0].Line != 3 || l2.Seq() != 2 {
		t.Fatalf("damage %v, seq %d", d, l2.Seq())
	}
	if e, err := l2.Record(t.Context(), Entry{Action: "relay.trip"}); err != nil || e.Seq != 3 {
		t.Fatalf("after torn tail: %+v %v", e, err)
	}
	all, _ := l2.List(Filter{})
	if len(all) != 3 || all[2].Seq != 3 || all[1].Action != "relay.close" {
		t.Fatalf("entries around the torn line: %+v", all)
	}
	l2.Close()

	// damage in the middle: reported at its line, the entries after it kept
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 4 || !strings.HasSuffix(lines[2], `"act`) {
		t.Fatalf("file:\n%s", b)
	}
	l3 := open(t, path)
	d = l3.Damaged()
	if len(d) != 1 || d[0].Torn || d[0].Line != 3 || d[0].Offset != int64(len(lines[0])+len(lines[1])+2) || l3.Seq() != 3 {
		t.Fatalf("reopened: damage %v seq %d", d, l3.Seq())
	}
	all, _ = l3.List(Filter{})
	if len(all) != 3 {
		t.Fatalf("entries: %+v", all)
	}

	// an entry that lost only its newline is kept
	l3.Close()
	f, _ = os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":4,"time":"2026-11-22T14:10:00+08:00","who":"ops","action":"relay.trip"}`)
	f.Close()
	l4 := open(t, path)
	if l4.Seq() != 4 || len(l4.Damaged()) != 1 {
		t.Fatalf("whole last entry without newline: seq %d damage %v", l4.Seq(), l4.Damaged())
	}
	if e, _ := l4.Record(t.Context(), Entry{Action: "x"}); e.Seq != 5 {
		t.Fatalf("seq %d", e.Seq)
	}
	if all, _ := l4.List(Filter{}); len(all) != 5 {
		t.Fatalf("%d entries", len(all))
	}
}

func TestFilter(t *testing.T) {
	l := open(t, filepath.Join(t.TempDir(), "a.jsonl"))
	ctx := operator(t.Context())
	for _, a := range []string{"relay.trip", "read.edit", "relay.close", "relay", "relayx", "read.edit"} {
		l.Record(ctx, Entry{Action: a})
	}
	l.Record(t.Context(), Entry{Action: "relay.trip", Who: "root"})
	cases := []struct {
		f    Filter
		seqs []int64
	}{
		{Filter{Action: "relay"}, []int64{1, 3, 4, 7}},
		{Filter{Action: "relay.trip"}, []int64{1, 7}},
		{Filter{Who: "root"}, []int64{7}},
		{Filter{From: t0.Add(2 * time.Minute), To: t0.Add(5 * time.Minute)}, []int64{3, 4, 5}},
		{Filter{Limit: 2}, []int64{6, 7}},
		{Filter{Action: "read", Limit: 1}, []int64{6}},
	}
	for _, c := range cases {
		got, err := l.List(c.f)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []int64
		for _, e := range got {
			seqs = append(seqs, e.Seq)
		}
		if !equal(seqs, c.seqs) {
			t.Errorf("%+v: %v, want %v", c.f, seqs, c.seqs)
		}
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestWriteFailureIsReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.jsonl")
	l := open(t, path)
	l.Record(t.Context(), Entry{Action: "one"})
	good := l.f
	ro, _ := os.Open(path)
	l.f = ro // writes now fail
	if _, err := l.Record(t.Context(), Entry{Action: "two"}); err == nil || l.Err() == nil {
		t.Fatal("a failed write is not reported")
	}
	ro.Close()
	l.f = good
	if e, err := l.Record(t.Context(), Entry{Action: "three"}); err != nil || e.Seq != 2 || l.Err() != nil {
		t.Fatalf("after recovery: %+v %v", e, err)
	}
}

// FuzzParseLine: ParseLine never panics, and what it accepts survives
// being written and read again.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte(`{"seq":1,"time":"2026-11-22T13:45:00+08:00","who":"ops","roles":["operator"],"action":"relay.trip","target":"000001000001","before":{"relay":"closed"},"outcome":"ok"}`))
	f.Add([]byte(`{"seq":3,"time":"2026-11-22T14:00:00+08:00","who":"ops","act`))
	f.Add([]byte(`{"seq":1,"time":"2026-11-22T13:45:00Z","action":"a"} {"seq":2}`))
	f.Add([]byte(`{"seq":-1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseLine(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(e)
		if err != nil {
			return // a time out of JSON's range (year 10000)
		}
		if bytes.ContainsRune(out, '\n') {
			t.Fatalf("an entry marshals to several lines: %s", out)
		}
		e2, err := ParseLine(out)
		if err != nil || e2.Seq != e.Seq || e2.Action != e.Action || !e2.Time.Equal(e.Time) || e2.Who != e.Who {
			t.Fatalf("round trip of %s: %+v %v", out, e2, err)
		}
	})
}
