package dlt645

import (
	"errors"
	"fmt"
)

// ErrBCD reports a byte that should be packed BCD and is not.
var ErrBCD = errors.New("dlt645: bad BCD")

func isBCDByte(b byte) bool { return b&0x0F <= 9 && b>>4 <= 9 }

func toBCD(v int) byte { return byte(v/10%10)<<4 | byte(v%10) }

// noData reports whether b is the "no data" filler: all EE or all FF.
func noData(b []byte) bool {
	if len(b) == 0 || (b[0] != 0xEE && b[0] != 0xFF) {
		return false
	}
	for _, x := range b {
		if x != b[0] {
			return false
		}
	}
	return true
}

// decodeBCD reads a low-byte-first packed-BCD number. With signed set the
// top bit of the most significant byte is the sign.
func decodeBCD(b []byte, signed bool) (int64, error) {
	var v int64
	neg := false
	for i := len(b) - 1; i >= 0; i-- {
		x := b[i]
		if signed && i == len(b)-1 {
			neg = x&0x80 != 0
			x &= 0x7F
		}
		if !isBCDByte(x) {
			return 0, fmt.Errorf("%w: byte %d of %d is %02X", ErrBCD, i, len(b), b[i])
		}
		v = v*100 + int64(x>>4)*10 + int64(x&0x0F)
	}
	if neg {
		v = -v
	}
	return v, nil
}

// appendBCD appends v as size bytes of low-byte-first packed BCD. With
// signed set a negative v sets the top bit of the most significant byte.
func appendBCD(dst []byte, v int64, size int, signed bool) ([]byte, error) {
	neg := v < 0
	if neg {
		if !signed {
			return dst, fmt.Errorf("dlt645: %d is negative in an unsigned field", v)
		}
		v = -v
	}
	limit := int64(1)
	for range size {
		limit *= 100
	}
	if signed {
		limit = limit / 10 * 8 // the top digit keeps 3 bits
	}
	if v >= limit {
		return dst, fmt.Errorf("dlt645: %d does not fit %d BCD bytes", v, size)
	}
	for i := range size {
		x := toBCD(int(v % 100))
		v /= 100
		if i == size-1 && neg {
			x |= 0x80
		}
		dst = append(dst, x)
	}
	return dst, nil
}
