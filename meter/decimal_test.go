package meter

import (
	"math"
	"testing"
)

func TestDecimalKit(t *testing.T) {
	d := func(u int64, s uint8) Decimal { return Decimal{Units: u, Scale: s} }
	if got, ok := Add(d(150, 2), d(5, 1)); !ok || got != d(200, 2) {
		t.Errorf("1.50 + 0.5 = %v %v, want 2.00", got, ok)
	}
	if _, ok := Add(d(math.MaxInt64, 0), d(1, 0)); ok {
		t.Error("MaxInt64 + 1 did not report overflow")
	}
	if got, ok := Sub(d(1, 0), d(25, 2)); !ok || got != d(75, 2) {
		t.Errorf("1 − 0.25 = %v %v, want 0.75", got, ok)
	}
	if _, ok := Sub(d(0, 0), d(math.MinInt64, 0)); ok {
		t.Error("0 − MinInt64 did not report overflow")
	}
	if got, ok := Mul(d(-15, 1), d(3, 2)); !ok || got != d(-45, 3) {
		t.Errorf("−1.5 × 0.03 = %v %v, want −0.045", got, ok)
	}
	if _, ok := Mul(d(math.MaxInt64, 0), d(2, 0)); ok {
		t.Error("MaxInt64 × 2 did not report overflow")
	}
	if got, ok := Abs(d(-7, 1)); !ok || got != d(7, 1) {
		t.Errorf("|−0.7| = %v %v", got, ok)
	}
	// beyond int64 at a common scale, still exact
	if c := Cmp(d(math.MaxInt64, 0), d(1, 18)); c != 1 {
		t.Errorf("Cmp(MaxInt64, 1e-18) = %d, want 1", c)
	}
	if got, ok := Percent(d(1, 0), d(3, 0), 2); !ok || got != d(3333, 2) {
		t.Errorf("1/3 = %v %v, want 33.33%%", got, ok)
	}
	if got := Round(d(-125, 2), 1); got != d(-13, 1) {
		t.Errorf("Round(−1.25, 1) = %v, want −1.3", got)
	}
}
