package anomaly

import (
	"math"
	"strings"
	"testing"
	"time"

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

// A meter explained before it has history of its own (it never answered)
// has its unregistered energy taken at its class's typical share of the
// other customers' energy, so that the area's loss is cleared of it: the
// ranking's excess stays near zero rather than carrying its 10 kWh a day.
func TestExplainedWithoutHistory(t *testing.T) {
	f := simple(t, 20, 8)
	const dead = "000000000107"
	f.drop[dead] = map[int]bool{}
	for b := 0; b <= 20; b++ {
		f.drop[dead][b] = true
	}
	in := f.input()
	in.Explained = map[string]time.Time{dead: day(0)}
	a := New(in)
	e := a.explained[dead]
	if !e.ok || math.Abs(e.share-1.0/7) > 0.02 {
		t.Fatalf("explained %+v, want a share near 1/7", e)
	}
	s := a.byArea["A"]
	if l := s.lossUnexplained(a, 10); math.Abs(l-2.4) > 1 {
		t.Errorf("loss less the dead meter's energy %.2f kWh, want about 2.40 (3 %% of the 80 kWh)", l)
	}
}

// A theft from day 2 of the data leaves the customer 2 days of history
// of its own, fewer than a baseline needs: the area's evidence stands in
// (its loss steps up the same day by what the customer's share dropped,
// against the noise of the area's other customers' shares), and the
// thief is in the area's top 3 within 7 days of the onset.
func TestTheftShortHistory(t *testing.T) {
	f := simple(t, 20, 10)
	for d := 2; d < 20; d++ {
		f.fwd[c0][d] = f.fwd[c0][d] * 6 / 10
	}
	// the area meter registers what the thief used
	f.areaMeter("000000000001", "A", func(d int) int64 {
		if d >= 2 {
			return 300 + f.fwd[c0][d]*4/6
		}
		return 300
	})
	a := New(f.input())
	found := -1
	for d := 0; d <= 7 && found < 0; d++ {
		rk, ok := a.RankTheft("A", day(2+d), Config{})
		if !ok {
			continue
		}
		for i := 0; i < len(rk.Candidates) && i < 3; i++ {
			if c := rk.Candidates[i]; c.Meter == c0 && c.Score > 0 {
				found = d
				if !c.Onset.Equal(day(2)) {
					t.Errorf("onset %s, want %s", c.Onset.Format(time.DateOnly), day(2).Format(time.DateOnly))
				}
				t.Logf("day %d: %+v", 2+d, c)
			}
		}
	}
	if found < 0 {
		t.Fatal("the thief from day 2 is not in the top 3 within 7 days")
	}
	// a customer without a theft, same area: none ranked with a score
	f = simple(t, 20, 10)
	a = New(f.input())
	for d := 4; d < 12; d++ {
		if rk, ok := a.RankTheft("A", day(d), Config{}); ok {
			for _, c := range rk.Candidates {
				if c.Score > 0 {
					t.Errorf("day %d: %s scored %.2f without a theft", d, c.Meter, c.Score)
				}
			}
		}
	}
}

// A shop shut at weekends (30 kWh a weekday, 6 on Saturdays and
// Sundays) among homes steals 25 % from day 21: against its own weekday
// and weekend shares its drop stands out, and it is flagged; taken
// against one share for all days its weekends would drown it.
func TestTheftWeeklyPattern(t *testing.T) {
	const days = 28
	f := simple(t, days, 10)
	for d := range days {
		v := int64(3000)
		if wd := day(d).Weekday(); wd == time.Saturday || wd == time.Sunday {
			v = 600
		}
		v += int64(d%3-1) * 60 // a little noise of its own
		if d >= 21 {
			v = v * 3 / 4
		}
		f.fwd[c0][d] = v
	}
	f.areaMeter("000000000001", "A", func(d int) int64 {
		if d >= 21 {
			return 300 + f.fwd[c0][d]/3
		}
		return 300
	})
	fl := one(t, Detect(f.input(), Config{}), Theft, c0, 21)
	t.Log(fl.Summary)
}
