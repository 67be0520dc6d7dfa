package gdw3761

import (
	"fmt"
	"time"
)

// Format is one of the numeric data formats of appendix A: packed BCD,
// low byte first, with a fixed number of decimals and, for the signed
// ones, the sign in the top bit of the last byte (so that byte keeps one
// BCD digit and three bits of another).
type Format struct {
	Name   string
	Size   int   // bytes on the wire
	Scale  uint8 // digits after the decimal point
	Signed bool
}

// The numeric formats the data units of this package use.
var (
	A5  = Format{"A.5", 2, 1, true}   // ±799.9: power factor (%), angles
	A7  = Format{"A.7", 2, 1, false}  // 999.9: voltage (V)
	A9  = Format{"A.9", 3, 4, true}   // ±79.9999: power (kW, kvar, kVA)
	A11 = Format{"A.11", 4, 2, false} // 999999.99: energy reading (kWh), curves
	A13 = Format{"A.13", 4, 4, false} // 9999.9999: energy quantity (kWh)
	A14 = Format{"A.14", 5, 4, false} // 999999.9999: active energy reading (kWh)
	A25 = Format{"A.25", 3, 3, true}  // ±799.999: current (A)
)

func isBCD(b byte) bool { return b&0x0F <= 9 && b>>4 <= 9 }

func toBCD(v int) byte { return byte(v/10%10)<<4 | byte(v%10) }

