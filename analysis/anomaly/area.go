package anomaly

import (
	"fmt"
	"math"
	"slices"

	"github.com/headend/headend/analysis/loss"
)

// computable returns area s's balance on day d when it has a rate.
func (s *areaSeries) computable(d int) (*loss.Result, bool) {
	r := s.res[d]
	return r, r != nil && r.Class.Computable()
}

// lossBaseline is the median loss of s over the computable days of
// [d−h, d), false with fewer than minDays.
func (s *areaSeries) lossBaseline(d, h, minDays int) (float64, bool) {
	var v []float64
	for i := max(0, d-h); i < d; i++ {
		if r, ok := s.computable(i); ok {
			v = append(v, r.Loss.Float64())
		}
	}
	if len(v) < minDays {
		return 0, false
	}
	return median(v), true
}

func (a *Analysis) areaFlag(k Kind, s *areaSeries, from, to int) Flag {
	return Flag{Kind: k, Area: s.id, Start: a.days[from].Start, End: a.days[to].Start}
}

// classChange flags a day whose loss class differs from the day before's,
// both computable.
func (a *Analysis) classChange(s *areaSeries, _ *Config, out []Flag) []Flag {
	for d := 1; d < len(a.days); d++ {
		prev, ok1 := s.computable(d - 1)
		cur, ok2 := s.computable(d)
		if !ok1 || !ok2 || !a.adjacent(d) || prev.Class == cur.Class {
			continue
		}
		f := a.areaFlag(LossClassChange, s, d, d)
		f.Confidence = 1
		f.Summary = fmt.Sprintf("loss class %s (%s %%) → %s (%s %%)", prev.Class, prev.Rate, cur.Class, cur.Rate)
		f.Figures = []Figure{fig("rate before", prev.Rate, "%"), fig("rate", cur.Rate, "%"),
			fig("loss before", prev.Loss, "kWh"), fig("loss", cur.Loss, "kWh")}
		if am := cur.AreaMeter; am != nil {
			f.Reads = keysOf(am.Forward.Start, am.Forward.End)
		}
		out = append(out, f)
	}
	return out
}

