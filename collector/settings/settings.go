// Package settings is the collector section of the configuration
// (collector.* in headend.yaml): when each reading class runs, what it
// reads (the reading plan), the clock check, the breaker and the
// collector's state directory. daemon/config loads and validates it; the
// collector is built from it.
package settings

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Collector is the polling side.
type Collector struct {
	DataDir string `yaml:"data_dir" path:"true" help:"directory for the collector's state"`
	Zone    string `yaml:"zone" help:"time zone of schedules and meter clocks: +08:00, UTC+8 or an IANA name"`
	// DialInListen is off by default: a head-end listens for concentrators
	// only where it is told to (dial-in channels need it set).
	DialInListen string `yaml:"dialin_listen" help:"address concentrators dial in to (REG <id>), e.g. 0.0.0.0:9001; empty (default): none"`
	// GDW3761Listen is the master station's address Q/GDW 1376.1
	// terminals are configured with; off by default (gdw3761 channels
	// need it set).
	GDW3761Listen string `yaml:"gdw3761_listen" help:"address Q/GDW 1376.1 terminals log in to (the master station IP and port), e.g. 0.0.0.0:9002; empty (default): none"`

	Instantaneous Schedule `yaml:"instantaneous"` // voltages, currents, power, registers now
	Interval      Schedule `yaml:"interval"`      // load profile (15-minute records)
	Daily         Schedule `yaml:"daily"`         // daily frozen reads after midnight
	Monthly       Schedule `yaml:"monthly"`       // settlement-day (billing cut-off) reads
	Clock         Clock    `yaml:"clock"`         // daily clock check and broadcast sync
	Breaker       Breaker  `yaml:"breaker"`       // per-meter circuit breaker
	BackfillDays  int      `yaml:"backfill_days" help:"daily freezes to read back from a meter the head-end has never read (commissioning), up to 62"`
	Plan          Plan     `yaml:"plan"` // which DIs each class reads (plan.go, docs/reading-plan.md)

	loc *time.Location
}

// Location is the resolved Zone (set by Load; a Zone that does not
// parse gives time.Local).
func (c *Collector) Location() *time.Location {
	if c.loc != nil {
		return c.loc
	}
	l, err := ParseZone(c.Zone)
	if err != nil {
		return time.Local
	}
	return l
}

// Schedule is when one reading class runs.
type Schedule struct {
	Enabled bool          `yaml:"enabled" help:"run this reading class"`
	Spec    Spec          `yaml:"spec" help:"when: every 15m | every 1h +5m | daily 00:05 | monthly 1 00:30"`
	Jitter  time.Duration `yaml:"jitter" help:"spread each run's start at random over this much time"`
}

// Clock is the daily clock check: meters off by more than Tolerance and
// at most MaxCorrection are set by broadcast time sync (which moves a
// clock by ±5 minutes at most); a larger error is reported, not fixed.
type Clock struct {
	Schedule      `yaml:",inline"`
	Tolerance     time.Duration `yaml:"tolerance" help:"clock error left alone"`
	MaxCorrection time.Duration `yaml:"max_correction" help:"largest error corrected by broadcast (at most 5m)"`
}

// Breaker stops polling a meter that keeps failing: after Failures
// failures in a row it rests for Cooldown, doubled after each failed
// probe up to MaxCooldown.
type Breaker struct {
	Failures    int           `yaml:"failures" help:"consecutive failures that open a meter's breaker"`
	Cooldown    time.Duration `yaml:"cooldown" help:"first rest of an open breaker"`
	MaxCooldown time.Duration `yaml:"max_cooldown" help:"longest rest"`
}

