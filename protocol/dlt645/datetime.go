package dlt645

import (
	"fmt"
	"strconv"
	"time"
)

// TimeLayout names a date/time layout of the protocol, written most
// significant field first as the standard does (YYMMDDhhmm is sent
// mm hh DD MM YY on the wire).
type TimeLayout uint8

// The date and time layouts that data identifiers and commands use.
const (
	YYMMDDhhmmss TimeLayout = iota + 1 // 6 bytes: broadcast time, relay deadline, event times
	YYMMDDhhmm                         // 5 bytes: freeze times, max demand time
	YYMMDDWW                           // 4 bytes: date and weekday (0 = Sunday)
	Hhmmss                             // 3 bytes: time of day
	MMDDhhmm                           // 4 bytes: 1997 max demand time, freeze command
	DDhh                               // 2 bytes: settlement day
	YYMMDD                             // 3 bytes: a date
)

var timeLayouts = [...]struct {
	name   string
	fields string // one letter per byte, most significant first
}{
	YYMMDDhhmmss: {"YYMMDDhhmmss", "YMDhms"},
	YYMMDDhhmm:   {"YYMMDDhhmm", "YMDhm"},
	YYMMDDWW:     {"YYMMDDWW", "YMDW"},
	Hhmmss:       {"hhmmss", "hms"},
	MMDDhhmm:     {"MMDDhhmm", "MDhm"},
	DDhh:         {"DDhh", "Dh"},
	YYMMDD:       {"YYMMDD", "YMD"},
}

// Size returns the layout's length in bytes.
func (l TimeLayout) Size() int {
	if int(l) >= len(timeLayouts) || l == 0 {
		return 0
	}
	return len(timeLayouts[l].fields)
}

func (l TimeLayout) String() string {
	if l.Size() == 0 {
		return "TimeLayout(" + strconv.Itoa(int(l)) + ")"
	}
	return timeLayouts[l].name
}

// DateTime is a meter's civil date and time as the meter states it: no
// zone, and only the fields its layout carries. Year is the full year
// (2000 + YY). Fields a layout lacks are zero.
type DateTime struct {
	Layout                                    TimeLayout
	Year                                      int16
	Month, Day, Hour, Minute, Second, Weekday int8
}

// DateTimeOf returns the civil fields of t in layout l.
func DateTimeOf(t time.Time, l TimeLayout) DateTime {
	d := DateTime{Layout: l}
	for _, f := range timeLayouts[l].fields {
		switch f {
		case 'Y':
			d.Year = int16(t.Year())
		case 'M':
			d.Month = int8(t.Month())
		case 'D':
			d.Day = int8(t.Day())
		case 'h':
			d.Hour = int8(t.Hour())
		case 'm':
			d.Minute = int8(t.Minute())
		case 's':
			d.Second = int8(t.Second())
		case 'W':
			d.Weekday = int8(t.Weekday())
		}
	}
	return d
}

// IsZero reports whether every field is zero, which meters send for a
// time that has not happened yet (no max demand since the reset, say).
func (d DateTime) IsZero() bool {
	return d.Year == 0 && d.Month == 0 && d.Day == 0 && d.Hour == 0 && d.Minute == 0 && d.Second == 0 && d.Weekday == 0
}

// Time returns d as a time.Time in loc, with fields the layout lacks taken
// as zero (and the date as 1 January of year 0 for a time of day). It
// fails for an impossible date or time.
func (d DateTime) Time(loc *time.Location) (time.Time, error) {
	y, mo, dd := int(d.Year), int(d.Month), int(d.Day)
	if y == 0 && mo == 0 && dd == 0 {
		mo, dd = 1, 1
	}
	if mo < 1 || mo > 12 || dd < 1 || dd > 31 || d.Hour < 0 || d.Hour > 23 || d.Minute < 0 || d.Minute > 59 || d.Second < 0 || d.Second > 59 {
		return time.Time{}, fmt.Errorf("dlt645: impossible date or time %s", d)
	}
	t := time.Date(y, time.Month(mo), dd, int(d.Hour), int(d.Minute), int(d.Second), 0, loc)
	if t.Day() != dd {
		return time.Time{}, fmt.Errorf("dlt645: impossible date %s", d)
	}
	return t, nil
}

