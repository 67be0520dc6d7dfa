package anomaly

import (
	"math"
)

// median of v (v is reordered).
func median(v []float64) float64 {
	n := len(v)
	if n == 0 {
		return 0
	}
	m := nth(v, n/2)
	if n%2 == 1 {
		return m
	}
	lo := v[0] // the largest of the lower half
	for _, x := range v[1 : n/2] {
		lo = max(lo, x)
	}
	return (lo + m) / 2
}

// nth reorders v so that v[k] is the value a sort would put there, none
// before it greater and none after it less, and returns it (Hoare's
// selection).
func nth(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		// median of three as the pivot
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		p := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < p {
				i++
			}
			for v[j] > p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
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

// spread is a standard deviation robust to a few outlying values: that of
// v with the values beyond median ± 3 × 1.4826 × the median absolute
// deviation pulled in to the bound (plain when the deviation is 0).
// scratch is working space.
func spread(v []float64, scratch *[]float64) float64 {
	if len(v) < 2 {
		return 0
	}
	w := append((*scratch)[:0], v...)
	*scratch = w
	m := median(w)
	for i := range v {
		w[i] = math.Abs(v[i] - m)
	}
	b := 3 * 1.4826 * median(w)
	if b == 0 {
		return sd(v)
	}
	for i := range v {
		w[i] = min(max(v[i], m-b), m+b)
	}
	return sd(w)
}

// theilSen fits y = a + b·x robustly: b is the median of the slopes
// between pairs of points, a the median of y − b·x; false without two
// distinct x. scratch is working space.
func theilSen(x, y []float64, scratch *[]float64) (a, b float64, ok bool) {
	v := (*scratch)[:0]
	for i := range x {
		for j := i + 1; j < len(x); j++ {
			if dx := x[j] - x[i]; math.Abs(dx) > 1e-9*max(math.Abs(x[i]), math.Abs(x[j])) {
				v = append(v, (y[j]-y[i])/dx)
			}
		}
	}
	if len(v) == 0 {
		*scratch = v
		return 0, 0, false
	}
	b = median(v)
	v = v[:0]
	for i := range x {
		v = append(v, y[i]-b*x[i])
	}
	*scratch = v
	return median(v), b, true
}
