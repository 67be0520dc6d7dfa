package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Size is a number of bytes, written 1GiB, 512MiB, 64KiB, 10MB or 4096.
type Size int64

var sizeUnits = []struct {
	suffix string
	n      int64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"kB", 1e3}, {"B", 1}}

// UnmarshalText parses a size.
func (s *Size) UnmarshalText(b []byte) error {
	t := strings.TrimSpace(string(b))
	mul := int64(1)
	num := t
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			mul, num = u.n, strings.TrimSpace(strings.TrimSuffix(t, u.suffix))
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || (mul > 1 && n > (1<<62)/mul) {
		return fmt.Errorf("%q is not a size (e.g. 1GiB, 512MiB, 4096)", t)
	}
	*s = Size(n * mul)
	return nil
}

// MarshalText writes the size in the largest binary unit that divides it.
func (s Size) MarshalText() ([]byte, error) {
	for _, u := range sizeUnits[:4] {
		if s != 0 && int64(s)%u.n == 0 {
			return []byte(strconv.FormatInt(int64(s)/u.n, 10) + u.suffix), nil
		}
	}
	return []byte(strconv.FormatInt(int64(s), 10)), nil
}

// Age is a retention period, written as a Go duration (36h, 90m) or in
// days, weeks and years (90d, 2w, 10y; a year is 365 days). 0 means
// forever.
type Age time.Duration

const day = 24 * time.Hour

// UnmarshalText parses an age.
func (a *Age) UnmarshalText(b []byte) error {
	t := strings.TrimSpace(string(b))
	if t == "0" || t == "" || t == "forever" {
		*a = 0
		return nil
	}
	for suffix, unit := range map[string]time.Duration{"d": day, "w": 7 * day, "y": 365 * day} {
		if n, ok := strings.CutSuffix(t, suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 || int64(v) > int64(math.MaxInt64/unit) {
				break
			}
			*a = Age(time.Duration(v) * unit)
			return nil
		}
	}
	d, err := time.ParseDuration(t)
	if err != nil || d < 0 {
		return fmt.Errorf("%q is not a retention (e.g. 90d, 2w, 10y, 36h, or 0 for forever)", t)
	}
	*a = Age(d)
	return nil
}

// MarshalText writes the age in whole days when it is, else as a duration.
func (a Age) MarshalText() ([]byte, error) {
	d := time.Duration(a)
	switch {
	case d == 0:
		return []byte("0"), nil
	case d%day == 0:
		return []byte(strconv.FormatInt(int64(d/day), 10) + "d"), nil
	}
	return []byte(d.String()), nil
}

// Duration returns the age as a time.Duration.
func (a Age) Duration() time.Duration { return time.Duration(a) }

// Share is a fraction from 0 to 1, written 0.25 or 25%.
type Share float64

// UnmarshalText parses a share.
func (s *Share) UnmarshalText(b []byte) error {
	t := strings.TrimSpace(string(b))
	num, pct := strings.CutSuffix(t, "%")
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("%q is not a share (e.g. 0.25 or 25%%)", t)
	}
	if pct {
		f /= 100
	}
	*s = Share(f)
	return nil
}

// MarshalText writes the share as a decimal fraction.
func (s Share) MarshalText() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(s), 'g', -1, 64)), nil
}
