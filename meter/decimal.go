package meter

import (
	"math"
	"math/big"
	"math/bits"

	"github.com/headend/headend/protocol/dlt645"
)

// Decimal is an exact decimal, as on the wire: the one decimal type of the
// head-end, with the one kit of exact arithmetic on it below (sums and
// differences that report overflow, percentages rounded 四舍五入).
type Decimal = dlt645.Decimal

var pow10 = [...]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// MaxScale is the largest scale the helpers accept.
const MaxScale = 18

// align returns a and b at the larger of their scales, false on overflow.
func align(a, b Decimal) (Decimal, Decimal, bool) {
	s := max(a.Scale, b.Scale)
	if s > MaxScale {
		return a, b, false
	}
	x, ok1 := a.Rescale(s)
	y, ok2 := b.Rescale(s)
	return x, y, ok1 && ok2
}

// Add returns a + b at the larger scale, and false on overflow.
func Add(a, b Decimal) (Decimal, bool) {
	x, y, ok := align(a, b)
	if !ok {
		return Decimal{}, false
	}
	c := x.Units + y.Units
	if (c > x.Units) != (y.Units > 0) {
		return Decimal{}, false
	}
	return Decimal{Units: c, Scale: x.Scale}, true
}

// Sub returns a − b at the larger scale, and false on overflow.
func Sub(a, b Decimal) (Decimal, bool) {
	if b.Units == math.MinInt64 {
		return Decimal{}, false
	}
	return Add(a, Decimal{Units: -b.Units, Scale: b.Scale})
}

// MulInt returns a × n, and false on overflow.
func MulInt(a Decimal, n int64) (Decimal, bool) {
	if a.Units == 0 || n == 0 {
		return Decimal{Scale: a.Scale}, true
	}
	c := a.Units * n
	if c/n != a.Units || (a.Units == -1 && n == math.MinInt64) || (n == -1 && a.Units == math.MinInt64) {
		return Decimal{}, false
	}
	return Decimal{Units: c, Scale: a.Scale}, true
}

// Cmp compares a and b exactly, whatever their scales: -1, 0 or +1.
func Cmp(a, b Decimal) int { return a.Cmp(b) }

// Sign is -1, 0 or +1.
func Sign(d Decimal) int {
	switch {
	case d.Units < 0:
		return -1
	case d.Units > 0:
		return 1
	}
	return 0
}

// Percent returns num / den × 100 with places decimals, rounded half away
// from zero (四舍五入), and false when den is zero, places is beyond
// [MaxScale] or the result does not fit.
func Percent(num, den Decimal, places uint8) (Decimal, bool) {
	if den.Units == 0 || places > MaxScale || num.Scale > MaxScale || den.Scale > MaxScale {
		return Decimal{}, false
	}
	ten := big.NewInt(10)
	// num/10^ns ÷ den/10^ds × 100 × 10^p = num × 10^(ds+p+2) / (den × 10^ns)
	n := new(big.Int).Mul(big.NewInt(num.Units), new(big.Int).Exp(ten, big.NewInt(int64(den.Scale)+int64(places)+2), nil))
	d := new(big.Int).Mul(big.NewInt(den.Units), new(big.Int).Exp(ten, big.NewInt(int64(num.Scale)), nil))
	if d.Sign() < 0 {
		n.Neg(n)
		d.Neg(d)
	}
	neg := n.Sign() < 0
	n.Abs(n)
	q, r := new(big.Int).QuoRem(n, d, new(big.Int))
	if r.Lsh(r, 1).Cmp(d) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if neg {
		q.Neg(q)
	}
	if !q.IsInt64() {
		return Decimal{}, false
	}
	return Decimal{Units: q.Int64(), Scale: places}, true
}

// Round returns d with places decimals, rounded half away from zero.
func Round(d Decimal, places uint8) Decimal {
	if places >= d.Scale {
		if r, ok := d.Rescale(places); ok {
			return r
		}
		return d
	}
	p := pow10[d.Scale-places]
	q, r := d.Units/p, d.Units%p
	if r < 0 {
		r = -r
	}
	if 2*r >= p {
		if d.Units < 0 {
			q--
		} else {
			q++
		}
	}
	return Decimal{Units: q, Scale: places}
}

// Mul returns a × b exactly, and false if it does not fit.
func Mul(a, b Decimal) (Decimal, bool) {
	s := int(a.Scale) + int(b.Scale)
	hi, lo := bits.Mul64(abs64(a.Units), abs64(b.Units))
	if s > MaxScale || hi != 0 || lo > math.MaxInt64 {
		return Decimal{}, false
	}
	u := int64(lo)
	if (a.Units < 0) != (b.Units < 0) {
		u = -u
	}
	return Decimal{Units: u, Scale: uint8(s)}, true
}

// Abs returns |d|, and false when it does not fit.
func Abs(d Decimal) (Decimal, bool) {
	if d.Units == math.MinInt64 {
		return d, false
	}
	if d.Units < 0 {
		d.Units = -d.Units
	}
	return d, true
}

func abs64(a int64) uint64 {
	if a < 0 {
		return uint64(-a)
	}
	return uint64(a)
}
