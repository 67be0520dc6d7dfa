package analysis_test

import (
	"fmt"
	. "github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/analysistest"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/sim/model"
)

// seeded is the demo fleet with another seed and a fresh set of planted
// faults, one of each kind on distinct meters, at days drawn from the
// seed; thefts take 20 to 60 % of a customer's consumption from a day
// after the flags' 14-day history has built up.
func seeded(t testing.TB, seed int64) model.Config {
	cfg := analysistest.LoadConfig(t, "../testdata/scenarios/demo.yaml")
	// the demo's first five areas, D01..D05, which these scenarios (and
	// BENCHMARKS.md's figures of them) were drawn on: D06..D09, added with
	// the 376.1 concentrators, would change every seed's draws
	cfg.Areas = cfg.Areas[:5]
	cfg.Seed = seed
	rng := rand.New(rand.NewPCG(uint64(seed), 645))
	type slot struct{ a, c int }
	var pool, threePhase, plain []slot
	for a := range cfg.Areas {
		cfg.Areas[a].AreaMeter.Faults = nil
		for c := range cfg.Areas[a].Customers {
			m := &cfg.Areas[a].Customers[c]
			m.Faults = nil
			pool = append(pool, slot{a, c})
			if m.Phases == 3 {
				threePhase = append(threePhase, slot{a, c})
			}
			if m.PVKW == 0 {
				plain = append(plain, slot{a, c})
			}
		}
	}
	used := map[slot]bool{}
	pick := func(from []slot) *model.MeterConfig {
		for {
			s := from[rng.IntN(len(from))]
			if !used[s] {
				used[s] = true
				return &cfg.Areas[s.a].Customers[s.c]
			}
		}
	}
	start := cfg.Start
	day := func(lo, hi int) time.Time {
		return start.AddDate(0, 0, lo+rng.IntN(hi-lo+1)).Add(time.Duration(rng.IntN(24*4)) * 15 * time.Minute)
	}
	plant := func(m *model.MeterConfig, f model.Fault) { m.Faults = append(m.Faults, f) }
	plant(pick(plain), model.Fault{Kind: model.FaultTheft, Start: day(15, 18).Truncate(24 * time.Hour), Fraction: 0.2 + 0.4*rng.Float64()})
	plant(pick(plain), model.Fault{Kind: model.FaultStopped, Start: day(5, 24)})
	plant(pick(plain), model.Fault{Kind: model.FaultReverseWiring, Start: day(5, 24)})
	plant(pick(pool), model.Fault{Kind: model.FaultJump, Start: day(5, 24), Amount: int64(30000 + rng.IntN(170000))})
	plant(pick(pool), model.Fault{Kind: model.FaultBackwards, Start: day(5, 24), Amount: int64(5000 + rng.IntN(45000))})
	plant(pick(pool), model.Fault{Kind: model.FaultClockDrift, Start: day(5, 24), DriftPerDay: float64(120 + rng.IntN(480))})
	plant(pick(pool), model.Fault{Kind: model.FaultCoverOpen, Start: day(5, 24)})
	if len(threePhase) > 0 {
		plant(pick(threePhase), model.Fault{Kind: model.FaultPhaseLoss, Start: day(5, 24), Phase: rng.IntN(3)})
	}
	plant(pick(pool), model.Fault{Kind: model.WireNoAnswer, Start: day(5, 24)})
	return cfg
}

// Ten seeded scenarios of 30 days: the flags against what was planted,
// and the balances against the truth. The figures go to BENCHMARKS.md.
func TestSeededScenarios(t *testing.T) {
	analysistest.Heavy(t)
	seeds := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if os.Getenv("EVAL_HELDOUT") != "" {
		seeds = []int64{11, 12, 13, 14, 15, 16, 17, 18, 19, 20} // held out: the figures are not fitted to them
	}
	n := len(seeds)
	total := evaluation{planted: map[anomaly.Kind]int{}, found: map[anomaly.Kind]int{}, flags: map[anomaly.Kind]int{}, true_: map[anomaly.Kind]int{}}
	theftOK := 0
	for _, seed := range seeds {
		in, fl := analysistest.Simulate(t, seeded(t, seed), 30)
		out, err := Compute(in, DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		ev := evaluate(t, fl, in, out)
		t.Logf("seed %d: %s", seed, ev)
		for k, v := range ev.planted {
			total.planted[k] += v
		}
		for k, v := range ev.found {
			total.found[k] += v
		}
		for k, v := range ev.flags {
			total.flags[k] += v
		}
		for k, v := range ev.true_ {
			total.true_[k] += v
		}
		total.cleanMeters += ev.cleanMeters
		total.cleanFlagged += ev.cleanFlagged
		total.lossDays += ev.lossDays
		total.lossWithin += ev.lossWithin
		total.lossWorst = max(total.lossWorst, ev.lossWorst)
		total.thefts += ev.thefts
		total.caught += ev.caught
		if ev.caught == ev.thefts {
			theftOK++
		}
		for _, m := range ev.misses {
			if !strings.HasPrefix(m, "theft") {
				t.Errorf("seed %d: %s", seed, m)
			}
		}
		if ev.lossWithin != ev.lossDays {
			t.Errorf("seed %d: %d of %d area-days off the truth by more than 0.5 points (worst %.3f)", seed, ev.lossDays-ev.lossWithin, ev.lossDays, ev.lossWorst)
		}
		if ev.cleanFlagged*50 > ev.cleanMeters {
			t.Errorf("seed %d: %d of %d clean meters flagged (over 2 %%)", seed, ev.cleanFlagged, ev.cleanMeters)
		}
	}
	// BENCHMARKS.md reports 10 of 10 on seeds 1..10 and on the held-out
	// 11..20: that is what is asserted, with no margin (the scenarios are
	// seeded, so a change that loses one thief fails here rather than
	// passing on a kinder bound).
	if want := n; theftOK < want {
		t.Errorf("theft: the thief was in its area's top 3 within 7 days in %d of %d scenarios, want %d", theftOK, n, want)
	}
	t.Logf("all %d scenarios: theft found in %d\n%s\n%s", n, theftOK, total, table(total))
}

// table is the precision and recall per flag kind, as BENCHMARKS.md shows it.
func table(e evaluation) string {
	var kinds []string
	for k := range e.planted {
		kinds = append(kinds, string(k))
	}
	for k := range e.flags {
		if e.planted[k] == 0 {
			kinds = append(kinds, string(k))
		}
	}
	sort.Strings(kinds)
	var b strings.Builder
	b.WriteString("| flag | planted | found within a day | recall | raised | on a planted fault | precision |\n|---|---|---|---|---|---|---|\n")
	for _, s := range kinds {
		k := anomaly.Kind(s)
		rec, prec := "–", "–"
		if e.planted[k] > 0 {
			rec = fmt.Sprintf("%.0f %%", 100*float64(e.found[k])/float64(e.planted[k]))
		}
		if e.flags[k] > 0 && e.planted[k] > 0 {
			prec = fmt.Sprintf("%.0f %%", 100*float64(e.true_[k])/float64(e.flags[k]))
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %d | %d | %s |\n", s, e.planted[k], e.found[k], rec, e.flags[k], e.true_[k], prec)
	}
	return b.String()
}
