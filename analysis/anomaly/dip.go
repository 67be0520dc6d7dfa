package anomaly

import (
	"fmt"
	"math"

	"github.com/headend/headend/archive"
)

// Dip thresholds: standard errors a day's dip must stand out of the
// customer's own history and the area's loss, the least share of the
// expected day it must be, and how far the area's rise may differ from
// the dip (as a share of it, or in standard errors).
const (
	dipSigma     = 5
	dipMinShare  = 0.5
	dipMinDays   = 10 // days of history a dip is judged on, at least
	dipMinKWh    = 1
	dipAreaMatch = 0.35
	dipAfter     = 3 // days after a dip that must be back to normal, those read
)

// registerDip flags a register that went down by less than the day's use:
// the day's difference stays positive, so the register decrease shows
// only as the energy the meter did not register that day. On day d the
// customer registered less than its share of the other customers' energy
// (its median share over the days before × their energy that day) by a
// dip D beyond dipSigma standard errors of its own history and
// dipMinShare of the expected day (both over at least dipMinDays days
// of history), the day before was not low, and the
// area's loss rose that day, against the median of the days before, by
// about D (within dipAreaMatch of it or a standard error of the loss),
// beyond dipSigma standard errors: the area meter registered the energy
// the customer's register lost. A drop that lasts (theft, a stopped
// meter) is not one day's: the day after must be read and back to what
// the meter registered before, and so the days after it up to dipAfter
// that are read. The flag needs 2 days of reads.
func (a *Analysis) registerDip(ms *meterSeries, cfg *Config, out []Flag) []Flag {
	s := a.byArea[ms.area]
	if s == nil || ms.role != archive.RoleCustomer {
		return out
	}
	var tmp []float64
	low := func(d int) (dip, expected, sd float64, ok bool) {
		var cs, os, q []float64
		for i := max(0, d-cfg.History); i < d; i++ {
			if c, o, ok := s.share(ms, i); ok && o > 0 && a.dayCounts(s, i) {
				cs, os, q = append(cs, c), append(os, o), append(q, c/o)
			}
		}
		c, o, ok := s.share(ms, d)
		if len(q) < max(cfg.MinHistory, min(dipMinDays, cfg.History)) || !ok || o <= 0 {
			return 0, 0, 0, false
		}
		share := median(q)
		for i := range cs { // the deficits of the history
			cs[i] = share*os[i] - cs[i]
		}
		expected = share * o
		sd = max(spread(cs, &tmp), 0.01*expected, 0.01)
		return expected - c, expected, sd, true
	}
	isLow := func(d int) bool { // the day before a dip must not be one
		dip, exp, sd, ok := low(d)
		return ok && dip > dipSigma*sd && dip > dipMinShare*exp
	}
	// back reports whether the meter registered as before on the day
	// after d and the next ones read (up to dipAfter): a drop that lasts
	// is no decrease
	back := func(d int, dip float64) bool {
		seen := 0
		for i := d + 1; i < len(a.days) && i <= d+dipAfter; i++ {
			if x, _, sd, ok := low(i); ok {
				if x > max(sd, 0.3*dip) {
					return false
				}
				seen++
			}
		}
		return seen > 0
	}
	for d := range a.days {
		mr := ms.days[d]
		if mr == nil || !mr.Forward.OK || !a.dayCounts(s, d) {
			continue
		}
		dip, exp, sd, ok := low(d)
		if !ok || dip <= dipSigma*sd || dip <= dipMinShare*exp || dip < dipMinKWh {
			continue
		}
		if d > 0 && isLow(d-1) || !back(d, dip) {
			continue
		}
		var l []float64
		for i := max(0, d-cfg.History); i < d; i++ {
			if a.dayCounts(s, i) {
				l = append(l, s.res[i].Loss.Float64())
			}
		}
		if len(l) < max(cfg.MinHistory, min(dipMinDays, cfg.History)) {
			continue
		}
		asd := max(spread(l, &tmp), 0.01)
		rise := s.res[d].Loss.Float64() - median(l)
		if rise <= dipSigma*asd || math.Abs(rise-dip) > max(dipAreaMatch*dip, asd) {
			continue
		}
		f := a.meterFlag(RegisterBack, ms, d, d)
		f.Confidence = clamp01(0.5 + 0.1*(dip/sd-dipSigma))
		f.Confidence = min(f.Confidence, 0.8)
		f.Summary = fmt.Sprintf("forward register likely went down by about %.2f kWh within the day: it registered %s kWh against %.2f expected (%.1f standard errors low), and the area's loss rose by %.2f kWh that day",
			dip, mr.Forward.Energy, exp, dip/sd, rise)
		f.Reads = keysOf(mr.Forward.Start, mr.Forward.End)
		f.Figures = []Figure{fig("energy", mr.Forward.Energy, "kWh"), figf("expected", exp, "kWh"), figf("decrease", dip, "kWh"),
			figf("own noise", sd, "kWh"), figf("area loss rise", rise, "kWh"), figf("area loss noise", asd, "kWh")}
		out = append(out, f)
	}
	return out
}

// dayCounts reports whether s's balance of day d is computable.
func (a *Analysis) dayCounts(s *areaSeries, d int) bool {
	_, ok := s.computable(d)
	return ok
}
