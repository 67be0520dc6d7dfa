package anomaly

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/headend/headend/archive"
)

const c0, c1 = "000000000100", "000000000101"

func TestRegisterBack(t *testing.T) {
	f := simple(t, 10, 5)
	f.fwd[c0][5] = -1 // 0.01 kWh down
	f.fwd[c1][5] = 0  // standing still is not going back
	rep := Detect(f.input(), Config{})
	fl := one(t, rep, RegisterBack, c0, 5)
	if fl.Figures[2].Value.String() != "0.01" || len(fl.Reads) != 2 {
		t.Errorf("figures %+v reads %v", fl.Figures, fl.Reads)
	}
	// a rollover is not going back
	f = simple(t, 10, 5)
	f.start[c0] = 1e8 - 500
	none(t, Detect(f.input(), Config{}), RegisterBack)
}

func TestRegisterJumpRating(t *testing.T) {
	// direct meter: 220 V × 60 A × 1 × 24 h = 316.8 kWh a day; day 2 has no history yet
	for _, c := range []struct {
		delta int64
		want  bool
	}{{31680, false}, {31681, true}} {
		f := simple(t, 10, 5)
		f.fwd[c0][2] = c.delta
		rep := Detect(f.input(), Config{})
		if !c.want {
			none(t, rep, RegisterJump)
			continue
		}
		if fl := one(t, rep, RegisterJump, c0, 2); fl.Confidence != 0.85 {
			t.Errorf("confidence %v", fl.Confidence)
		}
	}
	// a CT meter's rating scales with its multiplier: 220 × 6 × 3 × 24 h × 20 = 1900.8 kWh
	f := simple(t, 10, 5)
	f.arch.Meters[1].CT = 20
	f.fwd[c0][2] = 9504 // 95.04 × 20 = 1900.80
	none(t, Detect(f.input(), Config{}), RegisterJump)
	f.fwd[c0][2] = 9505
	one(t, Detect(f.input(), Config{}), RegisterJump, c0, 2)
	// an explicit rating
	f = simple(t, 10, 5)
	f.ratings[c0] = Rating{Voltage: 220, MaxCurrent: 10, Phases: 1} // 52.8 kWh
	f.fwd[c0][2] = 5281
	one(t, Detect(f.input(), Config{}), RegisterJump, c0, 2)
}

func TestRegisterJumpHistory(t *testing.T) {
	for _, c := range []struct {
		base, delta int64
		want        bool
	}{
		{1000, 10000, false}, // 100.00 = 10 × baseline 10.00: not beyond
		{1000, 10001, true},
		{100, 5100, false}, // 51.00: beyond 10 × 1.00, but only 50.00 above the baseline
		{100, 5101, true},
	} {
		f := simple(t, 12, 5)
		for d := range 12 {
			f.fwd[c0][d] = c.base
		}
		f.fwd[c0][10] = c.delta
		rep := Detect(f.input(), Config{})
		if !c.want {
			none(t, rep, RegisterJump)
			continue
		}
		if fl := one(t, rep, RegisterJump, c0, 10); fl.Confidence != 0.6 {
			t.Errorf("confidence %v", fl.Confidence)
		}
	}
}

func TestReverseEnergy(t *testing.T) {
	f := simple(t, 10, 5)
	f.rev[c0][3] = 50 // 0.50: not beyond
	f.rev[c1][4], f.rev[c1][5] = 51, 2000
	f.meter("000000000150", "A", archive.RolePV, 1)
	f.rev["000000000150"][4] = 3000 // PV export is no anomaly
	rep := Detect(f.input(), Config{})
	fl := one(t, rep, ReverseEnergy, c1, 4)
	if !fl.End.Equal(day(5)) || fl.Figures[0].Value.String() != "20.51" {
		t.Errorf("end %v figures %+v", fl.End, fl.Figures)
	}
	// reverse wiring: all energy reverse, confidence 1
	f = simple(t, 10, 5)
	for d := range 10 {
		f.rev[c0][d], f.fwd[c0][d] = f.fwd[c0][d], 0
	}
	if fl := one(t, Detect(f.input(), Config{}), ReverseEnergy, c0, 0); fl.Confidence != 1 || !fl.End.Equal(day(9)) {
		t.Errorf("reverse wiring: confidence %v end %v", fl.Confidence, fl.End)
	}
}

