package analysistest

import (
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/model"
)

// The scorer on a hand-made case: each planted fault, flag, ranking and
// balance below is scored as the comments say.
func TestGrade(t *testing.T) {
	z := model.DefaultZone
	start := time.Date(2025, 6, 1, 0, 0, 0, 0, z)
	day := func(d int) time.Time { return start.AddDate(0, 0, d) }
	plant := func(m string, k model.FaultKind, d int) model.Planted {
		return model.Planted{Meter: m, Area: "A", Kind: k, Day: d, Onset: day(d), Multiplier: 1}
	}
	jump := plant("M2", model.FaultJump, 5)
	jump.Amount = 1000 // 10 kWh
	thief := plant("T1", model.FaultTheft, 3)
	thief.Fraction = 0.25
	dead := plant("M4", model.WireNoAnswer, 1)
	dead.Variant = "dead"
	flaky := model.Planted{Meter: "I1", Area: "A", Kind: model.WireOffline, Variant: "intermittent", Day: 2, Onset: day(2)}
	tr := Truth{
		Planted: []model.Planted{plant("M1", model.FaultStopped, 5), jump, plant("M3", model.FaultCoverOpen, 5), thief, dead, flaky},
		Meters:  []string{"A0", "M1", "M2", "M3", "M4", "T1", "C1", "C2", "I1"},
		Areas: []model.AreaTruth{{ID: "A", Days: []model.AreaDay{
			{Date: "2025-06-06", Complete: true, ExpectedLoss: -5}, // the 10 kWh jump: 5 kWh once held back
			{Date: "2025-06-07", Complete: true, ExpectedLoss: 5},
			{Date: "2025-06-08", Complete: true, ExpectedLoss: 5},
		}}},
	}
	flag := func(k anomaly.Kind, m string, from, to int) anomaly.Flag {
		return anomaly.Flag{Kind: k, Meter: m, Area: "A", Start: day(from), End: day(to)}
	}
	rank := func(ms ...string) anomaly.Ranking {
		rk := anomaly.Ranking{Area: "A"}
		for i, m := range ms {
			rk.Candidates = append(rk.Candidates, anomaly.Candidate{Meter: m, Score: float64(len(ms) - i)})
		}
		return rk
	}
	balance := func(d int, rate int64, estimated int) loss.Result {
		return loss.Result{Area: "A", Period: loss.Day(day(d)), Supply: dlt645.Decimal{Units: 100}, Rate: dlt645.Decimal{Units: rate, Scale: 1},
			HasRate: true, Class: loss.Qualified, Estimated: estimated}
	}
	var mornings []Morning
	for d := 1; d <= 20; d++ {
		m := Morning{Today: day(d)}
		if d <= 6 {
			m.Flags = append(m.Flags, flag(anomaly.Stopped, "M1", 0, 1)) // an old episode, still shown: not the fault of day 5
		}
		if d >= 6 {
			m.Flags = append(m.Flags, flag(anomaly.RegisterJump, "M2", 5, 5)) // the next morning
		}
		if d >= 7 {
			m.Flags = append(m.Flags, flag(anomaly.Stopped, "M1", 5, d-1)) // two days after onset
		}
		if d >= 4 {
			m.Flags = append(m.Flags, flag(anomaly.NoAnswer, "M4", 1, d-1)) // three days after onset
		}
		if d == 9 {
			m.Flags = append(m.Flags, flag(anomaly.VoltageRange, "C1", 8, 8)) // a clean meter, once
		}
		switch {
		case d < 12:
			rk := rank("C2", "C1", "M1", "T1") // the thief fourth
			rk.Candidates[0].Score = 0
			m.Theft = []anomaly.Ranking{rk}
		default:
			m.Theft = []anomaly.Ranking{rank("C2", "T1")} // nine days after onset
		}
		switch d {
		case 6:
			m.Loss = []loss.Result{balance(5, 50, 0)} // 5.0 %: the jump held back, right
		case 7:
			m.Loss = []loss.Result{balance(6, 53, 2)} // 5.3 %, estimates: published, within
		case 8:
			m.Loss = []loss.Result{balance(7, 60, 0)} // 6.0 %: complete, off by 1 point
		}
		mornings = append(mornings, m)
	}
	s := Grade(tr, mornings, []loss.Result{balance(5, 50, 0), balance(6, 50, 0), balance(7, 50, 0)})

	check := func(name string, got, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	stopped := s.Kinds["stopped"]
	check("stopped planted", stopped.Planted, 1)
	check("stopped within 1 day (flagged on day 2)", stopped.Within1, 0)
	check("stopped within 3 days", stopped.Within3, 1)
	check("stopped raised (one key over both episodes)", stopped.Raised, 1)
	jumpK := s.Kinds["register_jump"]
	check("jump within 1 day", jumpK.Within1, 1)
	check("jump on a planted fault", jumpK.OnPlanted, 1)
	check("cover opened found", s.Kinds["cover_opened"].Found, 0)
	check("cover opened planted", s.Kinds["cover_opened"].Planted, 1)
	check("no answer within 1", s.Kinds["no_answer"].Within1, 0)
	check("no answer within 3", s.Kinds["no_answer"].Within3, 1)
	check("no answer (dead) planted", s.Kinds["no_answer (dead)"].Planted, 1)
	vr := s.Kinds["voltage_range"]
	check("voltage range raised", vr.Raised, 1)
	check("voltage range on a planted fault", vr.OnPlanted, 0)
	if _, ok := s.Kinds["offline"]; ok {
		t.Error("an intermittent meter is scored as a flag kind")
	}
	check("clean meters (A0, C1, C2)", s.CleanMeters, 3)
	check("clean meters flagged", s.CleanFlagged, 1)
	check("intermittent meters", s.Intermittent, 1)
	th := s.Theft["20–30 %"]
	if th == nil {
		t.Fatalf("no 20–30 %% bucket: %v", s.Theft)
	}
	check("thieves", th.Thieves, 1)
	check("thief in the top 3 within 7 days (M1 above it, C2 gated)", th.In7, 0)
	check("thief in the top 3 within 14 days", th.In14, 1)
	check("scenarios with a thief of 20 % or more", s.Theft20Scenarios, 1)
	check("of them, caught within 7 days", s.Theft20In7, 0)
	check("published area-days", len(s.Published.Off), 3)
	check("published within 0.5", s.Published.Within, 2)
	check("complete area-days", len(s.Complete.Off), 2)
	check("complete within 0.5", s.Complete.Within, 1)
	check("final within 0.5", s.Final.Within, 3)
	// the area-days with no figure the next morning: days 1..4 and 8..19
	// have no complete truth, so only mornings 6..8 count, all published
	check("unpublished", s.Unpublished, 0)
	check("off on a complete day", s.OffWhy["every customer read"], 1)
	for _, want := range []string{"cover_open on M3 (area A) from day 5: never flagged", "stopped on M1 (area A) from day 5: flagged after 2 days",
		"theft of 25 % on T1 (area A) from day 3: top 3 after 9 days"} {
		found := false
		for _, m := range s.Misses {
			found = found || m == want
		}
		if !found {
			t.Errorf("misses %q, want %q among them", s.Misses, want)
		}
	}
	var total Score
	total.Add(s)
	total.Add(s)
	check("added: stopped planted", total.Kinds["stopped"].Planted, 2)
	check("added: scenarios", total.Scenarios, 2)
	tab := total.Table()
	for _, want := range []string{"| stopped | 2 | 0 (0 %) | 2 (100 %) |", "| 20–30 % | 2 | 0 (0 %) | 2 (100 %) |", "clean meters flagged: 2 of 6"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
}
