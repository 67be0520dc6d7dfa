package analysis_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	. "github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/analysistest"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/store/results"
	"github.com/headend/headend/store/sqlite"
)

// stepClock is a clock the test moves: each After is handed to the test,
// which fires it when it has moved the time.
type stepClock struct {
	now   time.Time
	waits chan wait
}

type wait struct {
	d  time.Duration
	ch chan time.Time
}

func (c *stepClock) Now() time.Time { return c.now }
func (c *stepClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.waits <- wait{d, ch}
	return ch
}

// next is the wait Serve asks for after it has run (or been woken).
func (c *stepClock) next(t *testing.T) wait {
	t.Helper()
	select {
	case w := <-c.waits:
		return w
	case <-time.After(10 * time.Second):
		t.Fatal("Serve asked for no wait in 10 s")
		return wait{}
	}
}

// Serve runs when a day's reads are complete: Quiet after daily reads
// stop arriving, at Complete after midnight, and on a trigger; not only
// at start and every interval (16.12).
func TestServeRunsWhenReadsAreComplete(t *testing.T) {
	in, _ := analysistest.Simulate(t, analysistest.LoadConfig(t, "../testdata/scenarios/tiny.yaml"), 1)
	dir := t.TempDir()
	loc := time.FixedZone("CST", 8*3600)
	rs, err := sqlite.Open(filepath.Join(dir, "reads.db"), sqlite.Options{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	res, err := results.Open(filepath.Join(dir, "results.db"), results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	a := New(rs, res, in.Archive, Options{Location: loc, Quiet: 2 * time.Minute, Complete: 90 * time.Minute})
	clk := &stepClock{now: time.Date(2025, 6, 1, 10, 0, 0, 0, loc), waits: make(chan wait)}
	ctx, cancel := context.WithCancel(context.Background())
	trigger := make(chan struct{})
	done := make(chan struct{})
	go func() { a.Serve(ctx, clk, 6*time.Hour, trigger); close(done) }()
	defer func() { cancel(); <-done }()

	w := clk.next(t) // ran at start
	if got := a.Last().Ran; !got.Equal(clk.now) || w.d != 6*time.Hour {
		t.Fatalf("at start: ran %v, then waits %v; want a run now and 6h", got, w.d)
	}
	// a day's freezes come in: a run 2 minutes after the last of them
	a.Notify([]meter.Read{{Class: meter.Instantaneous, Status: meter.OK}, {Class: meter.Daily, Status: meter.OK}})
	if w = clk.next(t); w.d != 2*time.Minute {
		t.Fatalf("after daily reads: waits %v, want 2m", w.d)
	}
	clk.now = clk.now.Add(time.Minute)
	a.Notify([]meter.Read{{Class: meter.Daily, Status: meter.OK}})
	if w = clk.next(t); w.d != 2*time.Minute {
		t.Fatalf("after more daily reads: waits %v, want 2m from them", w.d)
	}
	clk.now = clk.now.Add(2 * time.Minute)
	w.ch <- clk.now
	w = clk.next(t)
	if got := a.Last().Ran; !got.Equal(clk.now) {
		t.Fatalf("ran at %v, want %v (the reads' quiet)", got, clk.now)
	}
	// on demand
	clk.now = time.Date(2025, 6, 2, 0, 40, 0, 0, loc)
	trigger <- struct{}{}
	w = clk.next(t)
	if got := a.Last().Ran; !got.Equal(clk.now) || w.d != 50*time.Minute {
		t.Fatalf("triggered at 00:40: ran %v, then waits %v; want a run and 50m (to 01:30)", got, w.d)
	}
	// and once the night's reads are complete
	clk.now = clk.now.Add(w.d)
	w.ch <- clk.now
	w = clk.next(t)
	if got := a.Last().Ran; got.Format("15:04") != "01:30" || w.d != 6*time.Hour {
		t.Fatalf("ran at %v, then waits %v; want 01:30 and 6h", got, w.d)
	}
}
