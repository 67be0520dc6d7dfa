package anomaly

import (
	"math"
	"slices"
)

// median of v (v is reordered).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// pearson is the correlation of x and y; 0 when either is constant.
func pearson(x, y []float64) float64 {
	mx, my := mean(x), mean(y)
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx <= 1e-12 || syy <= 1e-12 {
		return 0
	}
	return sxy / math.Sqrt(sxx*syy)
}

// partial regresses y on x controlling for z (y = a + b·z + g·x): it
// returns g and the partial correlation of y and x given z, false when
// the system is degenerate.
func partial(y, x, z []float64) (slope, corr float64, ok bool) {
	// residuals of y and x after z
	ry, rx := residual(y, z), residual(x, z)
	var sxy, sxx, syy float64
	for i := range rx {
		sxy += rx[i] * ry[i]
		sxx += rx[i] * rx[i]
		syy += ry[i] * ry[i]
	}
	if sxx <= 1e-12 {
		return 0, 0, false
	}
	slope = sxy / sxx
	if syy <= 1e-12 {
		return slope, 0, true
	}
	return slope, sxy / math.Sqrt(sxx*syy), true
}

// residual of y after a least-squares line on z.
func residual(y, z []float64) []float64 {
	my, mz := mean(y), mean(z)
	var szz, szy float64
	for i := range z {
		szz += (z[i] - mz) * (z[i] - mz)
		szy += (z[i] - mz) * (y[i] - my)
	}
	b := 0.0
	if szz > 1e-12 {
		b = szy / szz
	}
	out := make([]float64, len(y))
	for i := range y {
		out[i] = y[i] - my - b*(z[i]-mz)
	}
	return out
}

// sd is the sample standard deviation of v; 0 with fewer than 2 values.
func sd(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	m := mean(v)
	var s float64
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(v)-1))
}
