package anomaly

import (
	"fmt"
	"math"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
)

// adjacent reports whether day d follows day d−1 without a gap.
func (a *Analysis) adjacent(d int) bool {
	return d > 0 && a.days[d].Start.Equal(a.days[d-1].End)
}

// runs returns the runs [from, to] of consecutive days where ok holds.
func (a *Analysis) runs(ok func(d int) bool) [][2]int {
	var out [][2]int
	for d := range a.days {
		if !ok(d) {
			continue
		}
		if n := len(out); n > 0 && out[n-1][1] == d-1 && a.adjacent(d) {
			out[n-1][1] = d
			continue
		}
		out = append(out, [2]int{d, d})
	}
	return out
}

func (a *Analysis) meterFlag(k Kind, ms *meterSeries, from, to int) Flag {
	return Flag{Kind: k, Meter: ms.addr, Area: ms.area, Start: a.days[from].Start, End: a.days[to].Start}
}

// registerBack flags a register that went down, not by a rollover.
func (a *Analysis) registerBack(ms *meterSeries, cfg *Config, out []Flag) []Flag {
	for d, mr := range ms.days {
		if mr == nil {
			continue
		}
		for _, reg := range [2]loss.Register{loss.Forward, loss.Reverse} {
			dl := &mr.Forward
			if reg == loss.Reverse {
				dl = &mr.Reverse
			}
			s, e := dl.Start, dl.End
			if dl.OK || s == nil || e == nil || !s.Quality.Usable() || !e.Quality.Usable() || loss.Sign(s.Value) < 0 || loss.Cmp(e.Value, s.Value) >= 0 {
				continue
			}
			down, _ := loss.Sub(s.Value, e.Value)
			f := a.meterFlag(RegisterBack, ms, d, d)
			f.Confidence = 0.95
			f.Summary = fmt.Sprintf("%s register went down by %s kWh (%s → %s), not a rollover", reg, down, s.Value, e.Value)
			f.Reads = keysOf(s, e)
			f.Figures = []Figure{fig("start", s.Value, "kWh"), fig("end", e.Value, "kWh"), fig("decrease", down, "kWh")}
			out = append(out, f)
		}
	}
	return out
}

// plausibleMax is the most primary energy a meter can register in a day:
// the area transformer's capacity for an area meter when known, else the
// rating × multiplier.
func (a *Analysis) plausibleMax(ms *meterSeries, cfg *Config) (float64, string) {
	if ms.role == archive.RoleArea {
		if ar, ok := a.ix.Area(ms.area); ok && ar.CapacityKVA > 0 {
			return ar.CapacityKVA * 24, fmt.Sprintf("transformer %g kVA × 24 h", ar.CapacityKVA)
		}
	}
	r, _ := a.rating(ms, cfg)
	return r.MaxDailyKWh() * float64(ms.mult), fmt.Sprintf("%g V × %g A × %d × 24 h × %d", r.Voltage, r.MaxCurrent, r.Phases, ms.mult)
}

// registerJump flags a day's energy far beyond the meter's history or
// beyond what its rating allows. The history is the median of the days
// before (Config.History of them, at least Config.MinHistory), else, for a
// new meter with at least one day of its own, the
// larger of its most energy in a day and the median day of the area's
// meters of its role and multiplier.
func (a *Analysis) registerJump(ms *meterSeries, cfg *Config, out []Flag) []Flag {
	pmax, how := a.plausibleMax(ms, cfg)
	jumpMin := cfg.JumpMin.Float64()
	for d := range ms.days {
		e, ok := ms.forward(d)
		if !ok {
			continue
		}
		ef := e.Float64()
		base, hasBase := ms.baseline(d, cfg.History, cfg.MinHistory)
		typical := false
		if !hasBase { // a new meter: its class in the area, and what it has
			base, hasBase = a.typical(ms, d)
			own, any := ms.ownMax(d, cfg.History)
			hasBase = hasBase && any
			base = max(base, own)
			typical = hasBase
		}
		overRating := ef > pmax
		overHistory := hasBase && ef > cfg.JumpFactor*base && ef-base > jumpMin
		if !overRating && !overHistory {
			continue
		}
		f := a.meterFlag(RegisterJump, ms, d, d)
		switch {
		case overRating && overHistory:
			f.Confidence = 0.95
		case overRating:
			f.Confidence = 0.85
		default:
			f.Confidence = 0.6
		}
		mr := ms.days[d]
		f.Summary = fmt.Sprintf("%s kWh in a day: plausible maximum %.2f kWh (%s)", e, pmax, how)
		switch {
		case typical:
			f.Summary += fmt.Sprintf(", typical day %.2f kWh (the larger of its most in its %d days and the median of the area's like meters: too few days for a baseline of its own)", base, d)
		case hasBase:
			f.Summary += fmt.Sprintf(", baseline %.2f kWh", base)
		}
		f.Reads = keysOf(mr.Forward.Start, mr.Forward.End)
		f.Figures = []Figure{fig("energy", e, "kWh"), fig("register difference", mr.Forward.Register, "kWh"),
			figf("plausible maximum", pmax, "kWh"), figf("jump factor", cfg.JumpFactor, "")}
		switch {
		case typical:
			f.Figures = append(f.Figures, figf("typical day", base, "kWh"))
		case hasBase:
			f.Figures = append(f.Figures, figf("baseline", base, "kWh"))
		}
		out = append(out, f)
	}
	return out
}

