package anomaly

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/headend/headend/archive"
)

func TestLossClassChange(t *testing.T) {
	f := simple(t, 10, 5)
	none(t, Detect(f.input(), Config{}), LossClassChange)
	// day 5: loss 15 % of the customers' 50 kWh: 7.50 / 57.50 = 13.04 % > 10 %
	f.areaMeter("000000000001", "A", func(d int) int64 {
		if d == 5 {
			return 750
		}
		return 150
	})
	rep := Detect(f.input(), Config{})
	fs := flagsOf(rep, LossClassChange)
	if len(fs) != 2 || !fs[0].Start.Equal(day(5)) || !fs[1].Start.Equal(day(6)) || fs[0].Area != "A" || fs[0].Meter != "" {
		t.Fatalf("flags %+v", fs)
	}
	if fs[0].Summary == "" || fs[0].Figures[1].Value.String() != "13.70" || fs[1].Figures[0].Value.String() != "13.70" {
		t.Errorf("flag %+v", fs[0])
	}
}

// town is areas A and B of n customers each (0000000001xx in A,
// 0000000002xx in B) of about 10 kWh a day with the given noise, a weekly
// pattern shared by all, and a technical loss of 3 % of supply; phys
// says which area a customer is connected to on a day (its archive area
// when it returns "").
type town struct {
	*field
	true_ map[string][]int64
}

func newTown(t testing.TB, days, n int, noise float64, seed uint64) *town {
	f := newField(t, days)
	tw := &town{field: f, true_: map[string][]int64{}}
	rng := rand.New(rand.NewPCG(seed, 7))
	for _, a := range []string{"A", "B"} {
		f.area(a, "F1")
		f.meter("00000000000"+map[string]string{"A": "1", "B": "2"}[a], a, archive.RoleArea, 1)
		for i := range n {
			addr := fmt.Sprintf("000000000%c%02d", map[string]rune{"A": '1', "B": '2'}[a], i)
			f.meter(addr, a, archive.RoleCustomer, 1)
			base := 6 + 8*rng.Float64()
			tw.true_[addr] = make([]int64, days)
			for d := range days {
				week := 1.0
				if d%7 >= 5 {
					week = 1.15
				}
				v := int64(100 * base * week * (1 + noise*rng.NormFloat64()))
				tw.true_[addr][d] = v
				f.fwd[addr][d] = v
			}
		}
	}
	return tw
}

// close sets the area meters from where customers really are.
func (tw *town) close(phys func(addr string, d int) string) {
	for _, a := range []string{"A", "B"} {
		am := "00000000000" + map[string]string{"A": "1", "B": "2"}[a]
		for d := range tw.days {
			var s int64
			for _, m := range tw.arch.Meters {
				if m.Role == archive.RoleArea {
					continue
				}
				where := m.Area
				if phys != nil {
					if p := phys(m.Address, d); p != "" {
						where = p
					}
				}
				if where == a {
					s += tw.true_[m.Address][d]
				}
			}
			tw.fwd[am][d] = s + s*3/97 // loss 3 % of supply
		}
	}
}

func TestMovedMeterStep(t *testing.T) {
	const m = "000000000103"
	tw := newTown(t, 30, 10, 0.05, 1)
	tw.close(nil)
	none(t, Detect(tw.input(), Config{}), MovedMeter)
	tw.close(func(addr string, d int) string {
		if addr == m && d >= 15 {
			return "B"
		}
		return ""
	})
	rep := Detect(tw.input(), Config{})
	fl := one(t, rep, MovedMeter, m, 15)
	if fl.Area != "A" || fl.Other != "B" || fl.Confidence < 0.7 {
		t.Errorf("flag %+v", fl)
	}
	// B's loss rises by the same energy, A's does not fall: theft in B, not a move
	tw.close(nil)
	for d := 15; d < 30; d++ {
		tw.fwd["000000000002"][d] += tw.true_[m][d]
	}
	none(t, Detect(tw.input(), Config{}), MovedMeter)
}

func TestMovedMeterPersistent(t *testing.T) {
	const m = "000000000105"
	tw := newTown(t, 30, 10, 0.15, 3)
	tw.close(nil)
	none(t, Detect(tw.input(), Config{}), MovedMeter)
	tw.close(func(addr string, d int) string {
		if addr == m {
			return "B"
		}
		return ""
	})
	rep := Detect(tw.input(), Config{})
	fl := one(t, rep, MovedMeter, m, 0)
	if fl.Area != "A" || fl.Other != "B" || !fl.End.Equal(day(29)) {
		t.Errorf("flag %+v", fl)
	}
	t.Logf("%s (confidence %.2f)", fl.Summary, fl.Confidence)
}

func TestTheftRanking(t *testing.T) {
	const thief = "000000000107"
	// a 25 % drop among customers varying 5 % from day to day, and a 40 %
	// drop (a bypass of the kind the simulator plants) among customers
	// varying 15 %
	for _, c := range []struct {
		noise float64
		kept  int64 // percent registered
	}{{0.05, 75}, {0.15, 60}} {
		noise := c.noise
		for seed := uint64(1); seed <= 5; seed++ {
			tw := newTown(t, 30, 20, noise, seed)
			for d := 20; d < 30; d++ { // from day 20
				tw.fwd[thief][d] = tw.true_[thief][d] * c.kept / 100
			}
			tw.close(nil)
			in := tw.input()
			a := New(in)
			rep := a.Detect(Config{})
			// the onset is the thief's own, found within a day among its
			// noisy days
			fs := flagsOf(rep, Theft)
			if len(fs) != 1 || fs[0].Meter != thief || fs[0].Area != "A" || fs[0].Start.Before(day(19)) || fs[0].Start.After(day(21)) {
				t.Errorf("noise %.2f seed %d: theft flags %+v", noise, seed, fs)
			}
			rk, ok := a.RankTheft("A", day(29), Config{})
			if !ok || !rk.Lossy || len(rk.Candidates) == 0 || rk.Candidates[0].Meter != thief {
				t.Errorf("noise %.2f seed %d: ranking %+v", noise, seed, rk)
			}
			c := rk.Candidates[0]
			if len(rk.Candidates) > 1 && rk.Candidates[1].Score >= 0.5 {
				t.Errorf("noise %.2f seed %d: second candidate %+v", noise, seed, rk.Candidates[1])
			}
			t.Logf("noise %.2f seed %d: thief score %.2f (r %.2f fit %.2f deficit %.2f of %.2f kWh, excess %.2f)",
				noise, seed, c.Score, c.Correlation, c.Fit, c.Deficit, c.Expected, rk.Excess)
			// B is clean: nobody above the threshold in any window
			for t0 := range 30 {
				rb, ok := a.RankTheft("B", day(t0), Config{})
				if !ok {
					continue
				}
				for _, c := range rb.Candidates {
					if c.Score >= 0.5 {
						t.Errorf("noise %.2f seed %d: clean area B ranks %s at %.2f on day %d", noise, seed, c.Meter, c.Score, t0)
					}
				}
			}
		}
	}
}

func TestTheftCleanArea(t *testing.T) {
	tw := newTown(t, 30, 20, 0.15, 9)
	tw.close(nil)
	rep := Detect(tw.input(), Config{})
	none(t, rep, Theft)
	for _, rk := range rep.Theft {
		for _, c := range rk.Candidates {
			if c.Score >= 0.5 {
				t.Errorf("%s ranks %s at %.2f", rk.Area, c.Meter, c.Score)
			}
		}
	}
	if len(rep.Theft) != 2 {
		t.Errorf("%d rankings", len(rep.Theft))
	}
}
