package vee

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/headend/headend/protocol/dlt645"
)

// Config is the validator's configuration: its memory, and the settings
// of every check in dated versions.
type Config struct {
	// Location is the zone of calendar days: daily freezes, day types of
	// profiles. Nil is China Standard Time (UTC+8).
	Location *time.Location `yaml:"-"`

	// IntervalWindow is how much of an interval (load-profile) register
	// series the validator keeps: late reads within it are checked against
	// their neighbours, and spikes and the sum check look back over it.
	IntervalWindow time.Duration `yaml:"interval_window"`
	// DailyWindow is the same for daily series; it must hold the usage
	// check's history and the meters' 62 days of freezes.
	DailyWindow time.Duration `yaml:"daily_window"`
	// Recent is how many values of any other series are kept, for
	// duplicates and register decreases.
	Recent int `yaml:"recent"`

	// Versions are the settings, each in force from its From on, in
	// increasing order of From. A value is checked with the latest
	// version whose From is not after the value's time; values before the
	// first version's From are checked with the first.
	Versions []Settings `yaml:"versions"`
}

// Check is what every check has: the time from which it applies, and a
// switch to turn it off.
type Check struct {
	From time.Time `yaml:"from"` // the check applies to values at or after From; zero = always
	Off  bool      `yaml:"off"`
}

// applies reports whether the check applies to a value at t.
func (c Check) applies(t time.Time) bool { return !c.Off && !t.Before(c.From) }

// Settings are the thresholds of every check. The zero value is not
// useful: start from [DefaultSettings].
type Settings struct {
	From time.Time `yaml:"from"`

	Gap       GapCheck       `yaml:"gap"`
	Spike     SpikeCheck     `yaml:"spike"`
	Register  RegisterCheck  `yaml:"register"`
	Zero      ZeroCheck      `yaml:"zero"`
	Usage     UsageCheck     `yaml:"usage"`
	Sum       SumCheck       `yaml:"sum"`
	Clock     ClockCheck     `yaml:"clock"`
	Future    FutureCheck    `yaml:"future"`
	Plausible PlausibleCheck `yaml:"plausible"`
	Estimate  EstimateRules  `yaml:"estimate"`
}

// GapCheck finds missing values in interval and daily register series.
// Each missing interval or day becomes a value of quality failed (a
// placeholder the estimation fills), and the value after the gap says
// how many were missing.
type GapCheck struct {
	Check `yaml:",inline"`
	// Step is the load-profile interval: 15m.
	Step time.Duration `yaml:"step"`
	// MaxPlaceholders bounds the failed values made for one gap; a longer
	// gap is reported only by the reason on the value after it. 672 (7
	// days of 15-minute intervals, what a meter holds).
	MaxPlaceholders int `yaml:"max_placeholders"`
}

// SpikeCheck flags an interval whose energy is more than Factor times the
// median of its references: the Neighbours intervals before it and the
// same interval on each of the previous Days days, as far as the window
// holds them and they are valid. It needs MinRefs references, and the
// interval's energy must be at least MinDelta, so that small figures over
// a sleeping meter are not spikes.
type SpikeCheck struct {
	Check      `yaml:",inline"`
	Factor     dlt645.Decimal `yaml:"factor"`    // 10
	MinDelta   dlt645.Decimal `yaml:"min_delta"` // 2.00 kWh in one interval (8 kW on average)
	Neighbours int            `yaml:"neighbours"`
	Days       int            `yaml:"days"`
	MinRefs    int            `yaml:"min_refs"`
}

// RegisterCheck is the register decrease check. A register lower than
// the value before it has rolled over if it passed one of its maxima:
// the consumption across the rollover, max − before + one unit + after,
// is then at most RolloverSpan. Any other decrease is suspect.
type RegisterCheck struct {
	Check `yaml:",inline"`
	// Max2007 and Max1997 are the registers' maxima by edition. DL/T
	// 645-2007 and -1997 both send energies as XXXXXX.XX (999999.99);
	// 1997 meters with a five-digit register roll at 99999.99.
	Max2007 []dlt645.Decimal `yaml:"max_2007"`
	Max1997 []dlt645.Decimal `yaml:"max_1997"`
	// RolloverSpan is the most consumption a rollover may account for:
	// 1000.00 kWh.
	RolloverSpan dlt645.Decimal `yaml:"rollover_span"`
}