func TestStopped(t *testing.T) {
	stop := func(f *field, from, to int) {
		for d := from; d <= to; d++ {
			f.fwd[c0][d] = 0
		}
	}
	// one day still is not enough
	f := simple(t, 12, 5)
	stop(f, 8, 8)
	none(t, Detect(f.input(), Config{}), Stopped)
	// two days, load expected from its baseline of ~10 kWh
	f = simple(t, 12, 5)
	stop(f, 8, 9)
	if fl := one(t, Detect(f.input(), Config{}), Stopped, c0, 8); fl.Confidence != 0.6 || !fl.End.Equal(day(9)) {
		t.Errorf("confidence %v end %v", fl.Confidence, fl.End)
	}
	// and current flowing
	f.instant(c0, "phase A current", day(9).Add(14*3600e9), "0.11")
	if fl := one(t, Detect(f.input(), Config{}), Stopped, c0, 8); fl.Confidence != 0.95 {
		t.Errorf("with current: confidence %v", fl.Confidence)
	}
	// a vacant house: no history of load, current at the threshold
	f = simple(t, 12, 5)
	stop(f, 0, 11)
	f.instant(c0, "phase A current", day(3), "0.10")
	none(t, Detect(f.input(), Config{}), Stopped)
	f.instant(c0, "phase A current", day(4), "-0.11") // reverse current flows too
	if fl := one(t, Detect(f.input(), Config{}), Stopped, c0, 0); fl.Confidence != 0.9 {
		t.Errorf("current only: confidence %v", fl.Confidence)
	}
}

func TestNoAnswer(t *testing.T) {
	f := simple(t, 10, 5)
	f.drop[c0] = map[int]bool{3: true, 4: true}
	none(t, Detect(f.input(), Config{}), NoAnswer)
	f.drop[c0][5] = true
	fl := one(t, Detect(f.input(), Config{}), NoAnswer, c0, 3)
	if !fl.End.Equal(day(5)) || fl.Confidence != 0.6 {
		t.Errorf("end %v confidence %v", fl.End, fl.Confidence)
	}
	// the last boundary counts too
	f = simple(t, 10, 5)
	f.drop[c1] = map[int]bool{8: true, 9: true, 10: true}
	if fl := one(t, Detect(f.input(), Config{}), NoAnswer, c1, 8); !fl.End.Equal(day(10)) {
		t.Errorf("end %v", fl.End)
	}
}

func TestClockDrift(t *testing.T) {
	f := simple(t, 10, 5)
	f.instant(c0, QuantityClockError, day(2).Add(3*3600e9), "30")
	f.instant(c1, QuantityClockError, day(2).Add(3*3600e9), "-30")
	none(t, Detect(f.input(), Config{}), ClockDrift)
	f.instant(c0, QuantityClockError, day(4).Add(3*3600e9), "-31")
	fl := one(t, Detect(f.input(), Config{}), ClockDrift, c0, 4)
	if fl.Confidence < 0.5 || fl.Confidence > 0.51 {
		t.Errorf("confidence %v", fl.Confidence)
	}
	// a drifting clock, days running, beyond what a broadcast corrects
	f.instant(c0, QuantityClockError, day(5).Add(3*3600e9), "120")
	f.instant(c0, QuantityClockError, day(6).Add(3*3600e9), "400")
	fl = one(t, Detect(f.input(), Config{}), ClockDrift, c0, 4)
	if fl.Confidence != 1 || !fl.End.Equal(day(6)) || fl.Figures[0].Value.String() != "400" {
		t.Errorf("confidence %v end %v figures %+v", fl.Confidence, fl.End, fl.Figures)
	}
}

// three-phase readings of a meter every 15 minutes of day d
func threePhase(f *field, addr string, d, n int, v [3]string, i [3]string) {
	for k := range n {
		at := day(d).Add(float64Dur(k))
		for p := range 3 {
			f.instant(addr, fmt.Sprintf("phase %c voltage", 'A'+p), at, v[p])
			f.instant(addr, fmt.Sprintf("phase %c current", 'A'+p), at, i[p])
		}
	}
}

func float64Dur(k int) time.Duration { return time.Duration(k) * 15 * time.Minute }

