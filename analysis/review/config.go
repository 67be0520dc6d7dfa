package review

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/protocol/dlt645"
)

// Check is what every rule has: the day from which it applies, and a
// switch to turn it off.
type Check struct {
	From time.Time `yaml:"from" json:"from,omitzero"` // findings about days before From are not made; zero = always
	Off  bool      `yaml:"off" json:"off,omitempty"`
}

// applies reports whether the rule judges a finding about the day
// starting at t: From is compared as a calendar date (its own, in its
// location) with t's.
func (c Check) applies(t time.Time) bool {
	return !c.Off && (c.From.IsZero() || !archive.DateOf(t).Before(archive.DateOf(c.From)))
}

// Config holds every rule's settings. The zero value is not useful: start
// from [DefaultConfig].
type Config struct {
	// Location is the zone of calendar days; nil is China Standard Time.
	Location *time.Location `yaml:"-" json:"-"`

	Exchange    Check           `yaml:"exchange" json:"exchange"`
	Estimated   EstimatedRule   `yaml:"estimated" json:"estimated"`
	Frames      Check           `yaml:"frames" json:"frames"` // OK reads without a reply frame
	ReadRate    ReadRateRule    `yaml:"read_rate" json:"read_rate"`
	Consumption ConsumptionRule `yaml:"consumption" json:"consumption"`
	Capacity    CapacityRule    `yaml:"capacity" json:"capacity"`
	Suspended   SuspendedRule   `yaml:"suspended" json:"suspended"`

	Multiplier Check   `yaml:"multiplier" json:"multiplier"`
	Scan       Check   `yaml:"scan" json:"scan"`
	Answers    Answers `yaml:"answers" json:"answers"`
	Due        DueRule `yaml:"due" json:"due"`
}

// EstimatedRule finds daily consumption that repeats as an estimate
// does: RepeatDays days running with the same consumption, or Weeks weeks
// in a row with the same consumption day by day, to the 0.01 kWh. Days
// below MinDelta (a sleeping meter's zeros) are left to the zero rule.
type EstimatedRule struct {
	Check      `yaml:",inline"`
	RepeatDays int            `yaml:"repeat_days" json:"repeat_days"` // 4
	Weeks      int            `yaml:"weeks" json:"weeks"`             // 2
	MinDelta   dlt645.Decimal `yaml:"min_delta" json:"min_delta"`     // 0.01 kWh
}

// ReadRateRule flags a concentrator (or an area with several) whose
// meters' actual-read rate on a day is below MinRate percent, and a
// meter whose OK reads are more than MaxGap apart.
type ReadRateRule struct {
	Check   `yaml:",inline"`
	MinRate dlt645.Decimal `yaml:"min_rate" json:"min_rate"` // 98 %
	MaxGap  time.Duration  `yaml:"max_gap" json:"max_gap"`   // 48h
}

// ConsumptionRule lists, per Period (day, week from Monday, or calendar
// month; clipped to the range reviewed), the customers whose consumption
// was zero, the same as the period before to within Fixed, or changed
// from it by SharpPct percent or more where either period reached MinKWh.
// Periods shorter than MinDays (a range's clipped ends) are judged for
// zero consumption only: short sums match or swing by chance.
type ConsumptionRule struct {
	Check    `yaml:",inline"`
	Period   string         `yaml:"period" json:"period"`       // month
	MinDays  int            `yaml:"min_days" json:"min_days"`   // 7
	Fixed    dlt645.Decimal `yaml:"fixed" json:"fixed"`         // 0.01 kWh
	SharpPct dlt645.Decimal `yaml:"sharp_pct" json:"sharp_pct"` // 50 %
	MinKWh   dlt645.Decimal `yaml:"min_kwh" json:"min_kwh"`     // 10 kWh
}

// The consumption periods.
const (
	PeriodDay   = "day"
	PeriodWeek  = "week"
	PeriodMonth = "month"
)

// CapacityRule compares an area's peak demand in the range with what its
// transformer gives, CapacityKVA × PowerFactor: above OverPct percent is
// over, below UnderPct percent far under. The demand is the area
// meter's max demand read when there is one, else the peak of its
// interval energy, else its peak daily energy / 24 h × DailyPeakFactor
// (a day's peak over its mean).
type CapacityRule struct {
	Check           `yaml:",inline"`
	PowerFactor     dlt645.Decimal `yaml:"power_factor" json:"power_factor"`           // 0.9
	OverPct         dlt645.Decimal `yaml:"over_pct" json:"over_pct"`                   // 100 %
	UnderPct        dlt645.Decimal `yaml:"under_pct" json:"under_pct"`                 // 20 %
	DailyPeakFactor dlt645.Decimal `yaml:"daily_peak_factor" json:"daily_peak_factor"` // 2.5
}

// SuspendedRule flags a transformer suspended for more than MaxDays.
type SuspendedRule struct {
	Check   `yaml:",inline"`
	MaxDays int `yaml:"max_days" json:"max_days"` // 90
}

