package vee

import (
	"math"
	"math/bits"

	"github.com/headend/headend/protocol/dlt645"
)

// Exact arithmetic on decimals. Every comparison of a value with a
// threshold goes through these: products are formed in 128 bits, sums are
// checked for overflow, and an operation that would overflow reports it
// (the check is then skipped, never decided on a wrapped number).

// maxScale is the most digits after the point a Decimal may carry here.
const maxScale = 18

var pow10 = [maxScale + 1]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// i128 is a signed 128-bit integer, hi:lo in two's complement.
type i128 struct {
	hi int64
	lo uint64
}

func abs64(a int64) uint64 {
	if a < 0 {
		return uint64(-a) // -MinInt64 wraps to itself, which is 1<<63 as uint64
	}
	return uint64(a)
}

// mul returns a × b exactly.
func mul(a, b int64) i128 {
	hi, lo := bits.Mul64(abs64(a), abs64(b))
	r := i128{int64(hi), lo}
	if (a < 0) != (b < 0) {
		r = r.neg()
	}
	return r
}

func (x i128) neg() i128 {
	lo := ^x.lo + 1
	hi := ^x.hi
	if lo == 0 {
		hi++
	}
	return i128{hi, lo}
}

// add returns x + y; the operands here are products of two int64s, far
// from the 128-bit limit.
func (x i128) add(y i128) i128 {
	lo, c := bits.Add64(x.lo, y.lo, 0)
	return i128{x.hi + y.hi + int64(c), lo}
}

func (x i128) cmp(y i128) int {
	switch {
	case x.hi < y.hi:
		return -1
	case x.hi > y.hi:
		return 1
	case x.lo < y.lo:
		return -1
	case x.lo > y.lo:
		return 1
	}
	return 0
}

// okScale reports whether d can be computed with.
func okScale(d dlt645.Decimal) bool { return d.Scale <= maxScale }

// cmpDec compares a and b exactly, whatever their scales (at most 18).
func cmpDec(a, b dlt645.Decimal) int {
	s := max(a.Scale, b.Scale)
	return mul(a.Units, pow10[s-a.Scale]).cmp(mul(b.Units, pow10[s-b.Scale]))
}

// rescale returns d's units at scale s, false on overflow.
func rescale(d dlt645.Decimal, s uint8) (int64, bool) {
	if s < d.Scale || s > maxScale {
		r, ok := d.Rescale(s)
		return r.Units, ok
	}
	m := pow10[s-d.Scale]
	hi, lo := bits.Mul64(abs64(d.Units), uint64(m))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	if d.Units < 0 {
		return -int64(lo), true
	}
	return int64(lo), true
}

// common returns a's and b's units at their common scale.
func common(a, b dlt645.Decimal) (int64, int64, uint8, bool) {
	s := max(a.Scale, b.Scale)
	au, ok1 := rescale(a, s)
	bu, ok2 := rescale(b, s)
	return au, bu, s, ok1 && ok2
}

func addInt(a, b int64) (int64, bool) {
	c := a + b
	if (c > a) != (b > 0) {
		return 0, false
	}
	return c, true
}

// sub returns a − b at their common scale.
func sub(a, b dlt645.Decimal) (dlt645.Decimal, bool) {
	au, bu, s, ok := common(a, b)
	if !ok || (bu == math.MinInt64) {
		return dlt645.Decimal{}, false
	}
	d, ok := addInt(au, -bu)
	return dlt645.Decimal{Units: d, Scale: s}, ok
}

// add returns a + b at their common scale.
func add(a, b dlt645.Decimal) (dlt645.Decimal, bool) {
	au, bu, s, ok := common(a, b)
	if !ok {
		return dlt645.Decimal{}, false
	}
	d, ok := addInt(au, bu)
	return dlt645.Decimal{Units: d, Scale: s}, ok
}

// product returns a × b exactly, false if it does not fit.
func product(a, b dlt645.Decimal) (dlt645.Decimal, bool) {
	s := int(a.Scale) + int(b.Scale)
	hi, lo := bits.Mul64(abs64(a.Units), abs64(b.Units))
	if s > maxScale || hi != 0 || lo > math.MaxInt64 {
		return dlt645.Decimal{}, false
	}
	u := int64(lo)
	if (a.Units < 0) != (b.Units < 0) {
		u = -u
	}
	return dlt645.Decimal{Units: u, Scale: uint8(s)}, true
}

func isZero(d dlt645.Decimal) bool { return d.Units == 0 }

func negative(d dlt645.Decimal) bool { return d.Units < 0 }

// absDec returns |d|.
func absDec(d dlt645.Decimal) (dlt645.Decimal, bool) {
	if d.Units == math.MinInt64 {
		return d, false
	}
	if d.Units < 0 {
		d.Units = -d.Units
	}
	return d, true
}

// mulDiv returns ⌊a × b / c⌋ for a, b ≥ 0 and b ≤ c, c > 0: a share b/c
// of a, which fits in 64 bits.
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	q, _ := bits.Div64(hi, lo, c)
	return q
}
