package archive

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Date is a calendar day with no time and no zone: a verification date,
// a due date, the day a transformer was taken out of service. The zero
// Date is "not set". It is written and read as YYYY-MM-DD (yaml, JSON,
// CSV).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads a calendar date: 2025-06-10, 2025-6-10, 2025/6/10,
// 2025.06.10 or 20250610 (the forms spreadsheets and utility exports
// use). Empty is the zero Date. The year must be 1900..9999.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Date{}, nil
	}
	var parts []string
	switch {
	case strings.ContainsAny(s, "-/."):
		parts = strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '/' || r == '.' })
		if len(parts) != 3 || strings.Count(s, "-")+strings.Count(s, "/")+strings.Count(s, ".") != 2 {
			return Date{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", s)
		}
	case len(s) == 8:
		parts = []string{s[:4], s[4:6], s[6:]}
	default:
		return Date{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", s)
	}
	var n [3]int
	for i, p := range parts {
		if p == "" || len(p) > 4 || (i > 0 && len(p) > 2) || strings.TrimLeft(p, "0123456789") != "" {
			return Date{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", s)
		}
		n[i], _ = strconv.Atoi(p)
	}
	d := Date{Year: n[0], Month: time.Month(n[1]), Day: n[2]}
	if err := d.check(); err != nil {
		return Date{}, fmt.Errorf("%q: %v", s, err)
	}
	return d, nil
}

// check reports a set date that is not a real day.
func (d Date) check() error {
	if d.IsZero() {
		return nil
	}
	if d.Year < 1900 || d.Year > 9999 {
		return fmt.Errorf("year %d out of range 1900..9999", d.Year)
	}
	if d.Month < 1 || d.Month > 12 {
		return fmt.Errorf("month %d out of range", d.Month)
	}
	if d.Day < 1 || d.Day > daysIn(d.Year, d.Month) {
		return fmt.Errorf("%s %d has no day %d", d.Month, d.Year, d.Day)
	}
	return nil
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// DateOf is the calendar day of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// IsZero reports whether the date is not set.
func (d Date) IsZero() bool { return d == Date{} }

// In is 00:00 of the day in loc (nil: UTC).
func (d Date) In(loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// AddMonths moves the date by n months, keeping the day of the month or
// taking the month's last day when it is shorter (2025-08-31 + 6 months
// is 2026-02-28), as a period counted in months is.
func (d Date) AddMonths(n int) Date {
	if d.IsZero() {
		return d
	}
	m := int(d.Month) - 1 + n
	y := d.Year + m/12
	m %= 12
	if m < 0 {
		m += 12
		y--
	}
	out := Date{Year: y, Month: time.Month(m + 1), Day: d.Day}
	out.Day = min(out.Day, daysIn(out.Year, out.Month))
	return out
}

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmpInt(d.Year, e.Year)
	case d.Month != e.Month:
		return cmpInt(int(d.Month), int(e.Month))
	}
	return cmpInt(d.Day, e.Day)
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// DaysUntil is the number of days from d to e (negative when e is
// before d).
func (d Date) DaysUntil(e Date) int {
	return int(e.In(time.UTC).Sub(d.In(time.UTC)) / (24 * time.Hour))
}

// String is YYYY-MM-DD, empty for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// MarshalText writes YYYY-MM-DD (nothing for the zero Date).
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads what ParseDate reads.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
