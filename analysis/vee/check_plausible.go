package vee

import (
	"fmt"

	"github.com/headend/headend/protocol/dlt645"
)

// plausible is the implausible-value check of instantaneous quantities
// (whichever class carries them: instantaneous reads, load-profile
// records, max demand): voltage, current, power, power factor and
// frequency out of their physical range are suspect.
func (v *Validator) plausible(s *series, p *point, set *Settings) (Quality, Reason, bool) {
	c := &set.Plausible
	if !c.applies(p.t) {
		return "", Reason{}, false
	}
	x := p.v
	var lo, hi dlt645.Decimal
	why := ""
	switch s.kind {
	case kindVoltage:
		bound, ok := product(c.Nominal, c.VoltageFactor)
		if !ok {
			return "", Reason{}, false
		}
		lo, hi = dlt645.Decimal{}, bound
		why = "voltage factor × nominal"
	case kindCurrent:
		lo, hi = dlt645.Decimal{Units: -c.CurrentMax.Units, Scale: c.CurrentMax.Scale}, c.CurrentMax
		why = "|I| ≤ maximum"
		if !c.NegativeCurrent {
			lo, why = dlt645.Decimal{}, "0 .. maximum"
		}
	case kindPower:
		lo, hi = dlt645.Decimal{Units: -c.PowerMax.Units, Scale: c.PowerMax.Scale}, c.PowerMax
		why = "|P| ≤ maximum"
	case kindPowerFactor:
		lo, hi = dlt645.Decimal{Units: -1}, dlt645.Decimal{Units: 1}
		why = "−1 .. 1"
	case kindFrequency:
		lo, hi = c.FrequencyMin, c.FrequencyMax
		why = "the grid's range"
	default:
		return "", Reason{}, false
	}
	if cmpDec(x, lo) >= 0 && cmpDec(x, hi) <= 0 {
		return "", Reason{}, false
	}
	if s.kind == kindVoltage {
		why = fmt.Sprintf("%s × %s V nominal", c.VoltageFactor, c.Nominal)
	}
	return Suspect, Reason{Code: CodeImplausible,
		Message:  fmt.Sprintf("%s %s %s outside %s .. %s %s (%s)", s.quantity, x, s.unit, lo, hi, s.unit, why),
		Evidence: []Figure{num("value", x, s.unit), num("min", lo, s.unit), num("max", hi, s.unit)},
	}, true
}
