package dlt645

import (
	"errors"
	"fmt"
	"math"
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

// AppendText appends the decimal string of d to b.
func (d Decimal) AppendText(b []byte) []byte {
	u := d.Units
	if u < 0 {
		b = append(b, '-')
		u = -u
	}
	if d.Scale == 0 {
		return strconv.AppendInt(b, u, 10)
	}
	p := pow10[d.Scale]
	b = strconv.AppendInt(b, u/p, 10)
	b = append(b, '.')
	frac := u % p
	for q := p / 10; q > 0; q /= 10 {
		b = append(b, byte('0'+frac/q%10))
	}
	return b
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

// Cmp compares two decimals of any scale: -1, 0 or +1.
func (d Decimal) Cmp(e Decimal) int {
	s := max(d.Scale, e.Scale)
	a, _ := d.Rescale(s)
	b, _ := e.Rescale(s)
	switch {
	case a.Units < b.Units:
		return -1
	case a.Units > b.Units:
		return 1
	}
	return 0
}

// Float64 returns the nearest float64, for display and charts only.
func (d Decimal) Float64() float64 { return float64(d.Units) / float64(pow10[d.Scale]) }
