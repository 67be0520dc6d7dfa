package loss

import "github.com/headend/headend/meter"

// Decimal is an exact decimal, as on the wire; the arithmetic below is
// meter's one kit, named here for the balances' code.
type Decimal = meter.Decimal

// MaxScale is the largest scale the helpers accept.
const MaxScale = meter.MaxScale

// Add returns a + b at the larger scale, and false on overflow.
func Add(a, b Decimal) (Decimal, bool) { return meter.Add(a, b) }

// Sub returns a − b at the larger scale, and false on overflow.
func Sub(a, b Decimal) (Decimal, bool) { return meter.Sub(a, b) }

// MulInt returns a × n, and false on overflow.
func MulInt(a Decimal, n int64) (Decimal, bool) { return meter.MulInt(a, n) }

// Cmp compares a and b exactly, whatever their scales: -1, 0 or +1.
func Cmp(a, b Decimal) int { return meter.Cmp(a, b) }

// Sign is -1, 0 or +1.
func Sign(d Decimal) int { return meter.Sign(d) }

// Percent returns num / den × 100 with places decimals, rounded half away
// from zero (四舍五入); see [meter.Percent].
func Percent(num, den Decimal, places uint8) (Decimal, bool) { return meter.Percent(num, den, places) }

// Round returns d with places decimals, rounded half away from zero.
func Round(d Decimal, places uint8) Decimal { return meter.Round(d, places) }
