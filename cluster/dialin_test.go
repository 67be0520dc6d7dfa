package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/internal/etcdtest"
)

func TestDecideDialIn(t *testing.T) {
	for _, c := range []struct {
		owner string
		want  DialIn
	}{{"b", Keep}, {"", Claim}, {"a", TakeOver}} {
		if got := DecideDialIn("b", c.owner); got != c.want {
			t.Errorf("DecideDialIn(b, %q) = %v, want %v", c.owner, got, c.want)
		}
	}
}

// TestDialInTakesTheTerminalOver: a terminal the assignment gives alpha
// dials in to bravo; bravo takes it over through etcd (alpha hands it over
// at its safe point), gives it back when the link hangs up, and when
// bravo dies holding the link the terminal returns to alpha with its lease.
func TestDialInTakesTheTerminalOver(t *testing.T) {
	srv := etcdtest.Start(t)
	all := items(30)
	a := join(t, srv, srv.Endpoint, "alpha", all, nil)
	b := join(t, srv, srv.Endpoint, "bravo", all, nil)
	waitFor(t, 10*time.Second, "two nodes own the assignment", func() bool { return settled([]*testNode{a, b}, all) == nil })
	term := ""
	for _, it := range a.Owned() {
		if strings.HasPrefix(it, "channel:T") { // a 1376.1 terminal's channel
			term = it
			break
		}
	}
	if term == "" {
		t.Fatal("alpha owns no terminal")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stop := overlaps([]*testNode{a, b})
	d, err := b.DialIn(ctx, term)
	if err != nil || d != TakeOver {
		t.Fatalf("dial-in at bravo: %v, %v; want take over", d, err)
	}
	took := waitFor(t, 5*time.Second, "bravo owns the terminal", func() bool { return b.Owns(term) && !a.Owns(term) })
	t.Logf("%s dialled in to bravo: bravo owns it %v later", term, took.Round(time.Millisecond))
	if d, err := b.DialIn(ctx, term); err != nil || d != Keep {
		t.Fatalf("dial-in again: %v, %v; want keep", d, err)
	}
	st, err := a.Status(ctx)
	if err != nil || st.DialIns[term] != "bravo" || st.Owners[term] != "bravo" {
		t.Fatalf("status: dial-ins %v, owner %q, %v", st.DialIns, st.Owners[term], err)
	}

	if err := b.HangUp(ctx, term); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "alpha owns the terminal again", func() bool { return a.Owns(term) && !b.Owns(term) })
	if err := settled([]*testNode{a, b}, all); err != nil {
		t.Fatal(err)
	}

	if _, err := b.DialIn(ctx, term); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "bravo owns the terminal", func() bool { return b.Owns(term) })
	b.kill()
	waitFor(t, 5*ttl, "alpha owns everything once bravo's lease lapses", func() bool { return settled([]*testNode{a}, all) == nil })
	if o := stop(); len(o) > 0 {
		t.Fatalf("owned twice at once: %v", o)
	}
}
