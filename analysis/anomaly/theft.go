package anomaly

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// theftMinPost is the fewest days from an onset a mean is taken over.
const theftMinPost = 3

// Ranking ranks an area's customers by how well a drop in their registered
// consumption explains a rise of the area's loss within a window of days.
//
// A day counts when the area's balance is computable and no register of
// the area jumped or went back that day. The history is the counting days
// up to Config.History before the window.
//
// A customer's share on a day is its registered energy over the other
// customers' (so weekdays, weather and season, which move every customer,
// are no drop). Its onset is the day in the window from which its share
// most likely stepped down (the likelihood-ratio split of [stepUp]), with
// at least Config.TheftMinBaseline of its days before it (its baseline)
// and 3 from it. Its expected energy on a day is the baseline's median
// share times the other customers' energy that day; its deficit is
// expected minus registered energy; D is the mean deficit from the onset
// on, σ the spread of the deficit over the baseline (robust to a few
// outlying days, at least 1 % of the expected energy), and
//
//	z = D / (σ × √(1/n_before + 1/n_after))
//
// says how clearly it dropped against its own history.
//
// The area's expected loss on a day is a + b × supply², the no-load and
// load losses of its transformer and lines, fitted over the area's
// counting days before the customer's onset by the median of pairwise
// slopes (Theil–Sen, robust to a few outlying days); the baseline's median
// loss rate × supply when b is not above 0. The excess is the loss (less
// what explained customers failed to register) minus the expected loss;
// X is its mean from the onset on, and SE the standard error of X from the
// spread of the excess over the baseline. A theft of D shows in the loss
// as X ≈ D, a drop that is no theft as X ≈ 0; with even odds
//
//	Agreement = 1 / (1 + exp(−D × (2X − D) / (2 SE²)))
//
// is how likely the loss makes the drop a theft: near 1 when the loss
// rose by D, near 0 when it clearly did not, ½ when the loss is too noisy
// to tell. The score is
//
//	score = (1 − (Config.TheftSigma / z)²) × Agreement   (0 unless z > Config.TheftSigma)
//
// so a clear own drop ranks high even in a noisy area, and only a drop the
// loss confirms reaches Config.TheftScore. The score is 0 (Gate says why)
// when D is not above Config.TheftMinDeficit percent of the expected
// energy, or X falls short of D/2 by more than Config.TheftSigma standard
// errors (the loss does not show the drop). Correlation (of the deficit
// and the excess over the window, each a centred moving average over
// Config.TheftSmooth days) and Fit (min(D, X) / max(D, X), the share of
// the excess the customer accounts for) are shown alongside, not scored:
// in a noisy area they say little, and a second loss in the area lowers
// Fit without making the drop less clear.
//
// Candidates are judged best first: once one scores Config.TheftScore or
// more, those after it are judged against the loss less its deficit from
// its onset on, so that a rise one theft accounts for is no evidence
// against another customer.
//
// The ranking's own Onset, Excess and Noise are the area's: the day in the
// window its excess (against a + b × supply² fitted over all its days)
// most likely stepped up, and the excess from then on against the
// baseline before it.
type Ranking struct {
	Area         string
	WindowStart  time.Time // first day of the window
	WindowEnd    time.Time // last day
	Onset        time.Time // the day the area's loss most likely stepped up
	Days         int       // counting days in the window
	BaselineDays int       // counting days before Onset, the history's included
	BaselineRate float64   // median loss rate over them, %
	Excess       float64   // mean excess from Onset on, kWh a day
	Noise        float64   // spread of the excess over the baseline, kWh
	// Lossy: Excess above Config.TheftMinExcess and above
	// Config.TheftSigma standard errors. Shown, not a gate: a small
	// theft in a noisy area need not make the area lossy by itself.
	Lossy bool
	// Candidates have Raw > 0, by score then Raw, best first; at most
	// Config.TheftTop.
	Candidates     []Candidate
	CustomersRated int
}

// Candidate is one customer's figures in a [Ranking].
type Candidate struct {
	Meter        string
	Score        float64   // Raw, or 0 when gated
	Raw          float64   // (1 − (TheftSigma / Z)²) × Agreement; 0 unless Z > TheftSigma
	Onset        time.Time // the day its share most likely stepped down
	Z            float64   // D over its standard error
	Agreement    float64   // how likely the area's excess from Onset makes the drop a theft
	Correlation  float64
	Fit          float64
	Deficit      float64 // D: mean deficit from Onset on, kWh a day
	DeficitPct   float64 // of the expected energy
	Expected     float64 // mean expected energy from Onset on, kWh a day
	Share        float64 // of the other customers' energy over the baseline
	Noise        float64 // σ: spread of its deficit over the baseline, kWh
	BaselineDays int     // its counting days before Onset
	Days         int     // its counting days from Onset on
	AreaExcess   float64 // X: the area's mean excess from Onset on, kWh a day
	AreaError    float64 // SE: the standard error of X, kWh a day
	Gate         string  // why the score is 0, if it is

	onset, windowFrom int       // indices of Onset and the window's first day into the window's counting days
	deficit           []float64 // on each counting day, NaN when not its
	days              []int     // for a flag's reads
}

