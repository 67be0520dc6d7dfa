package anomaly

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Ranking ranks an area's customers by how well a drop in their registered
// consumption explains a rise of the area's loss within a window of days.
//
// The window's onset is the day its loss rate most likely stepped up (the
// window's first day if it never does). The baseline is the area's
// computable days before the onset, up to Config.History days before the
// window: the area's excess on a day is its loss minus the baseline's
// median loss rate times the day's supply (so that load, which drives
// technical loss, is no excess). A customer's expected energy on a day is its share
// of the other customers' energy that day, the share being its median
// over the baseline (so weekdays, weather and season, which move every
// customer, are no deficit); its deficit is expected minus registered
// energy. With D and X the mean deficit and excess from the onset on, its
// score is
//
//	score = max(r, 0) × fit
//	r     = correlation over the window of the customer's deficit and the
//	        area's excess, each a centred moving average over
//	        Config.TheftSmooth days
//	fit   = min(D, X) / max(D, X)   (0 unless both > 0)
//
// so a customer scores 1 when its deficit moves with the excess and
// accounts for all of it. The score is 0 (Gate says why) when the area is
// not lossy (X not above Config.TheftMinExcess, or not above
// Config.TheftSigma standard errors of the baseline's excess), or D is not
// above Config.TheftMinDeficit percent of the customer's expected energy
// or not above Config.TheftSigma standard errors of its own deficit over
// the baseline.
type Ranking struct {
	Area         string
	WindowStart  time.Time // first day of the window
	WindowEnd    time.Time // last day
	Onset        time.Time // the day the loss stepped up
	Days         int       // computable days in the window
	BaselineDays int       // computable days of the baseline
	BaselineRate float64   // median loss rate over the baseline, %
	Excess       float64   // X: mean excess from the onset on, kWh a day
	Noise        float64   // standard deviation of the excess over the baseline, kWh
	// Lossy: X above Config.TheftMinExcess and above Config.TheftSigma
	// standard errors of the baseline's excess (Noise / √test days).
	Lossy bool
	// Candidates have Raw > 0, by score then Raw, best first; at most
	// Config.TheftTop.
	Candidates     []Candidate
	CustomersRated int
}

// Candidate is one customer's figures in a [Ranking].
type Candidate struct {
	Meter       string
	Score       float64 // Raw, or 0 when gated
	Raw         float64 // max(Correlation, 0) × Fit
	Correlation float64
	Fit         float64
	Deficit     float64 // D: mean deficit from the onset on, kWh a day
	DeficitPct  float64 // of the expected energy
	Expected    float64 // mean expected energy from the onset on, kWh a day
	Share       float64 // of the other customers' energy over the baseline
	Noise       float64 // standard deviation of its deficit over the baseline, kWh
	Gate        string  // why the score is 0, if it is
	days        []int
}

// RankTheft ranks area's customers over the window ending on the day
// starting at end; false when the area or day is unknown or the window
// has fewer than Config.TheftMinWindow computable days.
func (a *Analysis) RankTheft(area string, end time.Time, cfg Config) (Ranking, bool) {
	cfg = cfg.withDefaults()
	s, ok := a.byArea[area]
	t, ok2 := a.day(end)
	if !ok || !ok2 {
		return Ranking{}, false
	}
	return a.rank(s, t, &cfg, &rankBuf{})
}

type rankBuf struct {
	loss, x, y, v, sx, sy []float64
	days, aligned         []int
}