// filler reports whether b is the "no data" filler: all EE (the standard's
// invalid-data mark) or all FF (what some terminals send instead).
func filler(b []byte) bool {
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

// Decode reads one number in format f from the start of b.
func (f Format) Decode(b []byte) (Num, error) {
	if len(b) < f.Size {
		return Num{}, layoutErr("%s needs %d bytes, have %d", f.Name, f.Size, len(b))
	}
	b = b[:f.Size]
	if filler(b) {
		return Num{Missing: true}, nil
	}
	var v int64
	neg := false
	for i := f.Size - 1; i >= 0; i-- {
		x := b[i]
		if f.Signed && i == f.Size-1 {
			neg = x&0x80 != 0
			x &= 0x7F
		}
		if !isBCD(x) {
			return Num{}, fmt.Errorf("%w: %s byte %d of %d is %02X", ErrBCD, f.Name, i, f.Size, b[i])
		}
		v = v*100 + int64(x>>4)*10 + int64(x&0x0F)
	}
	if neg {
		v = -v
	}
	return Num{Value: Decimal{Units: v, Scale: f.Scale}}, nil
}

// Append appends n in format f; a Missing n is the EE filler. A value with
// more decimals than f keeps is an error, not a rounding.
func (f Format) Append(dst []byte, n Num) ([]byte, error) {
	if n.Missing {
		for range f.Size {
			dst = append(dst, 0xEE)
		}
		return dst, nil
	}
	d, ok := n.Value.Rescale(f.Scale)
	if !ok {
		return dst, fmt.Errorf("%w: %s has %d decimals, %s keeps %d", ErrRange, n.Value, n.Value.Scale, f.Name, f.Scale)
	}
	v := d.Units
	neg := v < 0
	if neg {
		if !f.Signed {
			return dst, fmt.Errorf("%w: %s is negative in unsigned %s", ErrRange, n.Value, f.Name)
		}
		v = -v
	}
	limit := int64(1)
	for range f.Size {
		limit *= 100
	}
	if f.Signed {
		limit = limit / 10 * 8 // the top digit keeps 3 bits
	}
	if v >= limit {
		return dst, fmt.Errorf("%w: %s does not fit %s", ErrRange, n.Value, f.Name)
	}
	for i := range f.Size {
		x := toBCD(int(v % 100))
		v /= 100
		if i == f.Size-1 && neg {
			x |= 0x80
		}
		dst = append(dst, x)
	}
	return dst, nil
}

// DateTime is a civil date and time as the terminal states it: no zone,
// and only the fields its format carries (the others are zero). Year is
// the full year (2000 + YY). Weekday is 1 (Monday) to 7 (Sunday), 0 when
// not given. The zero DateTime also stands for a time sent as EE filler.
type DateTime struct {
	Year                                      int16
	Month, Day, Hour, Minute, Second, Weekday int8
}

// IsZero reports whether d is the zero DateTime (absent or EE filler).
func (d DateTime) IsZero() bool { return d == DateTime{} }

// DateTimeOf returns the civil fields of t, weekday included.
func DateTimeOf(t time.Time) DateTime {
	wd := int8(t.Weekday())
	if wd == 0 {
		wd = 7
	}
	return DateTime{Year: int16(t.Year()), Month: int8(t.Month()), Day: int8(t.Day()),
		Hour: int8(t.Hour()), Minute: int8(t.Minute()), Second: int8(t.Second()), Weekday: wd}
}

// Time returns d as a time in loc; fields d lacks are the start of the
// period (day 1, midnight). A nil loc is UTC. The zero DateTime is the
// zero time.
func (d DateTime) Time(loc *time.Location) time.Time {
	if d.IsZero() {
		return time.Time{}
	}
	if loc == nil {
		loc = time.UTC
	}
	day := max(d.Day, 1)
	mon := max(d.Month, 1)
	return time.Date(int(d.Year), time.Month(mon), int(day), int(d.Hour), int(d.Minute), int(d.Second), 0, loc)
}

func (d DateTime) String() string {
	return fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d", d.Year, d.Month, d.Day, d.Hour, d.Minute, d.Second)
}

// TimeFormat is one of the date and time formats of appendix A.
type TimeFormat struct {
	Name   string
	fields string // one letter per byte, in wire order (least significant first)
}

// The time formats: A.1 is ss mm hh DD (weekday<<5 | MM) YY; the others
// are plain BCD bytes.
var (
	A1  = TimeFormat{"A.1", "smhDWY"} // full clock with weekday: terminal clock, clock set
	A15 = TimeFormat{"A.15", "mhDMY"} // minute: reading times, curve start (td_c)
	A16 = TimeFormat{"A.16", "smhD"}  // second to day: the Tp send time
	A20 = TimeFormat{"A.20", "DMY"}   // date: daily freeze (td_d)
	A21 = TimeFormat{"A.21", "MY"}    // month: monthly freeze (td_m)
)

// Size returns the format's length in bytes.
func (f TimeFormat) Size() int { return len(f.fields) }

// Decode reads one date/time in format f from the start of b. All EE (or
// FF) is the zero DateTime.
func (f TimeFormat) Decode(b []byte) (DateTime, error) {
	var d DateTime
	n := len(f.fields)
	if len(b) < n {
		return d, layoutErr("%s needs %d bytes, have %d", f.Name, n, len(b))
	}
	if filler(b[:n]) {
		return d, nil
	}
	for i, c := range []byte(f.fields) {
		x := b[i]
		if c == 'W' {
			d.Weekday = int8(x >> 5)
			x &= 0x1F
		}
		if !isBCD(x) {
			return DateTime{}, fmt.Errorf("%w: %s byte %d is %02X", ErrBCD, f.Name, i, b[i])
		}
		v := int8(x>>4*10 + x&0x0F)
		switch c {
		case 's':
			d.Second = v
		case 'm':
			d.Minute = v
		case 'h':
			d.Hour = v
		case 'D':
			d.Day = v
		case 'M', 'W':
			d.Month = v
		case 'Y':
			d.Year = 2000 + int16(v)
		}
	}
	if err := f.check(d); err != nil {
		return DateTime{}, err
	}
	return d, nil
}

func (f TimeFormat) check(d DateTime) error {
	bad := func(what string, v int8) error {
		return fmt.Errorf("%w: %s %s is %d", ErrRange, f.Name, what, v)
	}
	for _, c := range []byte(f.fields) {
		switch c {
		case 's':
			if d.Second > 59 {
				return bad("second", d.Second)
			}
		case 'm':
			if d.Minute > 59 {
				return bad("minute", d.Minute)
			}
		case 'h':
			if d.Hour > 23 {
				return bad("hour", d.Hour)
			}
		case 'D':
			if d.Day < 1 || d.Day > 31 {
				return bad("day", d.Day)
			}
		case 'M', 'W':
			if d.Month < 1 || d.Month > 12 {
				return bad("month", d.Month)
			}
			if c == 'W' && d.Weekday > 7 {
				return bad("weekday", d.Weekday)
			}
		case 'Y':
			if d.Year < 2000 || d.Year > 2099 {
				return bad("year", int8(d.Year-2000))
			}
		}
	}
	return nil
}

// Append appends d in format f. The zero DateTime is the EE filler.
func (f TimeFormat) Append(dst []byte, d DateTime) ([]byte, error) {
	if d.IsZero() {
		for range f.fields {
			dst = append(dst, 0xEE)
		}
		return dst, nil
	}
	if err := f.check(d); err != nil {
		return dst, err
	}
	for _, c := range []byte(f.fields) {
		switch c {
		case 's':
			dst = append(dst, toBCD(int(d.Second)))
		case 'm':
			dst = append(dst, toBCD(int(d.Minute)))
		case 'h':
			dst = append(dst, toBCD(int(d.Hour)))
		case 'D':
			dst = append(dst, toBCD(int(d.Day)))
		case 'M':
			dst = append(dst, toBCD(int(d.Month)))
		case 'W':
			dst = append(dst, byte(d.Weekday)<<5|toBCD(int(d.Month)))
		case 'Y':
			dst = append(dst, toBCD(int(d.Year-2000)))
		}
	}
	return dst, nil
}

// appendMeterAddress appends a meter address in format A.12 (low byte first).
func appendMeterAddress(dst []byte, a MeterAddress) []byte {
	for i := 5; i >= 0; i-- {
		dst = append(dst, a[i])
	}
	return dst
}

// decodeMeterAddress reads format A.12. Addresses are not checked for BCD:
// collector addresses of all zeros or all FF are common, and the terminal
// is the authority on what it stores.
func decodeMeterAddress(b []byte) MeterAddress {
	var a MeterAddress
	for i := range 6 {
		a[5-i] = b[i]
	}
	return a
}
