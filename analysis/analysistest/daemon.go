package analysistest

import (
	"cmp"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/results"
	"github.com/headend/headend/store/sqlite"
)

// Morning is what one morning's analysis run published, as an operator
// saw it after the run.
type Morning struct {
	// Today is the day of the run: it ran at Options.Complete (01:30)
	// and saw the reads received by then, so its last complete day is
	// the day before.
	Today time.Time
	Flags []anomaly.Flag    // the flags current after the run
	Loss  []loss.Result     // the balances of the day before, as first published
	Theft []anomaly.Ranking // the areas' theft rankings of this run
}

// Mornings is a fleet run as the daemon runs: the reads stored as they
// arrived, one analysis run each morning.
type Mornings struct {
	Fleet    *model.Fleet
	Mornings []Morning     // day 1 on
	Final    []loss.Result // every balance as it stood after the last run
	// Through3761 are the areas read through Q/GDW 1376.1 concentrators
	// ([Through3761]); FrozenRequests the AFN 0D requests that read their
	// daily freezes, FrozenMeters the 2007 meters in them.
	Through3761                  map[string]bool
	FrozenRequests, FrozenMeters int
}

// RunMornings simulates days days of cfg, read as [Simulate] reads it
// (but a freeze a meter holds is read even before the model's step ends)
// except that most areas ([Through3761]) are read through simulated
// Q/GDW 1376.1 concentrators, as a gdw3761 channel in frozen mode reads
// them (gdw.go), and runs the analysis as the daemon's Serve does: the reads go into an
// embedded read store as they arrive, and at 01:30 of every day from day
// 1 to day days the same [analysis.Analyzer.Run] the daemon calls runs
// over what the store holds then, into a results store. After each run
// it keeps what the results store shows: the current flags, the balance
// of the day before and the theft rankings.
func RunMornings(t testing.TB, cfg model.Config, days int) *Mornings {
	t.Helper()
	// EVAL_3761=0: every area read directly, as before the concentrators
	in, fl, g := simulate(t, cfg, days, true, os.Getenv("EVAL_3761") != "0")
	all := append(append([]meter.Read(nil), in.Registers...), in.Instant...)
	slices.SortStableFunc(all, func(a, b meter.Read) int { return a.ReadAt.Compare(b.ReadAt) })
	dir := t.TempDir()
	var simNow time.Time
	reads, err := sqlite.Open(filepath.Join(dir, "reads.db"), sqlite.Options{Location: fl.Zone(), Now: func() time.Time { return simNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reads.Close() })
	res, err := results.Open(filepath.Join(dir, "results.db"), results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	opts := analysis.Options{Location: fl.Zone()}
	a := analysis.New(reads, res, in.Archive, opts)
	ctx := context.Background()
	out := &Mornings{Fleet: fl}
	if g != nil {
		out.Through3761, out.FrozenRequests = Through3761(fl), g.requests
		for _, ga := range g.areas {
			out.FrozenMeters += len(ga.points)
		}
	}
	next := 0
	for d := 1; d <= days; d++ {
		today := fl.Start().AddDate(0, 0, d)
		simNow = today.Add(90 * time.Minute) // Options.Complete's default
		j := next
		for j < len(all) && all[j].ReadAt.Before(simNow) {
			j++
		}
		if j > next {
			if err := reads.Write(ctx, all[next:j]); err != nil {
				t.Fatal(err)
			}
			a.Notify(all[next:j])
			next = j
		}
		if _, err := a.Run(ctx, simNow); err != nil {
			t.Fatalf("day %d: %v", d, err)
		}
		m := Morning{Today: today}
		m.Flags = bodies[anomaly.Flag](t, res, store.RecordQuery{Kind: results.KindFlag})
		m.Loss = bodies[loss.Result](t, res, store.RecordQuery{Kind: results.KindLoss, From: today.AddDate(0, 0, -1), To: today})
		m.Loss = slices.DeleteFunc(m.Loss, func(r loss.Result) bool { return r.Period.Kind != loss.Daily })
		m.Theft = bodies[anomaly.Ranking](t, res, store.RecordQuery{Kind: results.KindTheft, From: today.AddDate(0, 0, -1), To: today})
		out.Mornings = append(out.Mornings, m)
	}
	out.Final = bodies[loss.Result](t, res, store.RecordQuery{Kind: results.KindLoss})
	out.Final = slices.DeleteFunc(out.Final, func(r loss.Result) bool { return r.Period.Kind != loss.Daily })
	slices.SortFunc(out.Final, func(x, y loss.Result) int {
		return cmp.Or(cmp.Compare(x.Area, y.Area), x.Period.Start.Compare(y.Period.Start))
	})
	return out
}

// bodies reads the current records of q and decodes their bodies.
func bodies[T any](t testing.TB, res *results.Store, q store.RecordQuery) []T {
	t.Helper()
	recs, err := res.Current(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]T, 0, len(recs))
	for _, r := range recs {
		var v T
		if err := json.Unmarshal(r.Body, &v); err != nil {
			t.Fatalf("%s record %s: %v", r.Kind, r.Key, err)
		}
		out = append(out, v)
	}
	return out
}
