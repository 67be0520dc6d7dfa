package analysis_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	. "github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/analysistest"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/results"
	"github.com/headend/headend/store/sqlite"
)

// fixedShare is a node's share of the areas, fixed; lost areas are not
// held any more.
type fixedShare struct {
	areas []string
	lost  map[string]bool
	taken int
	done  int
}

func (s *fixedShare) Take() []string         { s.taken++; return s.areas }
func (s *fixedShare) Holds(area string) bool { return !s.lost[area] }
func (s *fixedShare) Done()                  { s.done++ }

// Two analysers, each with one area of the two, store into one results
// store what a single analyser stores of both: the same balances and
// values, each area's written by its share's run alone; a run stores
// nothing of an area it no longer holds and retracts nothing of the
// other's.
func TestRunAnalysesItsShareOfTheAreas(t *testing.T) {
	ctx := context.Background()
	in, fl := analysistest.Simulate(t, analysistest.LoadConfig(t, "../testdata/scenarios/tiny.yaml"), 5)
	loc := fl.Zone()
	dir := t.TempDir()
	rs, err := sqlite.Open(filepath.Join(dir, "reads.db"), sqlite.Options{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	if err := rs.Write(ctx, append(in.Registers, in.Instant...)); err != nil {
		t.Fatal(err)
	}
	open := func(name string) *results.Store {
		res, err := results.Open(filepath.Join(dir, name), results.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Close() })
		return res
	}
	single, shared := open("single.db"), open("shared.db")
	now := fl.Start().AddDate(0, 0, 5).Add(90 * time.Minute)
	if _, err := New(rs, single, in.Archive, Options{Location: loc}).Run(ctx, now); err != nil {
		t.Fatal(err)
	}
	s1 := &fixedShare{areas: []string{"A1"}}
	s2 := &fixedShare{areas: []string{"A2"}}
	for _, s := range []*fixedShare{s1, s2} {
		sum, err := New(rs, shared, in.Archive, Options{Location: loc, Areas: s}).Run(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sum.Areas, s.areas) || sum.Balances == 0 || s.taken != 1 || s.done != 1 {
			t.Fatalf("share %v: %+v, taken %d done %d", s.areas, sum, s.taken, s.done)
		}
	}
	keys := func(res *results.Store, kind string) []string {
		cur, err := res.Current(ctx, store.RecordQuery{Kind: kind})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range cur {
			if r.Version != 1 {
				t.Errorf("%s %s stored %d times", kind, r.Key, r.Version)
			}
			out = append(out, r.Area+" "+r.Key)
		}
		slices.Sort(out)
		return out
	}
	for _, kind := range []string{results.KindLoss, results.KindValue} {
		want, got := keys(single, kind), keys(shared, kind)
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s: the two shares stored %d records, a single node %d:\n%v\n%v", kind, len(got), len(want), got, want)
		}
	}
	// A2's run again, A2 lost meanwhile (a fence): nothing stored, and A1's
	// balances are not retracted
	before := keys(shared, results.KindLoss)
	s2.lost = map[string]bool{"A2": true}
	if sum, err := New(rs, shared, in.Archive, Options{Location: loc, Areas: s2}).Run(ctx, now.Add(time.Hour)); err != nil || sum.Stored != 0 || sum.Balances != 0 {
		t.Fatalf("a run whose area was lost: %+v %v", sum, err)
	}
	if after := keys(shared, results.KindLoss); !slices.Equal(after, before) {
		t.Errorf("balances after a run of a lost area: %d, were %d", len(after), len(before))
	}
	// a share of no area reads nothing
	if sum, err := New(rs, shared, in.Archive, Options{Location: loc, Areas: &fixedShare{}}).Run(ctx, now); err != nil || sum.Reads != 0 || sum.Stored != 0 {
		t.Fatalf("a run of no area: %+v %v", sum, err)
	}
}