func (a *Analysis) rank(s *areaSeries, t int, cfg *Config, buf *rankBuf) (Ranking, bool) {
	from := max(0, t-cfg.TheftWindow+1)
	rk := Ranking{Area: s.id, WindowStart: a.days[from].Start, WindowEnd: a.days[t].Start}
	days, lx := buf.days[:0], buf.loss[:0]
	v := buf.v[:0]
	for d := from; d <= t; d++ {
		if r, ok := s.computable(d); ok && !a.upset[s.id][d] {
			l := s.lossUnexplained(a, d)
			days = append(days, d)
			lx = append(lx, l)
			v = append(v, l/r.Supply.Float64())
		}
	}
	buf.days, buf.loss = days, lx
	rk.Days = len(days)
	if rk.Days < cfg.TheftMinWindow {
		buf.v = v
		return rk, false
	}
	k := max(stepUp(clip(v), 1, 3), 0)
	onset := days[k]
	rk.Onset = a.days[onset].Start
	var base []int
	for d := max(0, from-cfg.History); d < onset; d++ {
		if _, ok := s.computable(d); ok && !a.upset[s.id][d] {
			base = append(base, d)
		}
	}
	rk.BaselineDays = len(base)
	if len(base) < cfg.TheftMinBaseline {
		return rk, false
	}
	v = v[:0]
	for _, d := range base {
		v = append(v, s.lossUnexplained(a, d)/s.res[d].Supply.Float64())
	}
	rk.BaselineRate = median(v) * 100
	// the excess: loss beyond the baseline rate of the day's supply
	for i, d := range days {
		lx[i] -= rk.BaselineRate / 100 * s.res[d].Supply.Float64()
	}
	rk.Excess = mean(lx[k:])
	v = v[:0]
	for _, d := range base {
		r := s.res[d]
		v = append(v, s.lossUnexplained(a, d)-rk.BaselineRate/100*r.Supply.Float64())
	}
	nPostArea := float64(len(lx) - k)
	rk.Noise = sd(v)
	rk.Lossy = rk.Excess > cfg.TheftMinExcess.Float64() && rk.Excess > cfg.TheftSigma*rk.Noise/math.Sqrt(nPostArea)
	for _, ms := range s.customers {
		if e, ok := a.explained[ms.addr]; ok && e.from <= t {
			continue // another flag explains its drop
		}
		v = v[:0]
		for _, d := range base {
			if c, others, ok := s.share(ms, d); ok && others > 0 {
				v = append(v, c/others)
			}
		}
		if len(v) < cfg.TheftMinBaseline {
			continue
		}
		c := Candidate{Meter: ms.addr, Share: median(v)}
		v = v[:0]
		for _, d := range base {
			if en, others, ok := s.share(ms, d); ok {
				v = append(v, c.Share*others-en)
			}
		}
		c.Noise = sd(v)
		x, y, al := buf.x[:0], buf.y[:0], buf.aligned[:0]
		var yPost, expPost float64
		var nPost int
		for i, d := range days {
			en, others, ok := s.share(ms, d)
			if !ok {
				continue
			}
			exp := c.Share * others
			x, y, al = append(x, lx[i]), append(y, exp-en), append(al, d)
			if d >= onset {
				yPost += exp - en
				expPost += exp
				nPost++
			}
		}
		buf.x, buf.y, buf.aligned = x, y, al
		if len(al) < cfg.TheftMinWindow || nPost == 0 {
			continue
		}
		rk.CustomersRated++
		c.Deficit = yPost / float64(nPost)
		c.Expected = expPost / float64(nPost)
		buf.sx, buf.sy = smooth(buf.sx[:0], x, cfg.TheftSmooth), smooth(buf.sy[:0], y, cfg.TheftSmooth)
		c.Correlation = pearson(buf.sy, buf.sx)
		if c.Deficit > 0 && rk.Excess > 0 {
			c.Fit = min(c.Deficit, rk.Excess) / max(c.Deficit, rk.Excess)
		}
		if c.Expected > 0 {
			c.DeficitPct = c.Deficit / c.Expected * 100
		}
		switch {
		case !rk.Lossy:
			c.Gate = fmt.Sprintf("area not lossy: excess %.2f kWh a day", rk.Excess)
		case c.Expected <= 0 || c.DeficitPct <= cfg.TheftMinDeficit:
			c.Gate = fmt.Sprintf("deficit %.1f %% of expected", c.DeficitPct)
		case c.Deficit <= cfg.TheftSigma*c.Noise/math.Sqrt(float64(nPost)):
			c.Gate = fmt.Sprintf("deficit %.2f kWh within its own noise (%.2f kWh a day)", c.Deficit, c.Noise)
		}
		c.Raw = max(c.Correlation, 0) * c.Fit
		if c.Gate == "" {
			c.Score = c.Raw
		}
		if c.Raw <= 0 {
			continue
		}
		if c.Score >= cfg.TheftScore {
			c.days = slices.Clone(al) // for the flag's reads
		}
		rk.Candidates = append(rk.Candidates, c)
	}
	buf.v = v
	slices.SortFunc(rk.Candidates, func(p, q Candidate) int {
		return cmp.Or(cmp.Compare(q.Score, p.Score), cmp.Compare(q.Raw, p.Raw), strings.Compare(p.Meter, q.Meter))
	})
	if len(rk.Candidates) > cfg.TheftTop {
		rk.Candidates = rk.Candidates[:cfg.TheftTop]
	}
	return rk, true
}

