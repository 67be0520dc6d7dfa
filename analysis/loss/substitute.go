package loss

import (
	"fmt"
	"slices"
	"strings"
)

// Substitute returns r with e kWh, an estimate of customer meter's
// forward energy over r's period, in place of what its reads gave: a
// meter whose reads cannot enter the balance (missing: it did not answer,
// its clock is off, it died before it had history) or whose difference
// is wrong (a register jump), so that the balance is published with the
// meter estimated rather than left out. The meter's part becomes
// [StatusEstimated] with Estimate saying how; its reverse energy counts
// as none when its reads gave none. Loss = Supply − Sales still holds, and
// the rate and class are decided again with cfg. r is not modified; a
// meter that is not one of r's customer meters leaves r as it was.
func Substitute(r Result, meter string, e Decimal, how string, cfg Config) Result {
	cfg = cfg.withDefaults()
	i := slices.IndexFunc(r.Meters, func(m MeterResult) bool { return m.Meter == meter })
	if i < 0 || Sign(e) < 0 || slices.Contains(r.Reasons, overflowReason) {
		return r
	}
	r.Meters = slices.Clone(r.Meters)
	mr := &r.Meters[i]
	cf, exp, sales := r.CustomerForward, r.Export, r.Sales
	var ok bool
	switch mr.Status {
	case StatusMissing:
		r.Missing--
		r.Estimated++
		if mr.Reverse.OK {
			if exp, ok = Add(exp, mr.Reverse.Energy); !ok {
				return r
			}
		}
	case StatusRead:
		r.Read--
		r.Estimated++
		fallthrough
	default:
		if cf, ok = Sub(cf, mr.Forward.Energy); !ok {
			return r
		}
		if sales, ok = Sub(sales, mr.Forward.Energy); !ok {
			return r
		}
	}
	cf, ok1 := Add(cf, e)
	sales, ok2 := Add(sales, e)
	supply, ok3 := Add(r.AreaForward, exp)
	if !ok1 || !ok2 || !ok3 {
		return r
	}
	if mr.Status == StatusMissing {
		if !mr.Reverse.OK {
			mr.Reverse = Delta{Start: mr.Reverse.Start, End: mr.Reverse.End, OK: true}
		}
		mr.Issue, mr.Reason = "", ""
	}
	was := mr.Forward.Energy
	mr.Status, mr.Estimate = StatusEstimated, how
	mr.Forward.Energy, mr.Forward.OK = e, true
	r.CustomerForward, r.Export, r.Sales, r.Supply = cf, exp, sales, supply
	l, ok := Sub(r.Supply, r.Sales)
	if !ok {
		return r
	}
	r.Loss = l
	// the reasons without the old verdict and the old counts
	reasons := make([]string, 0, len(r.Reasons)+2)
	for k, s := range r.Reasons {
		if k == 0 && r.Class.Computable() || isSupplyReason(s) || isCountReason(s) {
			continue
		}
		reasons = append(reasons, s)
	}
	areaOK := r.AreaMeter != nil && r.AreaMeter.Status != StatusMissing
	computable := areaOK && Sign(r.Supply) > 0 && shareMet(r.Read+r.Estimated, r.Expected, cfg.MinShare)
	r.Class, r.Rate, r.HasRate = NotComputable, Decimal{}, false
	if computable {
		if rate, ok := Percent(r.Loss, r.Supply, cfg.Places); ok {
			c, why := cfg.classify(rate)
			r.Class, r.Rate, r.HasRate = c, rate, true
			reasons = append([]string{why}, reasons...)
		}
	} else if areaOK && Sign(r.Supply) <= 0 {
		reasons = append(reasons, supplyReason(r.Supply))
	}
	if !shareMet(r.Read+r.Estimated, r.Expected, cfg.MinShare) {
		reasons = append(reasons, usableReason(r.Read+r.Estimated, r.Expected, cfg.MinShare))
	}
	var est, miss []string
	for k := range r.Meters {
		switch m := &r.Meters[k]; m.Status {
		case StatusEstimated:
			est = append(est, m.Meter)
		case StatusMissing:
			miss = append(miss, m.Meter+" ("+m.Reason+")")
		}
	}
	if len(est) > 0 {
		reasons = append(reasons, estimatedReason(est))
	}
	if len(miss) > 0 {
		reasons = append(reasons, missingReason(miss))
	}
	note := fmt.Sprintf("meter %s estimated at %s kWh", meter, e)
	if Sign(was) != 0 {
		note += fmt.Sprintf(" (its reads gave %s)", was)
	}
	if how != "" {
		note += ": " + how
	}
	r.Reasons = append(reasons, note)
	return r
}

func usableReason(n, total int, min Decimal) string {
	return fmt.Sprintf("%d of %d customer meters usable, below %s %%", n, total, min)
}

func estimatedReason(meters []string) string {
	return fmt.Sprintf("%d customer meters estimated: %s", len(meters), list(meters))
}

func missingReason(meters []string) string {
	return fmt.Sprintf("%d customer meters missing: %s", len(meters), list(meters))
}

// isCountReason reports whether s is one of the reasons that count the
// meters estimated, missing or usable.
func isCountReason(s string) bool {
	return strings.Contains(s, " customer meters estimated: ") || strings.Contains(s, " customer meters missing: ") ||
		strings.Contains(s, " customer meters usable, below ")
}
