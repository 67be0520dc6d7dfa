package dlt645

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
)

// Decimal is an exact decimal number: Units × 10^-Scale. Register values
// are carried as Decimals from the wire to storage, never as binary
// floating point. The zero Decimal is 0.
type Decimal struct {
	Units int64
	Scale uint8
}

// ErrDecimal reports a string that is not a decimal number.
var ErrDecimal = errors.New("dlt645: bad decimal")

var pow10 = [...]int64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18}

// ParseDecimal parses "-123.45" and the like.
func ParseDecimal(s string) (Decimal, error) {
	var d Decimal
	if s == "" {
		return d, fmt.Errorf("%w: empty", ErrDecimal)
	}
	neg := false
	i := 0
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		i = 1
	}
	seenDot, digits := false, 0
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' && !seenDot:
			seenDot = true
		case c >= '0' && c <= '9':
			if d.Units > (math.MaxInt64-9)/10 || (seenDot && int(d.Scale)+1 >= len(pow10)) {
				return Decimal{}, fmt.Errorf("%w %q: too many digits", ErrDecimal, s)
			}
			d.Units = d.Units*10 + int64(c-'0')
			digits++
			if seenDot {
				d.Scale++
			}
		default:
			return Decimal{}, fmt.Errorf("%w %q", ErrDecimal, s)
		}
	}
	if digits == 0 {
		return Decimal{}, fmt.Errorf("%w %q", ErrDecimal, s)
	}
	if neg {
		d.Units = -d.Units
	}
	return d, nil
}

// String formats d with exactly Scale digits after the point.
func (d Decimal) String() string {
	var b [24]byte
	return string(d.AppendText(b[:0]))
}

// AppendText appends the decimal string of d to b. Any Units and Scale
// format, even those no register carries (math.MinInt64, a scale past
// 18), so that a bad value can still be shown in an error.
func (d Decimal) AppendText(b []byte) []byte {
	mag := uint64(d.Units)
	if d.Units < 0 {
		b = append(b, '-')
		mag = uint64(-(d.Units + 1)) + 1
	}
	var buf [20]byte
	digits := strconv.AppendUint(buf[:0], mag, 10)
	sc := int(d.Scale)
	if sc == 0 {
		return append(b, digits...)
	}
	if len(digits) <= sc {
		b = append(b, '0', '.')
		for range sc - len(digits) {
			b = append(b, '0')
		}
		return append(b, digits...)
	}
	b = append(b, digits[:len(digits)-sc]...)
	b = append(b, '.')
	return append(b, digits[len(digits)-sc:]...)
}

// MarshalText implements encoding.TextMarshaler.
func (d Decimal) MarshalText() ([]byte, error) { return d.AppendText(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Decimal) UnmarshalText(b []byte) error {
	v, err := ParseDecimal(string(b))
	if err == nil {
		*d = v
	}
	return err
}

// Rescale returns d with the given scale, and false if that loses digits
// or overflows.
func (d Decimal) Rescale(scale uint8) (Decimal, bool) {
	if int(scale) >= len(pow10) {
		return d, false
	}
	switch {
	case scale == d.Scale:
		return d, true
	case scale > d.Scale:
		m := pow10[scale-d.Scale]
		u := d.Units * m
		if u/m != d.Units {
			return d, false
		}
		return Decimal{u, scale}, true
	default:
		m := pow10[d.Scale-scale]
		if d.Units%m != 0 {
			return d, false
		}
		return Decimal{d.Units / m, scale}, true
	}
}

// Cmp compares two decimals of any scale: -1, 0 or +1, exactly, even
// when one of them cannot be brought to the other's scale in 64 bits.
func (d Decimal) Cmp(e Decimal) int {
	s := max(d.Scale, e.Scale)
	a, ok1 := d.Rescale(s)
	b, ok2 := e.Rescale(s)
	if !ok1 || !ok2 {
		return d.big().Cmp(e.big())
	}
	switch {
	case a.Units < b.Units:
		return -1
	case a.Units > b.Units:
		return 1
	}
	return 0
}

func (d Decimal) big() *big.Rat {
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale)), nil)
	return new(big.Rat).SetFrac(big.NewInt(d.Units), den)
}

// Float64 returns the nearest float64, for display and charts only.
func (d Decimal) Float64() float64 {
	if int(d.Scale) < len(pow10) {
		return float64(d.Units) / float64(pow10[d.Scale])
	}
	return float64(d.Units) * math.Pow10(-int(d.Scale))
}