// ZeroCheck flags a register that did not advance for at least Span
// while the meter measured a current of at least MinCurrent (any phase)
// within that span: a stopped meter, or a bypass. It applies to the
// Quantities of interval and daily series, and not while the Export
// register of the same series class advanced (a PV meter exporting).
type ZeroCheck struct {
	Check      `yaml:",inline"`
	Span       time.Duration  `yaml:"span"`        // 4h
	MinCurrent dlt645.Decimal `yaml:"min_current"` // 0.20 A: 44 W at 220 V, 0.17 kWh in 4 h
	Quantities []string       `yaml:"quantities"`  // forward active energy total
	Export     string         `yaml:"export"`      // reverse active energy total
}

// UsageCheck compares a day's consumption with the meter's own average
// day: the mean of its last Days valid single days, once there are at
// least MinDays of them and their mean is at least MinAverage. A day
// above High × the mean or below Low × the mean is suspect.
type UsageCheck struct {
	Check      `yaml:",inline"`
	Days       int            `yaml:"days"`        // 30
	MinDays    int            `yaml:"min_days"`    // 14
	High       dlt645.Decimal `yaml:"high"`        // 3
	Low        dlt645.Decimal `yaml:"low"`         // 0.1
	MinAverage dlt645.Decimal `yaml:"min_average"` // 1.00 kWh a day
	Quantities []string       `yaml:"quantities"`  // forward active energy total
}

// SumCheck compares the sum of a day's interval energies with the daily
// freezes' delta over the same span; they may differ by Abs plus Pct
// percent of the delta.
type SumCheck struct {
	Check `yaml:",inline"`
	Abs   dlt645.Decimal `yaml:"abs"` // 0.10 kWh
	Pct   dlt645.Decimal `yaml:"pct"` // 1 %
}

// ClockCheck judges the meter's clock error (the collector's "clock
// error" reads): beyond Tolerance the clock read is suspect, and so are
// the values the meter stamps (freezes, load-profile records) while its
// last known error is beyond it; beyond Fail those values are failed,
// their time being unusable.
type ClockCheck struct {
	Check     `yaml:",inline"`
	Tolerance time.Duration `yaml:"tolerance"` // 5m: what a broadcast time sync may correct
	Fail      time.Duration `yaml:"fail"`      // 1h
}

// FutureCheck flags a value the meter stamped later than Tolerance after
// the head-end received it.
type FutureCheck struct {
	Check     `yaml:",inline"`
	Tolerance time.Duration `yaml:"tolerance"` // 5m
}

// PlausibleCheck bounds instantaneous values to their physical range:
// voltage 0 .. VoltageFactor × Nominal, current |I| ≤ CurrentMax (and
// ≥ 0 unless NegativeCurrent), power |P| ≤ PowerMax, power factor in
// [−1, 1], frequency in [FrequencyMin, FrequencyMax].
type PlausibleCheck struct {
	Check           `yaml:",inline"`
	Nominal         dlt645.Decimal `yaml:"nominal"`          // 220 V
	VoltageFactor   dlt645.Decimal `yaml:"voltage_factor"`   // 1.5: up to 330 V
	CurrentMax      dlt645.Decimal `yaml:"current_max"`      // 100 A
	NegativeCurrent bool           `yaml:"negative_current"` // true: 2007 currents are signed (reverse flow)
	PowerMax        dlt645.Decimal `yaml:"power_max"`        // 100 kW (kvar)
	FrequencyMin    dlt645.Decimal `yaml:"frequency_min"`    // 45 Hz
	FrequencyMax    dlt645.Decimal `yaml:"frequency_max"`    // 55 Hz
}

// EstimateRules say how Estimate fills gaps.
type EstimateRules struct {
	// Interpolate is the longest gap, in missing values, filled by
	// linear interpolation: 4 intervals (an hour), 2 days.
	InterpolateIntervals int `yaml:"interpolate_intervals"`
	InterpolateDays      int `yaml:"interpolate_days"`
	// Profile is the longest gap filled from the similar-day profile:
	// 672 intervals (7 days), 31 days; longer gaps are left.
	ProfileIntervals int `yaml:"profile_intervals"`
	ProfileDays      int `yaml:"profile_days"`
	// SimilarDays is how many of the most recent days of the same type
	// make the profile (4), and MinSimilarDays how many it needs (2).
	SimilarDays    int `yaml:"similar_days"`
	MinSimilarDays int `yaml:"min_similar_days"`
	// Weekend are the weekdays of the rest-day type (0 = Sunday .. 6 =
	// Saturday); Holidays are dates
	// (their day in Location) of that type too. The others are workdays.
	Weekend  []time.Weekday `yaml:"weekend"`
	Holidays []time.Time    `yaml:"holidays"`
}

func dec(units int64, scale uint8) dlt645.Decimal { return dlt645.Decimal{Units: units, Scale: scale} }