// Answers flags an archived meter with no OK read in the Days days before
// the check (meters of suspended areas left out).
type Answers struct {
	Check `yaml:",inline"`
	Days  int `yaml:"days" json:"days"` // 7
}

// DueRule raises alarms AlarmMonths ahead of a verification or rotation
// due date (6, 3 and 1 months: each due date in the narrowest window it
// falls in), and for overdue and out-of-tolerance devices.
type DueRule struct {
	Check       `yaml:",inline"`
	AlarmMonths []int `yaml:"alarm_months" json:"alarm_months"`
}

func dec(units int64, scale uint8) dlt645.Decimal { return dlt645.Decimal{Units: units, Scale: scale} }

// CST is China Standard Time, the default Location.
var CST = time.FixedZone("CST", 8*3600)

// DefaultConfig returns the settings a metering engineer would start
// from, every rule on.
func DefaultConfig() Config {
	return Config{
		Location:    CST,
		Estimated:   EstimatedRule{RepeatDays: 4, Weeks: 2, MinDelta: dec(1, 2)},
		ReadRate:    ReadRateRule{MinRate: dec(98, 0), MaxGap: 48 * time.Hour},
		Consumption: ConsumptionRule{Period: PeriodMonth, MinDays: 7, Fixed: dec(1, 2), SharpPct: dec(50, 0), MinKWh: dec(10, 0)},
		Capacity:    CapacityRule{PowerFactor: dec(9, 1), OverPct: dec(100, 0), UnderPct: dec(20, 0), DailyPeakFactor: dec(25, 1)},
		Suspended:   SuspendedRule{MaxDays: 90},
		Answers:     Answers{Days: 7},
		Due:         DueRule{AlarmMonths: []int{6, 3, 1}},
	}
}

func (c *Config) loc() *time.Location {
	if c.Location == nil {
		return CST
	}
	return c.Location
}

// Validate reports every setting out of range at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("review.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	pos := func(key string, d dlt645.Decimal) {
		if d.Units <= 0 || d.Scale > 6 {
			bad(key, "%s: must be > 0 with at most 6 decimals", d)
		}
	}
	if c.Estimated.RepeatDays < 2 {
		bad("estimated.repeat_days", "%d: must be ≥ 2", c.Estimated.RepeatDays)
	}
	if c.Estimated.Weeks < 2 {
		bad("estimated.weeks", "%d: must be ≥ 2", c.Estimated.Weeks)
	}
	pos("estimated.min_delta", c.Estimated.MinDelta)
	pos("read_rate.min_rate", c.ReadRate.MinRate)
	if c.ReadRate.MaxGap <= 0 {
		bad("read_rate.max_gap", "%s: must be > 0", c.ReadRate.MaxGap)
	}
	switch c.Consumption.Period {
	case PeriodDay, PeriodWeek, PeriodMonth:
	default:
		bad("consumption.period", "%q: want day, week or month", c.Consumption.Period)
	}
	if c.Consumption.MinDays < 1 {
		bad("consumption.min_days", "%d: must be ≥ 1", c.Consumption.MinDays)
	}
	if c.Consumption.Fixed.Units < 0 || c.Consumption.Fixed.Scale > 6 {
		bad("consumption.fixed", "%s: must be ≥ 0", c.Consumption.Fixed)
	}
	pos("consumption.sharp_pct", c.Consumption.SharpPct)
	pos("consumption.min_kwh", c.Consumption.MinKWh)
	pos("capacity.power_factor", c.Capacity.PowerFactor)
	if rat(c.Capacity.PowerFactor).Cmp(rat(dec(1, 0))) > 0 {
		bad("capacity.power_factor", "%s: must be at most 1", c.Capacity.PowerFactor)
	}
	pos("capacity.over_pct", c.Capacity.OverPct)
	pos("capacity.under_pct", c.Capacity.UnderPct)
	if rat(c.Capacity.UnderPct).Cmp(rat(c.Capacity.OverPct)) >= 0 {
		bad("capacity", "under_pct %s must be below over_pct %s", c.Capacity.UnderPct, c.Capacity.OverPct)
	}
	pos("capacity.daily_peak_factor", c.Capacity.DailyPeakFactor)
	if c.Suspended.MaxDays < 0 {
		bad("suspended.max_days", "%d: must be ≥ 0", c.Suspended.MaxDays)
	}
	if c.Answers.Days < 1 {
		bad("answers.days", "%d: must be ≥ 1", c.Answers.Days)
	}
	if len(c.Due.AlarmMonths) == 0 || slices.ContainsFunc(c.Due.AlarmMonths, func(n int) bool { return n < 1 || n > 120 }) {
		bad("due.alarm_months", "%v: want months ahead, 1..120 each", c.Due.AlarmMonths)
	}
	return errors.Join(errs...)
}
