package vee

import (
	"strings"

	"github.com/headend/headend/meter"
)

// kind is what a quantity is, for the checks.
type kind uint8

const (
	kindOther    kind = iota
	kindRegister      // an energy register that only goes up (until it rolls over)
	kindVoltage
	kindCurrent
	kindPower
	kindPowerFactor
	kindFrequency
	kindClockError // the collector's "clock error" read, in seconds
)

// classify tells a quantity's kind from its name and unit, as the codec
// names them. Combined energies (combined active, combined reactive 1
// and 2) are signed sums of registers and may go down: they are not
// registers here.
func classify(class meter.Class, quantity, unit string) kind {
	switch {
	case class == meter.Clock:
		if quantity == "clock error" {
			return kindClockError
		}
		return kindOther
	case unit == "kWh" || unit == "kvarh":
		if strings.HasPrefix(quantity, "combined") {
			return kindOther
		}
		return kindRegister
	case unit == "V":
		return kindVoltage
	case unit == "A":
		return kindCurrent
	case unit == "kW" || unit == "kvar":
		return kindPower
	case unit == "Hz":
		return kindFrequency
	case unit == "" && strings.Contains(quantity, "power factor"):
		return kindPowerFactor
	}
	return kindOther
}

// normQuantity gives a daily-freeze member its plain name ("daily freeze
// -1 forward active energy total" → "forward active energy total"), as
// the collector's freeze stamping does, so that both spellings are one
// series.
func normQuantity(q string) string {
	if rest, ok := strings.CutPrefix(q, "daily freeze -"); ok {
		if _, name, ok := strings.Cut(rest, " "); ok {
			return name
		}
	}
	return q
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