// typicalMin is the fewest like meters whose day makes a typical day.
const typicalMin = 3

// typical is the median forward energy on day d of the other meters of
// ms's area of its role and multiplier (its class), for a meter with too
// little history of its own; false with fewer than typicalMin of them.
func (a *Analysis) typical(ms *meterSeries, d int) (float64, bool) {
	s := a.byArea[ms.area]
	if s == nil || ms.role == archive.RoleArea {
		return 0, false
	}
	var v []float64
	for _, o := range s.customers {
		if o == ms || o.role != ms.role || o.mult != ms.mult {
			continue
		}
		if e, ok := o.forward(d); ok {
			v = append(v, e.Float64())
		}
	}
	if len(v) < typicalMin {
		return 0, false
	}
	return median(v), true
}

// ownMax is the most forward energy of a meter's usable days in [d−h,
// d), and false when it has none.
func (ms *meterSeries) ownMax(d, h int) (float64, bool) {
	m, any := 0.0, false
	for i := max(0, d-h); i < d; i++ {
		if e, ok := ms.forward(i); ok {
			m, any = max(m, e.Float64()), true
		}
	}
	return m, any
}

// reverseEnergy flags reverse energy on a consumer-only meter.
func (a *Analysis) reverseEnergy(ms *meterSeries, cfg *Config, out []Flag) []Flag {
	if ms.role != archive.RoleCustomer {
		return out
	}
	on := func(d int) bool {
		mr := ms.days[d]
		return mr != nil && mr.Reverse.OK && loss.Cmp(mr.Reverse.Energy, cfg.ReverseMin) > 0
	}
	for _, r := range a.runs(on) {
		f := a.meterFlag(ReverseEnergy, ms, r[0], r[1])
		var rev, fwd loss.Decimal
		for d := r[0]; d <= r[1]; d++ {
			mr := ms.days[d]
			rev, _ = loss.Add(rev, mr.Reverse.Energy)
			if mr.Forward.OK {
				fwd, _ = loss.Add(fwd, mr.Forward.Energy)
			}
			f.Reads = append(f.Reads, keysOf(mr.Reverse.Start, mr.Reverse.End)...)
		}
		share := 0.0
		if t := rev.Float64() + fwd.Float64(); t > 0 {
			share = rev.Float64() / t
		}
		f.Confidence = clamp01(0.5 + 0.5*share)
		f.Summary = fmt.Sprintf("consumer meter registered %s kWh reverse energy over %d days (%.0f %% of its energy)", rev, r[1]-r[0]+1, share*100)
		f.Figures = []Figure{fig("reverse energy", rev, "kWh"), fig("forward energy", fwd, "kWh"),
			figf("reverse share", share, ""), fig("threshold per day", cfg.ReverseMin, "kWh")}
		out = append(out, f)
	}
	return out
}

