package collector

import (
	"context"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/outbox"
	"github.com/headend/headend/store/persist"
	"github.com/headend/headend/store/sqlite"
)

// The way reads go in headend serve: the collector's sink appends them to
// the outbox, which delivers them to the embedded store; a daily read of
// the whole area ends up there, queryable by area and class, traceable to
// its frames, and a second run over the same day stores no duplicate.
func TestReadsReachTheEmbeddedStore(t *testing.T) {
	sim, cfg := fleet(t, "stored", area("TCP", "000041", `{kind: tcp-listen, listen: "127.0.0.1:0"}`), "", `  instantaneous: {enabled: false}
  interval: {enabled: false}
  daily: {enabled: true, spec: daily 00:05, jitter: 0s}
  monthly: {enabled: false}
  clock: {enabled: false}
`)
	day := sim.Fleet.Start().AddDate(0, 0, 1)
	sim.Fleet.AdvanceTo(day.Add(30 * time.Minute))
	dir := t.TempDir()
	st, err := sqlite.Open(dir+"/headend.db", sqlite.Options{Now: func() time.Time { return day.Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	meters := len(cfg.Archive.Meters)

	run := func() {
		ob, err := outbox.Open(dir+"/outbox", outbox.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		p := persist.New(ctx, ob, st, persist.Options{})
		tasks := make(chan struct{}, 1000)
		clock := &testClock{now: day.Add(5 * time.Minute)}
		c, _ := New(cfg, Options{Clock: clock, Sink: func(rs []meter.Read) { p.Accept(rs); tasks <- struct{}{} }})
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		deadline := time.After(30 * time.Second)
		for n := 0; n < meters; n++ {
			select {
			case <-tasks:
			case <-deadline:
				t.Fatalf("%d of %d meters read", n, meters)
			}
		}
		cancel()
		<-done
		// what the outbox holds reaches the store on a drain
		if err := ob.Drain(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		if b, _ := ob.Backlog(); b != 0 {
			t.Fatalf("outbox backlog %d after drain", b)
		}
		ob.Close()
	}
	run()
	got, err := st.Query(context.Background(), store.Query{Area: "TCP", Class: meter.Daily, Quantity: "forward active energy total"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != meters {
		some, _ := st.Query(context.Background(), store.Query{Limit: 5})
		for _, r := range some {
			t.Logf("held: %s %s %s %q %s %s", r.Meter, r.Area, r.Class, r.Quantity, r.MeterTime, r.Status)
		}
		t.Fatalf("store holds %d daily forward energy reads of area TCP, want %d", len(got), meters)
	}
	for _, r := range got {
		if r.Status != meter.OK || !r.MeterTime.Equal(day) || len(r.Frame.Request) == 0 || len(r.Frame.Reply) == 0 {
			t.Fatalf("stored read %+v: want OK at %s with its frames", r, day)
		}
	}
	all, err := st.Query(context.Background(), store.Query{Class: meter.Daily})
	if err != nil {
		t.Fatal(err)
	}
	run() // the same day read again: replaced, not doubled
	again, err := st.Query(context.Background(), store.Query{Class: meter.Daily})
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != len(all) {
		t.Fatalf("after a second read of the day the store holds %d daily reads, before %d", len(again), len(all))
	}
}