// String formats d as ISO 8601 fields, e.g. 2026-11-22T13:45 for
// YYMMDDhhmm, 2026-11-22 W0 for YYMMDDWW, 13:45:07 for hhmmss.
func (d DateTime) String() string {
	var b [24]byte
	return string(d.AppendText(b[:0]))
}

// AppendText appends the string form of d to b.
func (d DateTime) AppendText(b []byte) []byte {
	two := func(b []byte, v int8) []byte { return append(b, byte('0'+v/10%10), byte('0'+v%10)) }
	if d.Layout.Size() == 0 {
		return append(b, "invalid-time"...)
	}
	f := timeLayouts[d.Layout].fields
	has := func(c byte) bool {
		for i := 0; i < len(f); i++ {
			if f[i] == c {
				return true
			}
		}
		return false
	}
	date := false
	if has('Y') {
		b = strconv.AppendInt(b, int64(d.Year), 10)
		date = true
	}
	if has('M') {
		if date {
			b = append(b, '-')
		} else {
			b = append(b, "--"...)
		}
		b = two(b, d.Month)
		date = true
	}
	if has('D') {
		if date {
			b = append(b, '-')
		} else {
			b = append(b, "---"...)
		}
		b = two(b, d.Day)
		date = true
	}
	if has('W') {
		b = append(b, " W"...)
		b = append(b, byte('0'+d.Weekday%10))
	}
	if has('h') {
		if date {
			b = append(b, 'T')
		}
		b = two(b, d.Hour)
		if has('m') {
			b = append(b, ':')
			b = two(b, d.Minute)
		}
		if has('s') {
			b = append(b, ':')
			b = two(b, d.Second)
		}
	}
	return b
}

// MarshalText implements encoding.TextMarshaler.
func (d DateTime) MarshalText() ([]byte, error) { return d.AppendText(nil), nil }

// decodeDateTime reads layout l from b (wire order, least significant
// field first). Every byte must be BCD.
func decodeDateTime(b []byte, l TimeLayout) (DateTime, error) {
	d := DateTime{Layout: l}
	f := timeLayouts[l].fields
	if len(b) != len(f) {
		return d, fmt.Errorf("dlt645: %s needs %d bytes, have %d", l, len(f), len(b))
	}
	n := len(f)
	for i := range n {
		x := b[n-1-i]
		if !isBCDByte(x) {
			return DateTime{}, fmt.Errorf("%w: %s byte %d is %02X", ErrBCD, l, n-1-i, x)
		}
		v := int8(x>>4*10 + x&0x0F)
		switch f[i] {
		case 'Y':
			d.Year = 2000 + int16(v)
		case 'M':
			d.Month = v
		case 'D':
			d.Day = v
		case 'h':
			d.Hour = v
		case 'm':
			d.Minute = v
		case 's':
			d.Second = v
		case 'W':
			d.Weekday = v
		}
	}
	if d.Year == 2000 && d.Month == 0 && d.Day == 0 {
		d.Year = 0 // all zero: "never", keep IsZero true
	}
	return d, nil
}

// appendDateTime appends d in layout l, wire order.
func appendDateTime(dst []byte, d DateTime, l TimeLayout) []byte {
	f := timeLayouts[l].fields
	for i := len(f) - 1; i >= 0; i-- {
		var v int
		switch f[i] {
		case 'Y':
			v = int(d.Year) % 100
		case 'M':
			v = int(d.Month)
		case 'D':
			v = int(d.Day)
		case 'h':
			v = int(d.Hour)
		case 'm':
			v = int(d.Minute)
		case 's':
			v = int(d.Second)
		case 'W':
			v = int(d.Weekday)
		}
		dst = append(dst, toBCD(v))
	}
	return dst
}
