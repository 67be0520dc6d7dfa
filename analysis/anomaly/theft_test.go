package anomaly

import (
	"math"
	"strings"
	"testing"

	"github.com/headend/headend/archive"
)

// The scoring by hand. Area A's meter reads 422 kWh every day over 21
// days; s is +1 on even days, −1 on odd ones. Customers (true energy):
// S 200 − s, R 180 (its reads run s ahead: the loss's noise), T 10 + s, N
// 10 (6 from day 10, a real drop), M 10 (14 from day 10, so the others'
// energy stays put). T registers 70 % from day 14: a theft of 3 + 0.3s.
// Registered: 410 + s, from day 14 407 + 0.7s; the loss 12 − s, from day
// 14 15 − 0.7s.
//
// T, over the window of days 7..20 and the history 0..6: the others
// register 400 every day, its share is 10/400 = 0.025 before day 14 (the
// step), so expected 10 a day; deficit −s before, 3 − 0.7s from day 14:
// D = 3 − 0.7/7 = 2.9 (29 %), σ = √(14/13) (7 days at ±1, no outlier),
// z = 2.9 / (σ √(1/14 + 1/7)) = 2.9 / √(3/13) = 6.0368. The area's supply
// never moves, so the expected loss is the baseline's median rate × 422 =
// 12: excess −s before, 3 − 0.7s from day 14: X = 2.9, SE = √(3/13),
// Agreement = 1 / (1 + exp(−2.9 × 2.9 / (2 × 3/13))) = 1 − 1.2e−8, score
// (1 − 3²/z²) × Agreement = (1 − 27 / (13 × 2.9²)) × Agreement = 0.753041.
//
// N drops 40 % from day 10, a clearer drop of its own (z 92), but the
// loss does not rise then: from day 10 its excess is 0 for 4 days and
// T's 2.9 for 7. Less T's deficit (T is confirmed first), the loss is 12
// − s on every day: X = 0 against a deficit of 4.05 ± SE 0.46: gated.
func TestTheftScoring(t *testing.T) {
	const (
		am                 = "000000000001"
		cS, cR, cT, cN, cM = "000000000101", "000000000102", "000000000103", "000000000104", "000000000105"
	)
	f := newField(t, 21)
	f.area("A", "F1")
	f.meter(am, "A", archive.RoleArea, 10) // 422 kWh is above a direct meter's rating
	for _, m := range []string{cS, cR, cT, cN, cM} {
		f.meter(m, "A", archive.RoleCustomer, 1)
	}
	for d := range 21 {
		s := int64(1 - 2*(d%2)) // 0.01 kWh units below
		f.fwd[am][d] = 4220     // × CT 10
		f.fwd[cS][d] = 20000 - 100*s
		f.fwd[cR][d] = 18000 + 100*s
		f.fwd[cT][d] = 1000 + 100*s
		if d >= 14 {
			f.fwd[cT][d] = 700 + 70*s
		}
		f.fwd[cN][d], f.fwd[cM][d] = 1000, 1000
		if d >= 10 {
			f.fwd[cN][d], f.fwd[cM][d] = 600, 1400
		}
	}
	a := New(f.input())
	rk, ok := a.RankTheft("A", day(20), Config{})
	if !ok {
		t.Fatal("no ranking")
	}
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s %v, want %v", what, got, want)
		}
	}
	// the area: the loss steps up on day 14 by 2.9 a day
	if !rk.Onset.Equal(day(14)) || rk.BaselineDays != 14 || rk.Days != 14 || !rk.Lossy || rk.CustomersRated != 5 {
		t.Errorf("ranking %+v", rk)
	}
	near("area excess", rk.Excess, 2.9, 1e-9)
	near("area noise", rk.Noise, math.Sqrt(14.0/13), 1e-9)
	near("baseline rate", rk.BaselineRate, 1200.0/422, 1e-9)
	if len(rk.Candidates) != 2 || rk.Candidates[0].Meter != cT || rk.Candidates[1].Meter != cN {
		t.Fatalf("candidates %+v", rk.Candidates)
	}
	c := rk.Candidates[0]
	if !c.Onset.Equal(day(14)) || c.BaselineDays != 14 || c.Days != 7 || c.Gate != "" {
		t.Errorf("thief %+v", c)
	}
	near("share", c.Share, 0.025, 1e-12)
	near("deficit", c.Deficit, 2.9, 1e-9)
	near("expected", c.Expected, 10, 1e-9)
	near("deficit %", c.DeficitPct, 29, 1e-9)
	near("noise", c.Noise, math.Sqrt(14.0/13), 1e-9)
	near("z", c.Z, 2.9/math.Sqrt(3.0/13), 1e-9)
	near("area excess", c.AreaExcess, 2.9, 1e-9)
	near("area error", c.AreaError, math.Sqrt(3.0/13), 1e-9)
	near("agreement", c.Agreement, 1, 1e-7)
	near("fit", c.Fit, 1, 1e-9)
	near("score", c.Score, 1-27/(13*2.9*2.9), 1e-6)
	n := rk.Candidates[1]
	if !n.Onset.Equal(day(10)) || n.Score != 0 || !strings.Contains(n.Gate, "does not show") || n.Z < 50 {
		t.Errorf("dropper %+v", n)
	}
	near("dropper's area excess", n.AreaExcess, 0, 1e-9)
	near("dropper's deficit %", n.DeficitPct, 40.32, 0.01)

	// Detect flags T alone, from day 14, with its figures and reads
	fl := one(t, a.Detect(Config{}), Theft, cT, 14)
	if !fl.End.Equal(day(20)) || math.Abs(fl.Confidence-c.Score) > 1e-9 || len(fl.Reads) != 15 {
		t.Errorf("flag %+v", fl)
	}
	t.Log(fl.Summary)

	// without the theft (T registers what it uses, the loss stays 12 − s)
	// N's drop is alone: the loss does not show it, so N scores 0
	for d := 14; d < 21; d++ {
		f.fwd[cT][d] = 1000 + 100*int64(1-2*(d%2))
	}
	rk, _ = New(f.input()).RankTheft("A", day(20), Config{})
	if len(rk.Candidates) != 1 || rk.Candidates[0].Meter != cN || rk.Candidates[0].Score != 0 || rk.Lossy {
		t.Errorf("drop alone: %+v", rk)
	}
}
