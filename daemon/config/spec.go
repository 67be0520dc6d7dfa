package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SpecKind is the form of a schedule.
type SpecKind string

// The schedule forms.
const (
	SpecEvery   SpecKind = "every"   // every 15m, every 1h +5m
	SpecDaily   SpecKind = "daily"   // daily 00:05
	SpecMonthly SpecKind = "monthly" // monthly 1 00:30
)

// Spec is when a reading class runs, in the collector's zone:
//
//	every 15m        at 00:00, 00:15, ... (the period divides a day)
//	every 1h +5m     at 00:05, 01:05, ...
//	daily 00:05      once a day
//	monthly 1 00:30  once a month, on day 1..28
//
// A bare duration ("15m") is "every 15m".
type Spec struct {
	Kind  SpecKind
	Every time.Duration // every: the period
	At    time.Duration // every: offset into the period; daily, monthly: time of day
	Day   int           // monthly: day of month
}

// ParseSpec parses a schedule spec.
func ParseSpec(s string) (Spec, error) {
	f := strings.Fields(s)
	bad := func(why string) (Spec, error) {
		return Spec{}, fmt.Errorf("%q: %s (want e.g. \"every 15m\", \"every 1h +5m\", \"daily 00:05\", \"monthly 1 00:30\")", s, why)
	}
	if len(f) == 1 {
		if _, err := time.ParseDuration(f[0]); err == nil {
			f = []string{"every", f[0]}
		}
	}
	if len(f) == 0 {
		return bad("empty")
	}
	switch SpecKind(strings.ToLower(f[0])) {
	case SpecEvery:
		if len(f) < 2 || len(f) > 3 {
			return bad("want every <period> [+<offset>]")
		}
		d, err := time.ParseDuration(f[1])
		if err != nil || d < time.Minute || d > 24*time.Hour || (24*time.Hour)%d != 0 {
			return bad("the period must be a duration from 1m to 24h that divides a day")
		}
		sp := Spec{Kind: SpecEvery, Every: d}
		if len(f) == 3 {
			o, err := time.ParseDuration(strings.TrimPrefix(f[2], "+"))
			if err != nil || !strings.HasPrefix(f[2], "+") || o < 0 || o >= d {
				return bad("the offset must be +<duration> shorter than the period")
			}
			sp.At = o
		}
		return sp, nil
	case SpecDaily:
		if len(f) != 2 {
			return bad("want daily HH:MM")
		}
		at, err := clock(f[1])
		if err != nil {
			return bad(err.Error())
		}
		return Spec{Kind: SpecDaily, At: at}, nil
	case SpecMonthly:
		if len(f) != 3 {
			return bad("want monthly <day> HH:MM")
		}
		day, err := strconv.Atoi(f[1])
		if err != nil || day < 1 || day > 28 {
			return bad("the day must be 1..28")
		}
		at, err := clock(f[2])
		if err != nil {
			return bad(err.Error())
		}
		return Spec{Kind: SpecMonthly, Day: day, At: at}, nil
	}
	return bad("unknown form")
}

func clock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

func hhmm(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// String is the spec in the form ParseSpec reads.
func (s Spec) String() string {
	switch s.Kind {
	case SpecEvery:
		if s.At > 0 {
			return fmt.Sprintf("every %s +%s", fmtDur(s.Every), fmtDur(s.At))
		}
		return "every " + fmtDur(s.Every)
	case SpecDaily:
		return "daily " + hhmm(s.At)
	case SpecMonthly:
		return fmt.Sprintf("monthly %d %s", s.Day, hhmm(s.At))
	}
	return ""
}

// fmtDur prints 1h instead of 1h0m0s.
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalText implements encoding.TextMarshaler.
func (s Spec) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Spec) UnmarshalText(b []byte) error {
	v, err := ParseSpec(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Period is the time between runs (a month counts as 28 days).
func (s Spec) Period() time.Duration {
	switch s.Kind {
	case SpecEvery:
		return s.Every
	case SpecDaily:
		return 24 * time.Hour
	case SpecMonthly:
		return 28 * 24 * time.Hour
	}
	return 0
}

// Next returns the first run strictly after t, in t's location.
func (s Spec) Next(t time.Time) time.Time {
	y, m, d := t.Date()
	loc := t.Location()
	switch s.Kind {
	case SpecEvery:
		mid := time.Date(y, m, d, 0, 0, 0, 0, loc)
		since := t.Sub(mid) - s.At
		if since < 0 {
			return mid.Add(s.At)
		}
		return mid.Add(s.At + (since/s.Every+1)*s.Every)
	case SpecDaily:
		c := time.Date(y, m, d, 0, 0, 0, 0, loc).Add(s.At)
		if !c.After(t) {
			c = time.Date(y, m, d+1, 0, 0, 0, 0, loc).Add(s.At)
		}
		return c
	case SpecMonthly:
		c := time.Date(y, m, s.Day, 0, 0, 0, 0, loc).Add(s.At)
		if !c.After(t) {
			c = time.Date(y, m+1, s.Day, 0, 0, 0, 0, loc).Add(s.At)
		}
		return c
	}
	return time.Time{}
}

// Cycle returns the spec as a cycle aligned to midnight and an offset
// into it (every 1h +5m: 1h, 5m; daily 00:05: 24h, 5m), the form of
// schedule.Plan; false for a monthly spec.
func (s Spec) Cycle() (every, offset time.Duration, ok bool) {
	switch s.Kind {
	case SpecEvery:
		return s.Every, s.At, true
	case SpecDaily:
		return 24 * time.Hour, s.At, true
	}
	return 0, 0, false
}
