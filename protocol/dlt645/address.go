package dlt645

import (
	"errors"
	"fmt"
)

// Address is a meter's communication address: 12 BCD digits, most
// significant byte first (the reverse of wire order). A byte of AA is a
// wildcard. The zero Address is 000000000000.
type Address [6]byte

// Broadcast is the address every meter on a bus obeys without replying
// (broadcast time sync, freeze).
var Broadcast = Address{0x99, 0x99, 0x99, 0x99, 0x99, 0x99}

// Wildcard is the address the single meter on a point-to-point line
// answers to; it is used to read an unknown meter's address.
var Wildcard = Address{0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA}

// ErrAddress reports a malformed meter address.
var ErrAddress = errors.New("dlt645: bad address")

// ParseAddress parses a meter address of up to 12 decimal digits (shorter
// ones are padded with leading zeros, as printed on many nameplates). A
// 12-character address may use AA byte pairs as wildcards.
func ParseAddress(s string) (Address, error) {
	var a Address
	if len(s) == 0 || len(s) > 12 {
		return a, fmt.Errorf("%w %q: want 1 to 12 digits", ErrAddress, s)
	}
	var digits [12]byte
	pad := 12 - len(s)
	for i := range pad {
		digits[i] = '0'
	}
	copy(digits[pad:], s)
	for i := 0; i < 12; i += 2 {
		hi, lo := digits[i], digits[i+1]
		switch {
		case isDigit(hi) && isDigit(lo):
			a[i/2] = (hi-'0')<<4 | (lo - '0')
		case isA(hi) && isA(lo) && pad == 0:
			a[i/2] = 0xAA
		default:
			return Address{}, fmt.Errorf("%w %q: character %d is not a decimal digit (or an AA wildcard pair)", ErrAddress, s, i-pad+1)
		}
	}
	return a, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isA(c byte) bool     { return c == 'A' || c == 'a' }

// MustParseAddress is ParseAddress for constants in tests and examples; it
// panics on a bad address.
func MustParseAddress(s string) Address {
	a, err := ParseAddress(s)
	if err != nil {
		panic(err)
	}
	return a
}

// String returns the 12 digits, with AA for wildcard bytes.
func (a Address) String() string {
	var b [12]byte
	return string(a.appendTo(b[:0]))
}

func (a Address) appendTo(b []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, x := range a {
		b = append(b, hex[x>>4], hex[x&0x0F])
	}
	return b
}

// MarshalText implements encoding.TextMarshaler.
func (a Address) MarshalText() ([]byte, error) { return a.appendTo(make([]byte, 0, 12)), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Address) UnmarshalText(b []byte) error {
	v, err := ParseAddress(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// IsBroadcast reports whether a is the broadcast address 999999999999.
func (a Address) IsBroadcast() bool { return a == Broadcast }

// HasWildcard reports whether any byte of a is the AA wildcard.
func (a Address) HasWildcard() bool {
	for _, x := range a {
		if x == 0xAA {
			return true
		}
	}
	return false
}

// Matches reports whether a meter at address m answers a frame sent to a:
// equal addresses, or a's wildcard bytes match anything.
func (a Address) Matches(m Address) bool {
	for i := range a {
		if a[i] != 0xAA && a[i] != m[i] {
			return false
		}
	}
	return true
}

// valid reports whether every byte is packed BCD or the AA wildcard, and
// returns the index of the first that is not.
func (a Address) valid() (int, bool) {
	for i, x := range a {
		if x != 0xAA && !isBCDByte(x) {
			return i, false
		}
	}
	return 0, true
}