// movedStep applies the step rule of a moved meter: on one day area A's
// loss falls and area B's rises against their baselines (the median over
// the History days before) by similar amounts, and the two stay so against
// those same baselines for MovedStepDays days or more. The meter would be archived
// in A and connected in B; the candidate is A's customer whose energy
// over those days best matches the change, within MovedTolerance.
func (a *Analysis) movedStep(cfg *Config, out []Flag) ([]Flag, map[[2]string]bool) {
	type ex struct {
		s    *areaSeries
		base float64
		e    float64
	}
	minE := cfg.MovedMin.Float64()
	flagged := map[[2]string]bool{}
	busy := map[string]int{} // area -> last day of its current flag
	excess := func(s *areaSeries, d int, base float64) (float64, bool) {
		r, ok := s.computable(d)
		if !ok {
			return 0, false
		}
		return r.Loss.Float64() - base, true
	}
	matches := func(ea, eb float64) (float64, bool) {
		if ea >= -minE || eb <= minE {
			return 0, false
		}
		m := math.Abs(ea+eb) / max(-ea, eb)
		return m, m <= cfg.MovedTolerance
	}
	for d := range a.days {
		var falls, rises []ex
		for _, s := range a.areas {
			if last, ok := busy[s.id]; ok && last >= d {
				continue
			}
			base, ok := s.lossBaseline(d, cfg.History, cfg.MinHistory)
			if !ok {
				continue
			}
			e, ok := excess(s, d, base)
			switch {
			case !ok:
			case e < -minE:
				falls = append(falls, ex{s, base, e})
			case e > minE:
				rises = append(rises, ex{s, base, e})
			}
		}
		type pair struct {
			a, b     ex
			mismatch float64
		}
		var pairs []pair
		for _, x := range falls {
			for _, y := range rises {
				if m, ok := matches(x.e, y.e); ok {
					pairs = append(pairs, pair{x, y, m})
				}
			}
		}
		slices.SortStableFunc(pairs, func(p, q pair) int { return cmpFloat(p.mismatch, q.mismatch) })
		for _, p := range pairs {
			if busy[p.a.s.id] >= d && busy[p.a.s.id] > 0 || busy[p.b.s.id] >= d && busy[p.b.s.id] > 0 {
				continue
			}
			// extend against the baselines of the first day
			last := d
			worst := p.mismatch
			for e := d + 1; e < len(a.days) && a.adjacent(e); e++ {
				ea, ok1 := excess(p.a.s, e, p.a.base)
				eb, ok2 := excess(p.b.s, e, p.b.base)
				m, ok := matches(ea, eb)
				if !ok1 || !ok2 || !ok {
					break
				}
				last, worst = e, max(worst, m)
			}
			if last-d+1 < cfg.MovedStepDays {
				continue // a day's coincidence, not a move
			}
			busy[p.a.s.id], busy[p.b.s.id] = last, last
			key := [2]string{p.a.s.id, p.b.s.id}
			flagged[key] = true
			f := a.areaFlag(MovedMeter, p.a.s, d, last)
			f.Other = p.b.s.id
			f.Confidence = clamp01(0.5 + 0.3*(1-worst/cfg.MovedTolerance))
			f.Summary = fmt.Sprintf("from %s the loss of %s fell by %.2f kWh and the loss of %s rose by %.2f kWh, for %d days",
				a.days[d].Start.Format("2006-01-02"), p.a.s.id, -p.a.e, p.b.s.id, p.b.e, last-d+1)
			ra, rb := p.a.s.res[d], p.b.s.res[d]
			f.Figures = []Figure{fig("loss "+p.a.s.id, ra.Loss, "kWh"), figf("change "+p.a.s.id, p.a.e, "kWh"),
				fig("loss "+p.b.s.id, rb.Loss, "kWh"), figf("change "+p.b.s.id, p.b.e, "kWh"), figf("worst mismatch", worst, ""),
				figf("days", float64(last-d+1), "d")}
			for e := d; e <= last; e++ {
				for _, r := range []*loss.Result{p.a.s.res[e], p.b.s.res[e]} {
					if r.AreaMeter != nil {
						f.Reads = append(f.Reads, keysOf(r.AreaMeter.Forward.Start, r.AreaMeter.Forward.End)...)
					}
				}
			}
			// the candidate: A's customer whose energy tracks the change
			var cand *meterSeries
			best := math.Inf(1)
			for _, ms := range p.a.s.customers {
				var diff, sum float64
				ok := true
				for e := d; e <= last && ok; e++ {
					c, has := ms.forward(e)
					ea, _ := excess(p.a.s, e, p.a.base)
					eb, _ := excess(p.b.s, e, p.b.base)
					target := (eb - ea) / 2
					diff += math.Abs(c.Float64() - target)
					sum += target
					ok = has
				}
				if rel := diff / sum; ok && rel <= cfg.MovedTolerance && rel < best {
					cand, best = ms, rel
				}
			}
			if cand != nil {
				f.Meter = cand.addr
				f.Confidence = clamp01(f.Confidence + 0.2)
				c, _ := cand.forward(d)
				f.Summary += fmt.Sprintf("; customer %s of %s registered %s kWh on the first day and tracks the change within %.0f %%",
					cand.addr, p.a.s.id, c, best*100)
				f.Figures = append(f.Figures, fig("candidate energy", c, "kWh"), figf("candidate mismatch", best, ""))
				for e := d; e <= last; e++ {
					mr := cand.days[e]
					f.Reads = append(f.Reads, keysOf(mr.Forward.Start, mr.Forward.End)...)
				}
			}
			out = append(out, f)
		}
	}
	return out, flagged
}

