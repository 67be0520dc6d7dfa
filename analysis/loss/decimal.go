package loss

import (
	"math"
	"math/big"

	"github.com/headend/headend/protocol/dlt645"
)

// Decimal is an exact decimal, as on the wire.
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
func Cmp(a, b Decimal) int {
	if x, y, ok := align(a, b); ok {
		switch {
		case x.Units < y.Units:
			return -1
		case x.Units > y.Units:
			return 1
		}
		return 0
	}
	return bigOf(a, b.Scale).Cmp(bigOf(b, a.Scale))
}

// bigOf is d × 10^extra as an integer, for comparisons beyond int64.
func bigOf(d Decimal, extra uint8) *big.Int {
	v := big.NewInt(d.Units)
	return v.Mul(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(extra)), nil))
}

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