// clip limits the values of v to median ± 4 × the median absolute
// deviation, so that a one-day spike (a register jump) does not make a
// step.
func clip(v []float64) []float64 {
	w := slices.Clone(v)
	m := median(w)
	for i := range w {
		w[i] = math.Abs(v[i] - m)
	}
	mad := median(w)
	if mad == 0 {
		return v
	}
	for i := range v {
		v[i] = min(max(v[i], m-4*mad), m+4*mad)
	}
	return v
}

// stepUp returns the index where x most likely steps up, with at least
// minPre values before and minPost from it: the split maximising
// (mean after − mean before) × √(n_before × n_after / n), the
// likelihood-ratio estimate of a single change of mean; −1 if x never
// rises.
func stepUp(x []float64, minPre, minPost int) int {
	var total float64
	for _, v := range x {
		total += v
	}
	n := float64(len(x))
	best, at := 0.0, -1
	var pre float64
	for s := 1; s < len(x); s++ {
		pre += x[s-1]
		if s < minPre || len(x)-s < minPost {
			continue
		}
		nb, na := float64(s), n-float64(s)
		if c := ((total-pre)/na - pre/nb) * math.Sqrt(nb*na/n); c > best {
			best, at = c, s
		}
	}
	return at
}

// theft ranks each area's customers over every window and flags each
// customer at its best window scoring TheftScore or more; it returns the
// ranking of the last window too.
func (a *Analysis) theft(s *areaSeries, cfg *Config, buf *rankBuf, out []Flag) ([]Flag, *Ranking) {
	type best struct {
		c  Candidate
		rk *Ranking
	}
	top := map[string]best{}
	var last *Ranking
	for t := range a.days {
		rk, ok := a.rank(s, t, cfg, buf)
		if !ok {
			continue
		}
		last = &rk
		for _, c := range rk.Candidates {
			if c.Score >= cfg.TheftScore && c.Score > top[c.Meter].c.Score {
				top[c.Meter] = best{c, last}
			}
		}
	}
	var meters []string
	for m := range top {
		meters = append(meters, m)
	}
	slices.Sort(meters)
	for _, m := range meters {
		b := top[m]
		c, rk := b.c, b.rk
		f := Flag{Kind: Theft, Meter: m, Area: s.id, Start: rk.Onset, End: rk.WindowEnd, Confidence: clamp01(c.Score)}
		f.Summary = fmt.Sprintf("from %s registers %.2f kWh a day (%.0f %%) less than expected while the area's loss is %.2f kWh a day above its baseline (r %.2f, fit %.2f)",
			rk.Onset.Format(time.DateOnly), c.Deficit, c.DeficitPct, rk.Excess, c.Correlation, c.Fit)
		f.Figures = []Figure{figf("score", c.Score, ""), figf("correlation", c.Correlation, ""), figf("fit", c.Fit, ""),
			figf("deficit", c.Deficit, "kWh"), figf("deficit share", c.DeficitPct, "%"), figf("expected", c.Expected, "kWh"),
			figf("area excess", rk.Excess, "kWh"), figf("baseline days", float64(rk.BaselineDays), "d"),
			figf("window days", float64(rk.Days), "d")}
		ms := a.meters[m]
		for _, d := range c.days {
			mr := ms.days[d]
			f.Reads = append(f.Reads, keysOf(mr.Forward.Start, mr.Forward.End)...)
		}
		out = append(out, f)
	}
	return out, last
}

// lossUnexplained is the area's loss on day d less the energy its
// explained customers failed to register.
func (s *areaSeries) lossUnexplained(a *Analysis, d int) float64 {
	l := s.res[d].Loss.Float64()
	for _, ms := range s.customers {
		l -= s.unregistered(a, ms, d)
	}
	return l
}

// share returns a customer's forward energy on day d and that of the
// area's other customers.
func (s *areaSeries) share(ms *meterSeries, d int) (c, others float64, ok bool) {
	r := s.res[d]
	e, ok := ms.forward(d)
	if r == nil || !ok {
		return 0, 0, false
	}
	c = e.Float64()
	return c, r.CustomerForward.Float64() - c, true
}

// smooth appends to dst the centred moving average of v over k values
// (fewer at the ends).
func smooth(dst, v []float64, k int) []float64 {
	h := k / 2
	for i := range v {
		lo, hi := max(0, i-h), min(len(v), i+h+1)
		var s float64
		for _, x := range v[lo:hi] {
			s += x
		}
		dst = append(dst, s/float64(hi-lo))
	}
	return dst
}
