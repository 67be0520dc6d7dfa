package anomaly

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// median by selection agrees with the middle of a sort, duplicates and
// even lengths included.
func TestMedian(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n < 60; n++ {
		for range 50 {
			v := make([]float64, n)
			for i := range v {
				v[i] = float64(rng.IntN(8)) // many ties
				if n%3 == 0 {
					v[i] = rng.NormFloat64()
				}
			}
			s := slices.Sorted(slices.Values(v))
			want := s[n/2]
			if n%2 == 0 {
				want = (s[n/2-1] + s[n/2]) / 2
			}
			if got := median(slices.Clone(v)); got != want {
				t.Fatalf("median of %v = %v, want %v", v, got, want)
			}
		}
	}
	if median(nil) != 0 {
		t.Error("median of nothing")
	}
}

// Theil–Sen is not moved by one wild point; spread is not either.
func TestTheilSenSpread(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6, 7}
	y := []float64{3, 5, 7, 9, 11, 13, 15} // 1 + 2x
	y[3] = 100
	var tmp []float64
	a, b, ok := theilSen(x, y, &tmp)
	if !ok || a != 1 || b != 2 {
		t.Errorf("fit %v + %v x (%v)", a, b, ok)
	}
	if _, _, ok := theilSen([]float64{2, 2, 2}, []float64{1, 2, 3}, &tmp); ok {
		t.Error("fit without distinct x")
	}
	// 1..7 less one wild value: the wild one is pulled in to the median ± 3 × 1.4826 × MAD
	v := []float64{1, 2, 3, 4, 5, 6, 1000}
	// median 4, MAD 2: bound 4 + 8.8956
	w := []float64{1, 2, 3, 4, 5, 6, 4 + 3*1.4826*2}
	if got, want := spread(v, &tmp), sd(w); math.Abs(got-want) > 1e-12 {
		t.Errorf("spread %v, want %v", got, want)
	}
}
