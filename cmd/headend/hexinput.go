package main

import (
	"fmt"
)

// parseHex reads hex bytes as field staff paste them from a serial
// sniffer or a log: with or without spaces, commas, colons or line
// breaks between bytes, with or without 0x prefixes, upper or lower case.
// An error names the character and its position in the text.
func parseHex(s string) ([]byte, error) {
	out := make([]byte, 0, len(s)/2)
	var hi byte
	half := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ':' || c == '-':
			if half {
				return nil, fmt.Errorf("odd hex digit before position %d: bytes are two digits each", i+1)
			}
			continue
		case c == '0' && i+1 < len(s) && (s[i+1] == 'x' || s[i+1] == 'X') && !half:
			i++
			continue
		}
		v, ok := hexVal(c)
		if !ok {
			return nil, fmt.Errorf("character %q at position %d is not a hex digit", c, i+1)
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		return nil, fmt.Errorf("odd number of hex digits: the last byte has one digit")
	}
	return out, nil
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// spacedHex formats bytes as "68 78 56 ...".
func spacedHex(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 3*len(b))
	for i, x := range b {
		if i > 0 {
			out = append(out, ' ')
		}
		out = append(out, digits[x>>4], digits[x&0x0F])
	}
	return string(out)
}
