package review

import (
	"math/big"

	"github.com/headend/headend/protocol/dlt645"
)

// The rules compute exactly, in rationals, and show their figures as
// decimals rounded half away from zero.

// rat is d as a rational.
func rat(d dlt645.Decimal) *big.Rat {
	r := new(big.Rat).SetInt64(d.Units)
	if d.Scale > 0 {
		r.Quo(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale)), nil)))
	}
	return r
}

// ratInt is n as a rational.
func ratInt(n int64) *big.Rat { return new(big.Rat).SetInt64(n) }

// mul is a × b × ...
func mul(a *big.Rat, bs ...*big.Rat) *big.Rat {
	r := new(big.Rat).Set(a)
	for _, b := range bs {
		r.Mul(r, b)
	}
	return r
}

// quo is a / b; b must not be zero.
func quo(a, b *big.Rat) *big.Rat { return new(big.Rat).Quo(a, b) }

// sub is a − b.
func sub(a, b *big.Rat) *big.Rat { return new(big.Rat).Sub(a, b) }

// show formats r with places decimals, rounded half away from zero.
func show(r *big.Rat, places int) string {
	if r.Sign() >= 0 {
		return r.FloatString(places) // FloatString rounds half away from zero
	}
	return "-" + new(big.Rat).Neg(r).FloatString(places)
}

// pct is 100 × a / b, or nil when b is zero.
func pct(a, b *big.Rat) *big.Rat {
	if b.Sign() == 0 {
		return nil
	}
	return mul(quo(a, b), ratInt(100))
}