// DefaultSettings returns the defaults a metering engineer would start
// from, in force from the beginning.
func DefaultSettings() Settings {
	return Settings{
		Gap:   GapCheck{Step: 15 * time.Minute, MaxPlaceholders: 672},
		Spike: SpikeCheck{Factor: dec(10, 0), MinDelta: dec(200, 2), Neighbours: 8, Days: 1, MinRefs: 4},
		Register: RegisterCheck{
			Max2007:      []dlt645.Decimal{dec(99999999, 2)},
			Max1997:      []dlt645.Decimal{dec(99999999, 2), dec(9999999, 2)},
			RolloverSpan: dec(100000, 2),
		},
		Zero: ZeroCheck{Span: 4 * time.Hour, MinCurrent: dec(20, 2),
			Quantities: []string{"forward active energy total"}, Export: "reverse active energy total"},
		Usage: UsageCheck{Days: 30, MinDays: 14, High: dec(3, 0), Low: dec(1, 1), MinAverage: dec(100, 2),
			Quantities: []string{"forward active energy total"}},
		Sum:    SumCheck{Abs: dec(10, 2), Pct: dec(1, 0)},
		Clock:  ClockCheck{Tolerance: 5 * time.Minute, Fail: time.Hour},
		Future: FutureCheck{Tolerance: 5 * time.Minute},
		Plausible: PlausibleCheck{Nominal: dec(220, 0), VoltageFactor: dec(15, 1), CurrentMax: dec(100, 0),
			NegativeCurrent: true, PowerMax: dec(100, 0), FrequencyMin: dec(45, 0), FrequencyMax: dec(55, 0)},
		Estimate: EstimateRules{InterpolateIntervals: 4, InterpolateDays: 2, ProfileIntervals: 672, ProfileDays: 31,
			SimilarDays: 4, MinSimilarDays: 2, Weekend: []time.Weekday{time.Saturday, time.Sunday}},
	}
}

// CST is China Standard Time, the default Location.
var CST = time.FixedZone("CST", 8*3600)

// DefaultConfig returns the default configuration: one version of
// [DefaultSettings].
func DefaultConfig() Config {
	return Config{Location: CST, IntervalWindow: 30 * time.Hour, DailyWindow: 62 * 24 * time.Hour, Recent: 8,
		Versions: []Settings{DefaultSettings()}}
}

func (c *Config) location() *time.Location {
	if c.Location == nil {
		return CST
	}
	return c.Location
}

// settings returns the version in force at t.
func (c *Config) settings(t time.Time) *Settings {
	v := c.Versions
	i := sort.Search(len(v), func(i int) bool { return v[i].From.After(t) })
	if i == 0 {
		return &v[0]
	}
	return &v[i-1]
}

