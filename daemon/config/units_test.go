package config

import (
	"testing"
	"time"
)

func TestSize(t *testing.T) {
	for in, want := range map[string]Size{"4096": 4096, "1GiB": 1 << 30, "512MiB": 512 << 20, "64KiB": 64 << 10, "10MB": 10e6, " 2 GiB ": 2 << 30, "0": 0} {
		var s Size
		if err := s.UnmarshalText([]byte(in)); err != nil || s != want {
			t.Errorf("%q = %d, %v; want %d", in, s, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "-1MiB", "1.5GiB", "1 parsec", "99999999999TiB"} {
		var s Size
		if err := s.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("%q = %d, want an error", in, s)
		}
	}
	if b, _ := Size(1 << 30).MarshalText(); string(b) != "1GiB" {
		t.Errorf("1GiB marshals as %s", b)
	}
}

func TestAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * day, "2w": 14 * day, "10y": 3650 * day, "36h": 36 * time.Hour, "0": 0, "forever": 0} {
		var a Age
		if err := a.UnmarshalText([]byte(in)); err != nil || a.Duration() != want {
			t.Errorf("%q = %s, %v; want %s", in, a.Duration(), err, want)
		}
	}
	for _, in := range []string{"d", "-3d", "3x", "1.5d", "-1h", "1000y"} {
		var a Age
		if err := a.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("%q = %s, want an error", in, a.Duration())
		}
	}
	if b, _ := Age(90 * day).MarshalText(); string(b) != "90d" {
		t.Errorf("90d marshals as %s", b)
	}
}

// FuzzUnits: the size, age and share parsers never panic, and what they accept
// marshals to text that parses back to the same value.
func FuzzUnits(f *testing.F) {
	for _, s := range []string{"1GiB", "90d", "36h", "0", "4096", "10y", "0.25", "25%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var s Size
		if s.UnmarshalText([]byte(in)) == nil {
			b, _ := s.MarshalText()
			var back Size
			if err := back.UnmarshalText(b); err != nil || back != s {
				t.Fatalf("size %q -> %d -> %q -> %d, %v", in, s, b, back, err)
			}
		}
		var a Age
		if a.UnmarshalText([]byte(in)) == nil {
			b, _ := a.MarshalText()
			var back Age
			if err := back.UnmarshalText(b); err != nil || back != a {
				t.Fatalf("age %q -> %s -> %q -> %s, %v", in, a.Duration(), b, back.Duration(), err)
			}
		}
		var sh Share
		if sh.UnmarshalText([]byte(in)) == nil {
			b, _ := sh.MarshalText()
			var back Share
			if err := back.UnmarshalText(b); err != nil || back != sh {
				t.Fatalf("share %q -> %v -> %q -> %v, %v", in, sh, b, back, err)
			}
		}
	})
}

// A share is a fraction or a percentage; anything else is refused.
func TestShare(t *testing.T) {
	for in, want := range map[string]Share{"0.25": 0.25, "25%": 0.25, " 1 ": 1, "0": 0, "100%": 1} {
		var s Share
		if err := s.UnmarshalText([]byte(in)); err != nil || s != want {
			t.Errorf("%q: %v, %v; want %v", in, s, err, want)
		}
	}
	for _, in := range []string{"", "most", "NaN", "Inf", "%"} {
		var s Share
		if err := s.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("%q: accepted as %v", in, s)
		}
	}
}
