package config

import (
	"strings"
	"testing"
	"time"
)

func TestSpec(t *testing.T) {
	cst := time.FixedZone("+08:00", 8*3600)
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04:05", s, cst)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tc := range []struct {
		spec, canon, from, next string
	}{
		{"every 15m", "every 15m", "2025-06-01 10:07:00", "2025-06-01 10:15:00"},
		{"15m", "every 15m", "2025-06-01 10:15:00", "2025-06-01 10:30:00"},
		{"every 15m", "every 15m", "2025-06-01 23:50:00", "2025-06-02 00:00:00"},
		{"every 1h +5m", "every 1h +5m", "2025-06-01 00:00:00", "2025-06-01 00:05:00"},
		{"every 1h +5m", "every 1h +5m", "2025-06-01 00:05:00", "2025-06-01 01:05:00"},
		{"every 1h +5m", "every 1h +5m", "2025-06-01 23:30:00", "2025-06-02 00:05:00"},
		{"every 24h", "every 24h", "2025-06-01 00:00:00", "2025-06-02 00:00:00"},
		{"every 90s", "every 1m30s", "2025-06-01 00:00:00", "2025-06-01 00:01:30"},
		{"daily 00:05", "daily 00:05", "2025-06-01 00:04:59", "2025-06-01 00:05:00"},
		{"DAILY 0:05", "daily 00:05", "2025-06-01 00:05:00", "2025-06-02 00:05:00"},
		{"daily 10:00", "daily 10:00", "2025-06-30 11:00:00", "2025-07-01 10:00:00"},
		{"monthly 1 00:30", "monthly 1 00:30", "2025-06-01 00:29:00", "2025-06-01 00:30:00"},
		{"monthly 1 00:30", "monthly 1 00:30", "2025-12-01 00:30:00", "2026-01-01 00:30:00"},
		{"monthly 28 23:00", "monthly 28 23:00", "2025-02-28 23:30:00", "2025-03-28 23:00:00"},
	} {
		s, err := ParseSpec(tc.spec)
		if err != nil {
			t.Errorf("%q: %v", tc.spec, err)
			continue
		}
		if s.String() != tc.canon {
			t.Errorf("%q prints %q, want %q", tc.spec, s, tc.canon)
		}
		if got := s.Next(at(tc.from)); !got.Equal(at(tc.next)) {
			t.Errorf("%q after %s: %s, want %s", tc.spec, tc.from, got, tc.next)
		}
		var back Spec
		if err := back.UnmarshalText([]byte(s.String())); err != nil || back != s {
			t.Errorf("%q does not re-read: %v %v", s, back, err)
		}
	}
	for _, bad := range []string{"", "hourly", "every", "every 7m", "every 30s", "every 48h", "every 1h 5m", "every 1h +1h",
		"daily", "daily 25:00", "daily noon", "monthly 31 00:00", "monthly 1", "monthly x 00:00", "every 15m +5m extra"} {
		if _, err := ParseSpec(bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else if !strings.Contains(err.Error(), "want e.g.") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestZone(t *testing.T) {
	for in, off := range map[string]int{"+08:00": 8 * 3600, "UTC+8": 8 * 3600, "-03:30": -(3*3600 + 1800), "UTC": 0} {
		l, err := parseZone(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if _, o := time.Date(2025, 1, 1, 0, 0, 0, 0, l).Zone(); o != off {
			t.Errorf("%s: offset %d, want %d", in, o, off)
		}
	}
	for _, bad := range []string{"", "+8x", "+15:00", "Nowhere/Land"} {
		if _, err := parseZone(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCycle(t *testing.T) {
	for spec, want := range map[string][2]time.Duration{"every 1h +5m": {time.Hour, 5 * time.Minute}, "daily 00:05": {24 * time.Hour, 5 * time.Minute}} {
		s, _ := ParseSpec(spec)
		if e, o, ok := s.Cycle(); !ok || e != want[0] || o != want[1] {
			t.Errorf("%s: %v %v %v", spec, e, o, ok)
		}
	}
	if s, _ := ParseSpec("monthly 1 00:30"); func() bool { _, _, ok := s.Cycle(); return ok }() {
		t.Error("monthly is a cycle")
	}
}
