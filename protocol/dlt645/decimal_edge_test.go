package dlt645

import (
	"math"
	"testing"
)

// Values no register carries still format and compare exactly, so that a
// bad value read from a store or a fuzzer shows in an error instead of a
// panic.
func TestDecimalEdges(t *testing.T) {
	for _, c := range []struct {
		d    Decimal
		want string
	}{
		{Decimal{99999999, 2}, "999999.99"},
		{Decimal{-5, 3}, "-0.005"},
		{Decimal{0, 2}, "0.00"},
		{Decimal{math.MinInt64, 0}, "-9223372036854775808"},
		{Decimal{math.MinInt64, 2}, "-92233720368547758.08"},
		{Decimal{12, 20}, "0.00000000000000000012"},
	} {
		if got := c.d.String(); got != c.want {
			t.Errorf("%#v.String() = %q, want %q", c.d, got, c.want)
		}
	}
	// 1e17 at scale 0 does not fit at scale 3 in 64 bits; compared exactly
	if c := (Decimal{1e17, 0}).Cmp(Decimal{1, 3}); c != 1 {
		t.Errorf("1e17 vs 0.001: %d, want 1", c)
	}
	if c := (Decimal{-1e17, 0}).Cmp(Decimal{1, 3}); c != -1 {
		t.Errorf("-1e17 vs 0.001: %d, want -1", c)
	}
	if c := (Decimal{100, 2}).Cmp(Decimal{1, 0}); c != 0 {
		t.Errorf("1.00 vs 1: %d, want 0", c)
	}
	if f := (Decimal{12, 20}).Float64(); f < 1.19e-19 || f > 1.21e-19 {
		t.Errorf("Float64 at scale 20 = %g", f)
	}
}