func TestPhaseLoss(t *testing.T) {
	ok, cur := [3]string{"230.0", "229.0", "231.0"}, [3]string{"5.000", "5.000", "5.000"}
	f := simple(t, 10, 5)
	threePhase(f, c0, 1, 8, ok, cur)
	threePhase(f, c0, 2, 1, [3]string{"230.0", "0.4", "231.0"}, cur)                    // one read: not enough
	threePhase(f, c0, 3, 4, [3]string{"230.0", "132.0", "231.0"}, cur)                  // at 0.6 × 220: not lost (but out of range)
	threePhase(f, c1, 3, 4, [3]string{"230.0", "0.0", "0.0"}, [3]string{"1", "0", "0"}) // single phase meter: B and C never seen
	none(t, Detect(f.input(), Config{}), PhaseLoss)
	threePhase(f, c0, 5, 2, [3]string{"230.0", "131.9", "231.0"}, cur)
	threePhase(f, c0, 6, 2, [3]string{"230.0", "0.0", "231.0"}, cur)
	fl := one(t, Detect(f.input(), Config{}), PhaseLoss, c0, 5)
	if !fl.End.Equal(day(6)) || fl.Confidence != 1 || len(fl.Reads) != 4 {
		t.Errorf("end %v confidence %v reads %d", fl.End, fl.Confidence, len(fl.Reads))
	}
	if fl.Figures[0].Value.String() != "0.0" {
		t.Errorf("lowest %s", fl.Figures[0].Value)
	}
}

func TestVoltageRange(t *testing.T) {
	cur := [3]string{"5", "5", "5"}
	f := simple(t, 10, 5)
	threePhase(f, c0, 1, 4, [3]string{"198.0", "235.4", "230.0"}, cur) // the limits themselves
	threePhase(f, c0, 2, 3, [3]string{"197.9", "230.0", "230.0"}, cur) // 3 reads: not enough
	none(t, Detect(f.input(), Config{}), VoltageRange)
	threePhase(f, c0, 4, 2, [3]string{"197.9", "235.5", "230.0"}, cur)
	fl := one(t, Detect(f.input(), Config{}), VoltageRange, c0, 4)
	if fl.Figures[0].Value.String() != "197.9" || math.Abs(fl.Confidence-(0.5+0.5*4.0/6)) > 1e-9 {
		t.Errorf("worst %s confidence %v", fl.Figures[0].Value, fl.Confidence)
	}
}

func TestCurrentImbalance(t *testing.T) {
	v := [3]string{"230", "230", "230"}
	f := simple(t, 10, 5)
	threePhase(f, c0, 1, 8, v, [3]string{"10", "10", "6"})                         // 40 %: not beyond
	threePhase(f, c0, 2, 3, v, [3]string{"10", "10", "5.9"})                       // 3 reads: not enough
	threePhase(f, c0, 3, 8, v, [3]string{"0.5", "0.1", "0.1"})                     // too little current
	threePhase(f, c1, 3, 8, [3]string{"230", "0", "0"}, [3]string{"10", "0", "0"}) // single phase
	none(t, Detect(f.input(), Config{}), CurrentImbalance)
	threePhase(f, c0, 5, 4, v, [3]string{"-10", "10", "5.9"})
	fl := one(t, Detect(f.input(), Config{}), CurrentImbalance, c0, 5)
	if fl.Figures[0].Value.String() != "41.0000" || len(fl.Reads) != 12 {
		t.Errorf("figures %+v reads %d", fl.Figures, len(fl.Reads))
	}
}

func TestCoverOpened(t *testing.T) {
	f := simple(t, 10, 5)
	f.instant(c0, QuantityCoverOpen, day(1).Add(9*3600e9), "3")
	f.instant(c0, QuantityCoverOpen, day(2).Add(9*3600e9), "3")
	none(t, Detect(f.input(), Config{}), CoverOpened)
	f.instant(c0, QuantityCoverOpen, day(3).Add(9*3600e9), "4")
	fl := one(t, Detect(f.input(), Config{}), CoverOpened, c0, 3)
	if fl.Figures[2].Value.String() != "1" || fl.Reads[0].Time != day(2).Add(9*3600e9) {
		t.Errorf("figures %+v reads %v", fl.Figures, fl.Reads)
	}
}