func cmpFloat(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// movedLevel applies the persistent rule: over MovedDays days or more, a
// customer of area A whose energy explains A's loss with slope −1 (within
// MovedSlope, partial correlation at most −MovedCorrelation, controlling
// for A's supply, which drives technical loss) is registered in A and not
// supplied through A's area meter; the area B whose loss it explains with
// slope +1 in the same way is where it is connected. When no area does
// (PV or other faults blur it), the flag names none, with a lower
// confidence.
func (a *Analysis) movedLevel(cfg *Config, skip map[[2]string]bool, out []Flag) []Flag {
	series := func(s *areaSeries, ms *meterSeries) (y, x, z []float64, days []int) {
		for d := range a.days {
			r, ok := s.computable(d)
			if !ok {
				continue
			}
			c, ok := ms.forward(d)
			if !ok {
				continue
			}
			y = append(y, r.Loss.Float64())
			z = append(z, r.Supply.Float64())
			x = append(x, c.Float64())
			days = append(days, d)
		}
		// leave out days where the customer's energy or the area's loss is
		// an outlier (a register jump, another fault): one such day makes
		// any slope
		ox, oy := outliers(x), outliers(y)
		n := 0
		for i := range x {
			if !ox[i] && !oy[i] {
				x[n], y[n], z[n], days[n] = x[i], y[i], z[i], days[i]
				n++
			}
		}
		return y[:n], x[:n], z[:n], days[:n]
	}
	for _, sa := range a.areas {
		for _, ms := range sa.customers {
			y, x, z, days := series(sa, ms)
			if len(days) < cfg.MovedDays {
				continue
			}
			gA, rA, ok := partial(y, x, z)
			if !ok || math.Abs(gA+1) > cfg.MovedSlope || rA > -cfg.MovedCorrelation {
				continue
			}
			var best *areaSeries
			var gB, rB float64
			for _, sb := range a.areas {
				if sb == sa || skip[[2]string{sa.id, sb.id}] {
					continue
				}
				y2, x2, z2, d2 := series(sb, ms)
				if len(d2) < cfg.MovedDays {
					continue
				}
				g, r, ok := partial(y2, x2, z2)
				if ok && math.Abs(g-1) <= cfg.MovedSlope && r >= cfg.MovedCorrelation && (best == nil || r > rB) {
					best, gB, rB = sb, g, r
				}
			}
			f := a.areaFlag(MovedMeter, sa, days[0], days[len(days)-1])
			f.Meter = ms.addr
			f.Figures = []Figure{figf("slope "+sa.id, gA, ""), figf("correlation "+sa.id, rA, "")}
			if best != nil {
				f.Other = best.id
				f.Confidence = clamp01(min(-rA, rB))
				f.Summary = fmt.Sprintf("customer %s's energy moves the loss of %s by %.2f and of %s by %.2f kWh per kWh over %d days: archived in %s, connected in %s",
					ms.addr, sa.id, gA, best.id, gB, len(days), sa.id, best.id)
				f.Figures = append(f.Figures, figf("slope "+best.id, gB, ""), figf("correlation "+best.id, rB, ""))
			} else {
				// its energy is missing from A's supply, and no other area
				// shows it clearly (PV, other faults): name no area
				f.Confidence = clamp01(0.7 * -rA)
				f.Summary = fmt.Sprintf("customer %s's energy lowers the loss of %s by %.2f kWh per kWh over %d days: its energy does not pass %s's area meter; it seems connected to another area",
					ms.addr, sa.id, gA, len(days), sa.id)
			}
			f.Figures = append(f.Figures, figf("mean energy", mean(x), "kWh"), figf("days", float64(len(days)), "d"))
			for _, d := range days {
				mr := ms.days[d]
				f.Reads = append(f.Reads, keysOf(mr.Forward.Start, mr.Forward.End)...)
			}
			out = append(out, f)
		}
	}
	return out
}

// outliers marks the values of v more than 5 median absolute deviations
// from its median.
func outliers(v []float64) []bool {
	w := slices.Clone(v)
	m := median(w)
	for i := range v {
		w[i] = math.Abs(v[i] - m)
	}
	mad := median(w)
	out := make([]bool, len(v))
	for i := range v {
		out[i] = mad > 0 && math.Abs(v[i]-m) > 5*mad
	}
	return out
}