// stopped flags a meter whose registers stood still while current flowed
// (one day's reads show it: the freezes do not advance, an instantaneous
// read shows current), or for Config.StoppedDays days while its baseline
// expected load.
func (a *Analysis) stopped(ms *meterSeries, cfg *Config, out []Flag) []Flag {
	still := func(d int) bool {
		mr := ms.days[d]
		return mr != nil && mr.Status != loss.StatusMissing && loss.Sign(mr.Forward.Register) == 0 && loss.Sign(mr.Reverse.Register) == 0
	}
	for _, r := range a.runs(still) {
		var peak *loss.Reading
		from, to := a.days[r[0]].Start, a.days[r[1]].End
		for i, x := range a.instant[ms.addr] {
			if _, ok := phaseOf(x.Key.Quantity, "current"); !ok || x.Key.Time.Before(from) || !x.Key.Time.Before(to) {
				continue
			}
			if math.Abs(x.Value.Float64()) > cfg.StoppedCurrent && (peak == nil || math.Abs(x.Value.Float64()) > math.Abs(peak.Value.Float64())) {
				peak = &a.instant[ms.addr][i]
			}
		}
		base, hasBase := ms.baseline(r[0], cfg.History, cfg.MinHistory)
		expected := hasBase && base > cfg.StoppedExpected.Float64()
		// current flowing while the register stood still shows it in a
		// day; an expected load alone needs StoppedDays
		if peak == nil && (!expected || r[1]-r[0]+1 < cfg.StoppedDays) {
			continue
		}
		f := a.meterFlag(Stopped, ms, r[0], r[1])
		switch {
		case peak != nil && expected:
			f.Confidence = 0.95
		case peak != nil:
			f.Confidence = 0.9
		default:
			f.Confidence = 0.6
		}
		f.Summary = fmt.Sprintf("no energy registered for %d days", r[1]-r[0]+1)
		for d := r[0]; d <= r[1]; d++ {
			mr := ms.days[d]
			f.Reads = append(f.Reads, keysOf(mr.Forward.Start, mr.Forward.End)...)
		}
		f.Figures = []Figure{figf("days", float64(r[1]-r[0]+1), "d")}
		if peak != nil {
			f.Summary += fmt.Sprintf(" while %s A flowed (%s)", peak.Value, peak.Key.Quantity)
			f.Reads = append(f.Reads, peak.Key)
			f.Figures = append(f.Figures, fig("current", peak.Value, "A"))
		}
		if expected {
			f.Summary += fmt.Sprintf(", against a baseline of %.2f kWh a day", base)
			f.Figures = append(f.Figures, figf("baseline", base, "kWh"))
		}
		out = append(out, f)
	}
	return out
}

// noAnswer flags a meter whose daily reads failed NoAnswerDays running: a
// boundary (one day's 00:00 freeze) fails when its forward read is absent,
// failed or estimated in every balance that needs it. The flag's reads are
// the failed ones, and the keys of the absent ones.
func (a *Analysis) noAnswer(ms *meterSeries, cfg *Config, out []Flag) []Flag {
	n := len(a.days)
	// boundary b is days[b].Start for b < n, days[n-1].End for b = n;
	// 0 unknown, 1 answered, 2 failed
	st := make([]int8, n+1)
	var keys = make([]*loss.Reading, n+1)
	mark := func(b int, r *loss.Reading) {
		if r != nil && r.Quality != meter.FailedQuality && !r.Quality.Estimated() {
			st[b] = 1
			return
		}
		if st[b] == 0 {
			st[b] = 2
			keys[b] = r
		}
	}
	for d, mr := range ms.days {
		if mr == nil {
			continue
		}
		mark(d, mr.Forward.Start)
		if d+1 < n && !a.adjacent(d+1) {
			continue // the end boundary is not the next day's start
		}
		mark(d+1, mr.Forward.End)
	}
	at := func(b int) (t time.Time) {
		if b < n {
			return a.days[b].Start
		}
		return a.days[n-1].End
	}
	for b := 0; b <= n; {
		if st[b] != 2 {
			b++
			continue
		}
		e := b
		for e+1 <= n && st[e+1] == 2 && at(e+1).Equal(at(e).AddDate(0, 0, 1)) {
			e++
		}
		if run := e - b + 1; run >= cfg.NoAnswerDays {
			f := Flag{Kind: NoAnswer, Meter: ms.addr, Area: ms.area, Start: at(b), End: at(e)}
			f.Confidence = clamp01(0.6 + 0.4*float64(run-cfg.NoAnswerDays)/float64(cfg.NoAnswerDays))
			f.Summary = fmt.Sprintf("no daily read for %d days running", run)
			for i := b; i <= e; i++ {
				if keys[i] != nil {
					f.Reads = append(f.Reads, keys[i].Key)
				} else { // the key of the read that is missing
					f.Reads = append(f.Reads, meter.Key{Meter: ms.addr, Class: meter.Daily, Quantity: "forward active energy total", Time: at(i)})
				}
			}
			f.Figures = []Figure{figf("days", float64(run), "d")}
			out = append(out, f)
		}
		b = e + 1
	}
	return out
}