// Check validates the section; bad(key, reason) reports one. It resolves
// Zone for Location.
func (c *Collector) Check(bad func(key, format string, args ...any)) {
	col := c
	if col.DataDir == "" {
		bad("collector.data_dir", "must be set")
	}
	if l, err := ParseZone(col.Zone); err != nil {
		bad("collector.zone", "%v", err)
	} else {
		col.loc = l
	}
	sched := func(name string, s *Schedule, kinds ...SpecKind) {
		if s.Jitter < 0 {
			bad("collector."+name+".jitter", "%s: must be >= 0", s.Jitter)
		} else if p := s.Spec.Period(); p > 0 && s.Jitter >= p {
			bad("collector."+name+".jitter", "%s: must be shorter than the period of %q", s.Jitter, s.Spec)
		}
		if len(kinds) > 0 && !contains(kinds, s.Spec.Kind) {
			bad("collector."+name+".spec", "%q: want a %s spec", s.Spec, kinds[0])
		}
	}
	sched("instantaneous", &col.Instantaneous)
	sched("interval", &col.Interval)
	sched("daily", &col.Daily, SpecDaily)
	sched("monthly", &col.Monthly, SpecMonthly)
	sched("clock", &col.Clock.Schedule, SpecDaily)
	if col.Clock.Spec.Kind == SpecDaily && col.Clock.Jitter >= 0 {
		// meters freeze at midnight: no time sync from 23:45 to 00:15
		if start, end := col.Clock.Spec.At, col.Clock.Spec.At+col.Clock.Jitter; start < 15*time.Minute || end > 23*time.Hour+45*time.Minute {
			bad("collector.clock.spec", "%q with jitter %s reaches into 23:45..00:15, when meters freeze", col.Clock.Spec, col.Clock.Jitter)
		}
	}
	if col.Clock.Tolerance <= 0 {
		bad("collector.clock.tolerance", "%s: must be > 0", col.Clock.Tolerance)
	}
	switch mc := col.Clock.MaxCorrection; {
	case mc <= 0 || mc > 5*time.Minute:
		bad("collector.clock.max_correction", "%s: must be > 0 and at most 5m (broadcast sync limit)", mc)
	case mc <= col.Clock.Tolerance:
		bad("collector.clock.max_correction", "%s: must exceed tolerance %s", mc, col.Clock.Tolerance)
	}
	col.Plan.check(bad)
	b := &col.Breaker
	if b.Failures < 1 {
		bad("collector.breaker.failures", "%d: must be >= 1", b.Failures)
	}
	if n := col.BackfillDays; n < 0 || n > 62 {
		bad("collector.backfill_days", "%d: must be 0 to 62 (the freezes a meter holds)", n)
	}
	if b.Cooldown <= 0 {
		bad("collector.breaker.cooldown", "%s: must be > 0", b.Cooldown)
	}
	if b.MaxCooldown < b.Cooldown {
		bad("collector.breaker.max_cooldown", "%s: must be >= cooldown %s", b.MaxCooldown, b.Cooldown)
	}
}

func contains[T comparable](s []T, v T) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// ParseZone reads +08:00, UTC+8, UTC, Local or an IANA zone name.
func ParseZone(s string) (*time.Location, error) {
	z := strings.TrimSpace(s)
	switch strings.ToUpper(z) {
	case "":
		return nil, fmt.Errorf("must be set")
	case "UTC", "Z":
		return time.UTC, nil
	case "LOCAL":
		return time.Local, nil
	}
	off := strings.TrimPrefix(strings.TrimPrefix(z, "UTC"), "GMT")
	if off != "" && (off[0] == '+' || off[0] == '-') {
		sign := 1
		if off[0] == '-' {
			sign = -1
		}
		h, m, _ := strings.Cut(off[1:], ":")
		hh, err1 := strconv.Atoi(h)
		mm := 0
		var err2 error
		if m != "" {
			mm, err2 = strconv.Atoi(m)
		}
		if err1 != nil || err2 != nil || hh > 14 || mm > 59 || mm < 0 {
			return nil, fmt.Errorf("%q is not a UTC offset such as +08:00", s)
		}
		return time.FixedZone(z, sign*(hh*3600+mm*60)), nil
	}
	l, err := time.LoadLocation(z)
	if err != nil {
		return nil, fmt.Errorf("%q: unknown zone (use an offset such as +08:00)", s)
	}
	return l, nil
}