// RankTheft ranks area's customers over the window ending on the day
// starting at end as [Analysis.Detect] does, leaving out the days a
// register of the area jumped or went back and the customers of
// Input.Explained; false when the area or day is unknown, or the window
// has fewer than Config.TheftMinWindow counting days or too few before
// them.
func (a *Analysis) RankTheft(area string, end time.Time, cfg Config) (Ranking, bool) {
	cfg = cfg.withDefaults()
	s, ok := a.byArea[area]
	t, ok2 := a.day(end)
	if !ok || !ok2 {
		return Ranking{}, false
	}
	if a.upset == nil {
		var fs []Flag
		for _, ms := range append([]*meterSeries{s.meter}, s.customers...) {
			if ms != nil {
				fs = a.registerJump(ms, &cfg, a.registerBack(ms, &cfg, fs))
			}
		}
		b := *a
		b.upset = a.upsets(fs)
		a = &b
	}
	buf := &rankBuf{}
	a.areaDays(s, buf)
	return a.rank(s, t, &cfg, buf)
}

// rank ranks s's customers over the window ending on day t, from the
// figures a.areaDays put in buf.
func (a *Analysis) rank(s *areaSeries, t int, cfg *Config, buf *rankBuf) (Ranking, bool) {
	from := max(0, t-cfg.TheftWindow+1)
	rk := Ranking{Area: s.id, WindowStart: a.days[from].Start, WindowEnd: a.days[t].Start}
	days, hist := buf.days[:0], 0
	for d := max(0, from-cfg.History); d <= t; d++ {
		if buf.use[d] {
			days = append(days, d)
			if d < from {
				hist++
			}
		}
	}
	buf.days = days
	rk.Days = len(days) - hist
	first := max(hist, cfg.TheftMinBaseline)
	if rk.Days < cfg.TheftMinWindow || len(days)-first < theftMinPost {
		return rk, false
	}
	buf.window()
	k := stepUp(clip(buf.residuals(), &buf.tmp), first, theftMinPost)
	if k < 0 {
		k = first
	}
	st := buf.step(k)
	rk.Onset = a.days[days[k]].Start
	rk.BaselineDays, rk.BaselineRate, rk.Excess, rk.Noise = k, st.rate*100, st.x, st.sd
	rk.Lossy = st.x > cfg.TheftMinExcess.Float64() && st.x > cfg.TheftSigma*st.se
	for i, ms := range s.customers {
		if e, ok := a.explained[ms.addr]; ok && e.from <= t {
			continue // another flag explains its drop
		}
		c, ok := a.candidate(ms, buf.en[i], buf.others[i], from, cfg, buf)
		if !ok {
			continue
		}
		rk.CustomersRated++
		if c.Raw > 0 {
			rk.Candidates = append(rk.Candidates, c)
		}
	}
	order := func(p, q Candidate) int {
		return cmp.Or(cmp.Compare(q.Score, p.Score), cmp.Compare(q.Raw, p.Raw), strings.Compare(p.Meter, q.Meter))
	}
	slices.SortFunc(rk.Candidates, order)
	buf.explainAway(rk.Candidates, cfg)
	rk.Candidates = slices.DeleteFunc(rk.Candidates, func(c Candidate) bool { return c.Raw <= 0 })
	slices.SortStableFunc(rk.Candidates, order)
	if len(rk.Candidates) > cfg.TheftTop {
		rk.Candidates = rk.Candidates[:cfg.TheftTop]
	}
	for i := range rk.Candidates {
		c := &rk.Candidates[i]
		if c.Score >= cfg.TheftScore {
			for k := c.windowFrom; k < len(c.deficit); k++ {
				if !math.IsNaN(c.deficit[k]) {
					c.days = append(c.days, days[k])
				}
			}
		}
		c.deficit = nil
	}
	return rk, true
}

// theft ranks each area's customers over every window and flags each
// customer at its best window scoring TheftScore or more with a drop of
// TheftDays days or more; it returns the ranking of the last window too.
func (a *Analysis) theft(s *areaSeries, cfg *Config, buf *rankBuf, out []Flag) ([]Flag, *Ranking) {
	type best struct {
		c  Candidate
		rk *Ranking
	}
	top := map[string]best{}
	var last *Ranking
	a.areaDays(s, buf)
	for t := range a.days {
		rk, ok := a.rank(s, t, cfg, buf)
		if !ok {
			continue
		}
		last = &rk
		for _, c := range rk.Candidates {
			if c.Score >= cfg.TheftScore && c.Days >= cfg.TheftDays && c.Score > top[c.Meter].c.Score {
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
		f := Flag{Kind: Theft, Meter: m, Area: s.id, Start: c.Onset, End: rk.WindowEnd, Confidence: clamp01(c.Score)}
		f.Summary = fmt.Sprintf("from %s registers %.2f kWh a day (%.0f %%) less than its share of the other customers' energy, %.1f standard errors off its own history, while the area's loss is %.2f ± %.2f kWh a day above what its load explains (agreement %.2f)",
			c.Onset.Format(time.DateOnly), c.Deficit, c.DeficitPct, c.Z, c.AreaExcess, c.AreaError, c.Agreement)
		f.Figures = []Figure{figf("score", c.Score, ""), figf("z", c.Z, ""), figf("agreement", c.Agreement, ""),
			figf("deficit", c.Deficit, "kWh"), figf("deficit share", c.DeficitPct, "%"), figf("expected", c.Expected, "kWh"),
			figf("deficit noise", c.Noise, "kWh"), figf("area excess", c.AreaExcess, "kWh"), figf("area excess error", c.AreaError, "kWh"),
			figf("correlation", c.Correlation, ""), figf("fit", c.Fit, ""),
			figf("baseline days", float64(c.BaselineDays), "d"), figf("drop days", float64(c.Days), "d")}
		ms := a.meters[m]
		for _, d := range c.days {
			mr := ms.days[d]
			f.Reads = append(f.Reads, keysOf(mr.Forward.Start, mr.Forward.End)...)
		}
		out = append(out, f)
	}
	return out, last
}
