// Package audittest is the contract of an audit log's storage, the file
// or an audit.Store: a suite (Run, and RunShared for a store that several
// nodes share) that a backend's tests call with a Factory for it.
package audittest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/api/audit"
	"github.com/headend/headend/api/auth"
)

// Factory makes a new, empty log storage for t and returns how to open
// logs on it.
type Factory func(t testing.TB) Opener

// Opener opens a log on the factory's storage with the given clock.
// Every call opens another Log on the same storage (a restart, or
// another node); the suite closes what it opens.
type Opener func(t testing.TB, now func() time.Time) *audit.Log

// T0 is the suite clock's first reading.
var T0 = time.Date(2026, 11, 22, 13, 45, 0, 0, time.FixedZone("+08:00", 8*3600))

// clock returns a time one minute later at each call; safe for
// concurrent use.
func clock() func() time.Time {
	var mu sync.Mutex
	n := 0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		n++
		return T0.Add(time.Duration(n-1) * time.Minute)
	}
}

// Run runs the suite, each subtest on new storage.
func Run(t *testing.T, f Factory) {
	t.Run("RecordAndReopen", func(t *testing.T) { testRecordAndReopen(t, f) })
	t.Run("Filters", func(t *testing.T) { testFilters(t, f) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, f, false) })
}

// RunShared runs Run and the test of a storage several nodes share: two
// Logs on it record at once, and the Seqs stay one sequence.
func RunShared(t *testing.T, f Factory) {
	Run(t, f)
	t.Run("TwoNodes", func(t *testing.T) { testConcurrent(t, f, true) })
}

func operator(ctx context.Context) context.Context {
	return auth.WithPrincipal(audit.WithRemote(ctx, "192.0.2.7:5100"), auth.Principal{Name: "ops", Roles: []auth.Role{auth.Operator}})
}

func testRecordAndReopen(t *testing.T, f Factory) {
	ctx := context.Background()
	o := f(t)
	now := clock()
	l := o(t, now)
	e, err := l.Record(operator(ctx), audit.Entry{Action: "relay.trip", Target: "000001000001", Reason: "arrears",
		Before: map[string]string{"relay": "closed"}, After: map[string]string{"relay": "open"}, Outcome: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != 1 || !e.Time.Equal(T0) || e.Who != "ops" || len(e.Roles) != 1 || e.Roles[0] != auth.Operator || e.Remote != "192.0.2.7:5100" {
		t.Errorf("entry %+v", e)
	}
	if _, err := l.Record(ctx, audit.Entry{Action: "config.reload"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Record(ctx, audit.Entry{}); err == nil {
		t.Error("an entry without action recorded")
	}
	if l.Seq() != 2 {
		t.Errorf("seq %d after two entries", l.Seq())
	}
	l.Close()
	if _, err := l.Record(ctx, audit.Entry{Action: "x"}); err != audit.ErrClosed {
		t.Errorf("after close: %v", err)
	}
	l2 := o(t, now)
	defer l2.Close()
	if l2.Seq() != 2 {
		t.Fatalf("reopened: seq %d", l2.Seq())
	}
	e3, err := l2.Record(ctx, audit.Entry{Action: "read.edit", Target: "000001000001/00010000/2026-11-21"})
	if err != nil || e3.Seq != 3 || e3.Who != "anonymous" {
		t.Fatalf("after reopen: %+v %v", e3, err)
	}
	all, err := l2.List(audit.Filter{})
	if err != nil || len(all) != 3 || all[0].Action != "relay.trip" || all[2].Seq != 3 {
		t.Fatalf("list %+v %v", all, err)
	}
	if b, _ := json.Marshal(all[0].After); string(b) != `{"relay":"open"}` {
		t.Errorf("after %s", b)
	}
	if a := all[0]; a.Who != "ops" || a.Remote != "192.0.2.7:5100" || !a.Time.Equal(T0) || a.Reason != "arrears" || a.Outcome != "ok" || a.Target != "000001000001" {
		t.Errorf("listed %+v", a)
	}
}

func testFilters(t *testing.T, f Factory) {
	ctx := context.Background()
	l := f(t)(t, clock())
	defer l.Close()
	for _, e := range []audit.Entry{
		{Action: "relay.trip", Who: "ops"},    // T0
		{Action: "relay.close", Who: "ops"},   // +1m
		{Action: "relayx", Who: "ops"},        // +2m: no relay action
		{Action: "read.edit", Who: "ana"},     // +3m
		{Action: "relay", Who: "ana"},         // +4m
		{Action: "http.post", Who: "billing"}, // +5m
	} {
		if _, err := l.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	seqs := func(es []audit.Entry) string {
		s := []int64{}
		for _, e := range es {
			s = append(s, e.Seq)
		}
		return fmt.Sprint(s)
	}
	for _, c := range []struct {
		f    audit.Filter
		want string
	}{
		{audit.Filter{}, "[1 2 3 4 5 6]"},
		{audit.Filter{Action: "relay"}, "[1 2 5]"},
		{audit.Filter{Action: "relay.trip"}, "[1]"},
		{audit.Filter{Who: "ana"}, "[4 5]"},
		{audit.Filter{Who: "ops", Action: "relay"}, "[1 2]"},
		{audit.Filter{From: T0.Add(2 * time.Minute)}, "[3 4 5 6]"},
		{audit.Filter{To: T0.Add(2 * time.Minute)}, "[1 2]"},
		{audit.Filter{From: T0.Add(time.Minute).UTC(), To: T0.Add(4 * time.Minute)}, "[2 3 4]"},
		{audit.Filter{Limit: 2}, "[5 6]"}, // the latest
		{audit.Filter{Action: "relay", Limit: 2}, "[2 5]"},
		{audit.Filter{Who: "nobody"}, "[]"},
	} {
		got, err := l.List(c.f)
		if err != nil {
			t.Errorf("%+v: %v", c.f, err)
			continue
		}
		if seqs(got) != c.want {
			t.Errorf("%+v: %s, want %s", c.f, seqs(got), c.want)
		}
	}
}

// testConcurrent records from several goroutines, through one log or
// through two on one storage: every entry gets its own Seq, 1 to n.
func testConcurrent(t *testing.T, f Factory, two bool) {
	ctx := context.Background()
	o := f(t)
	now := clock()
	logs := []*audit.Log{o(t, now)}
	if two {
		logs = append(logs, o(t, now))
	}
	for _, l := range logs {
		defer l.Close()
	}
	const writers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := logs[w%len(logs)]
			for i := range each {
				if _, err := l.Record(ctx, audit.Entry{Action: "read.edit", Target: fmt.Sprintf("w%d/%d", w, i)}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all, err := logs[0].List(audit.Filter{})
	if err != nil || len(all) != writers*each {
		t.Fatalf("list: %d entries %v, want %d", len(all), err, writers*each)
	}
	targets := map[string]bool{}
	for i, e := range all {
		if e.Seq != int64(i+1) || targets[e.Target] {
			t.Fatalf("entry %d: %+v", i, e)
		}
		targets[e.Target] = true
	}
}