// Validate reports every problem of the configuration at once, each
// naming its setting.
func (c *Config) Validate() error {
	var errs []error
	bad := func(where, format string, args ...any) {
		errs = append(errs, fmt.Errorf("vee: %s: %s", where, fmt.Sprintf(format, args...)))
	}
	if c.IntervalWindow < 25*time.Hour {
		bad("interval_window", "%s: must hold a day and an hour (the sum check and yesterday's interval)", c.IntervalWindow)
	}
	if c.Recent < 2 {
		bad("recent", "%d: must be at least 2", c.Recent)
	}
	if len(c.Versions) == 0 {
		bad("versions", "none: at least one version of the settings is needed")
	}
	positive := func(where string, d dlt645.Decimal) {
		if !okScale(d) || d.Units <= 0 {
			bad(where, "%s: must be a number > 0", fmtDec(d))
		}
	}
	for i := range c.Versions {
		s := &c.Versions[i]
		w := func(name string) string { return fmt.Sprintf("versions[%d].%s", i, name) }
		if i > 0 && !s.From.After(c.Versions[i-1].From) {
			bad(w("from"), "%s: versions must be in increasing order of from", s.From.Format(time.RFC3339))
		}
		if s.Gap.Step <= 0 || 24*time.Hour%s.Gap.Step != 0 {
			bad(w("gap.step"), "%s: must divide a day", s.Gap.Step)
		}
		if s.Gap.MaxPlaceholders < 0 {
			bad(w("gap.max_placeholders"), "%d: must be ≥ 0", s.Gap.MaxPlaceholders)
		}
		positive(w("spike.factor"), s.Spike.Factor)
		if !okScale(s.Spike.MinDelta) || negative(s.Spike.MinDelta) {
			bad(w("spike.min_delta"), "%s: must be ≥ 0", fmtDec(s.Spike.MinDelta))
		}
		if s.Spike.Neighbours < 0 || s.Spike.Days < 0 || s.Spike.MinRefs < 1 || s.Spike.MinRefs > s.Spike.Neighbours+s.Spike.Days {
			bad(w("spike"), "neighbours %d, days %d, min_refs %d: need 1 ≤ min_refs ≤ neighbours + days", s.Spike.Neighbours, s.Spike.Days, s.Spike.MinRefs)
		}
		if time.Duration(s.Spike.Days)*24*time.Hour > c.IntervalWindow {
			bad(w("spike.days"), "%d: beyond interval_window %s", s.Spike.Days, c.IntervalWindow)
		}
		for _, m := range append(append([]dlt645.Decimal(nil), s.Register.Max2007...), s.Register.Max1997...) {
			positive(w("register.max"), m)
		}
		if len(s.Register.Max2007) == 0 || len(s.Register.Max1997) == 0 {
			bad(w("register"), "max_2007 and max_1997 need at least one maximum each")
		}
		positive(w("register.rollover_span"), s.Register.RolloverSpan)
		if s.Zero.Span <= 0 {
			bad(w("zero.span"), "%s: must be > 0", s.Zero.Span)
		}
		positive(w("zero.min_current"), s.Zero.MinCurrent)
		if s.Usage.MinDays < 1 || s.Usage.Days < s.Usage.MinDays {
			bad(w("usage"), "days %d, min_days %d: need 1 ≤ min_days ≤ days", s.Usage.Days, s.Usage.MinDays)
		}
		if time.Duration(s.Usage.Days+1)*24*time.Hour > c.DailyWindow {
			bad(w("usage.days"), "%d: beyond daily_window %s", s.Usage.Days, c.DailyWindow)
		}
		positive(w("usage.high"), s.Usage.High)
		positive(w("usage.low"), s.Usage.Low)
		if cmpDec(s.Usage.Low, s.Usage.High) >= 0 {
			bad(w("usage"), "low %s must be below high %s", fmtDec(s.Usage.Low), fmtDec(s.Usage.High))
		}
		if !okScale(s.Usage.MinAverage) || negative(s.Usage.MinAverage) {
			bad(w("usage.min_average"), "%s: must be ≥ 0", fmtDec(s.Usage.MinAverage))
		}
		if !okScale(s.Sum.Abs) || negative(s.Sum.Abs) || !okScale(s.Sum.Pct) || negative(s.Sum.Pct) {
			bad(w("sum"), "abs %s, pct %s: must be ≥ 0", fmtDec(s.Sum.Abs), fmtDec(s.Sum.Pct))
		}
		if s.Clock.Tolerance <= 0 || s.Clock.Fail < s.Clock.Tolerance {
			bad(w("clock"), "tolerance %s, fail %s: need 0 < tolerance ≤ fail", s.Clock.Tolerance, s.Clock.Fail)
		}
		if s.Future.Tolerance < 0 {
			bad(w("future.tolerance"), "%s: must be ≥ 0", s.Future.Tolerance)
		}
		p := &s.Plausible
		positive(w("plausible.nominal"), p.Nominal)
		positive(w("plausible.voltage_factor"), p.VoltageFactor)
		if _, ok := product(p.Nominal, p.VoltageFactor); !ok {
			bad(w("plausible"), "nominal × voltage_factor does not fit")
		}
		positive(w("plausible.current_max"), p.CurrentMax)
		positive(w("plausible.power_max"), p.PowerMax)
		positive(w("plausible.frequency_max"), p.FrequencyMax)
		if !okScale(p.FrequencyMin) || cmpDec(p.FrequencyMin, p.FrequencyMax) >= 0 {
			bad(w("plausible.frequency_min"), "%s: must be below frequency_max", fmtDec(p.FrequencyMin))
		}
		e := &s.Estimate
		if e.InterpolateIntervals < 0 || e.InterpolateDays < 0 || e.ProfileIntervals < e.InterpolateIntervals || e.ProfileDays < e.InterpolateDays {
			bad(w("estimate"), "need 0 ≤ interpolate ≤ profile lengths")
		}
		if e.MinSimilarDays < 1 || e.SimilarDays < e.MinSimilarDays {
			bad(w("estimate"), "similar_days %d, min_similar_days %d: need 1 ≤ min ≤ similar_days", e.SimilarDays, e.MinSimilarDays)
		}
	}
	return errors.Join(errs...)
}

// fmtDec formats d, also when its scale is out of range.
func fmtDec(d dlt645.Decimal) string {
	if !okScale(d) {
		return fmt.Sprintf("%de-%d", d.Units, d.Scale)
	}
	return d.String()
}
