package loss

import (
	"fmt"
	"time"

	"github.com/headend/headend/archive"
)

// Class is the verdict on an area's balance.
type Class string

// Classes.
const (
	NotComputable Class = "not_computable" // area meter read missing, supply ≤ 0, too few customer reads
	Negative      Class = "negative"       // rate < 0
	Low           Class = "low"            // 0 ≤ rate < Config.Low (only with a lower bound)
	Qualified     Class = "qualified"      // within the bounds
	High          Class = "high"           // rate > Config.Upper
)

// Computable reports whether c carries a rate.
func (c Class) Computable() bool { return c != NotComputable && c != "" }

// Config holds the thresholds. Percentages are exact decimals, in percent
// (10 means 10 %). Zero fields take the defaults of [DefaultConfig].
type Config struct {
	// Upper is the highest qualified rate; above it an area is High.
	Upper Decimal `yaml:"upper"`
	// Low, when set, is the lowest qualified rate: 0 ≤ rate < Low is
	// abnormally low (provinces watch it as a hint of archive errors).
	Low *Decimal `yaml:"low"`
	// MinShare is the share of the area's customer meters (read or
	// estimated) below which the balance is not computable.
	MinShare Decimal `yaml:"min_share"`
	// Places is the number of decimals of the rate (1..6).
	Places uint8 `yaml:"places"`
	// Rollover is the register modulus per edition: a register passing
	// Rollover−0.01 goes on at 0. Editions without an entry (Modbus,
	// float registers) never roll over.
	Rollover map[archive.Edition]Decimal `yaml:"rollover"`
	// RolloverWindow bounds a decrease taken as a rollover: the wrapped
	// difference must be at most this share (percent) of the modulus.
	RolloverWindow Decimal `yaml:"rollover_window"`
	// Tolerance is how far from a period boundary a read may be stamped
	// and still stand for it (1997 meters keep no daily freeze and are
	// read just after midnight). Zero means the stamp must be the boundary.
	Tolerance time.Duration `yaml:"tolerance"`
}

// DefaultConfig returns the defaults: upper bound 10 %, no lower bound,
// 95 % of customer reads, rates with 2 decimals, registers rolling over
// after 999999.99 kWh (DL/T 645-2007 and -1997 alike: both carry energy
// as XXXXXX.XX), a rollover window of 10 % of the modulus, boundary reads
// stamped exactly.
func DefaultConfig() Config {
	return Config{
		Upper:    Decimal{Units: 10},
		MinShare: Decimal{Units: 95},
		Places:   2,
		Rollover: map[archive.Edition]Decimal{
			archive.Edition2007: {Units: 1_000_000},
			archive.Edition1997: {Units: 1_000_000},
		},
		RolloverWindow: Decimal{Units: 10},
	}
}

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Upper == (Decimal{}) {
		c.Upper = d.Upper
	}
	if c.MinShare == (Decimal{}) {
		c.MinShare = d.MinShare
	}
	if c.Places == 0 {
		c.Places = d.Places
	}
	if c.Rollover == nil {
		c.Rollover = d.Rollover
	}
	if c.RolloverWindow == (Decimal{}) {
		c.RolloverWindow = d.RolloverWindow
	}
	return c
}

// Check reports a configuration that cannot be used.
func (c Config) Check() error {
	c = c.withDefaults()
	switch {
	case Sign(c.Upper) < 0:
		return fmt.Errorf("loss: upper bound %s %% is negative", c.Upper)
	case c.Low != nil && (Sign(*c.Low) < 0 || Cmp(*c.Low, c.Upper) > 0):
		return fmt.Errorf("loss: lower bound %s %% is not within 0..%s %%", c.Low, c.Upper)
	case Sign(c.MinShare) < 0 || Cmp(c.MinShare, Decimal{Units: 100}) > 0:
		return fmt.Errorf("loss: customer share %s %% is not within 0..100 %%", c.MinShare)
	case c.Places > 6:
		return fmt.Errorf("loss: %d rate decimals: at most 6", c.Places)
	case Sign(c.RolloverWindow) < 0 || Cmp(c.RolloverWindow, Decimal{Units: 100}) > 0:
		return fmt.Errorf("loss: rollover window %s %% is not within 0..100 %%", c.RolloverWindow)
	case c.Tolerance < 0:
		return fmt.Errorf("loss: negative tolerance %s", c.Tolerance)
	}
	for _, d := range []Decimal{c.Upper, c.MinShare, c.RolloverWindow} {
		if d.Scale > 6 {
			return fmt.Errorf("loss: %s has more than 6 decimals", d)
		}
	}
	if c.Low != nil && c.Low.Scale > 6 {
		return fmt.Errorf("loss: %s has more than 6 decimals", c.Low)
	}
	for e, m := range c.Rollover {
		if m.Scale > 6 {
			return fmt.Errorf("loss: rollover of edition %s: %s has more than 6 decimals", e, m)
		}
		if Sign(m) <= 0 {
			return fmt.Errorf("loss: rollover of edition %s: %s is not positive", e, m)
		}
	}
	return nil
}

// classify returns the class of a computable rate and why.
func (c Config) classify(rate Decimal) (Class, string) {
	pct := func(d Decimal) string { return d.String() + " %" }
	switch {
	case Sign(rate) < 0:
		return Negative, "rate " + pct(rate) + " is below 0"
	case Cmp(rate, c.Upper) > 0:
		return High, "rate " + pct(rate) + " is above the upper bound " + pct(c.Upper)
	case c.Low != nil && Cmp(rate, *c.Low) < 0:
		return Low, "rate " + pct(rate) + " is below the lower bound " + pct(*c.Low)
	}
	if c.Low != nil {
		return Qualified, "rate " + pct(rate) + " is within " + pct(*c.Low) + ".." + pct(c.Upper)
	}
	return Qualified, "rate " + pct(rate) + " is within 0.." + pct(c.Upper)
}
