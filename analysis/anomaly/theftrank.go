package anomaly

import (
	"fmt"
	"math"
)

// rankBuf holds an area's daily figures and working space for its
// rankings (see [Ranking]).
type rankBuf struct {
	// per day: use (computable, no register upset), the loss less the
	// explained customers' unregistered energy, the supply; per customer
	// per day its energy and the other customers' (NaN when not usable)
	use          []bool
	loss, supply []float64
	en, others   [][]float64

	// the window's counting days, the history's first, with their loss
	// and supply
	days     []int
	wl, ws   []float64
	areaAt   []areaStep // the area's excess per split of days, once computed
	ex       []float64  // the excesses of areaAt
	adjusted []float64  // the loss less the deficits of confirmed candidates

	cd                          []int
	q, w, x, y, sx, sy, s2, tmp []float64
}

// areaStep is the area's excess from a split of the counting days on.
type areaStep struct {
	ok        bool
	rate      float64   // the baseline's median loss rate
	x, sd, se float64   // mean excess from the split, spread before it, standard error of the mean
	ex        []float64 // the excess on each day
}

// areaDays fills buf with s's daily figures.
func (a *Analysis) areaDays(s *areaSeries, buf *rankBuf) {
	n := len(a.days)
	buf.use, buf.loss, buf.supply = growTo(buf.use, n), growTo(buf.loss, n), growTo(buf.supply, n)
	for d := range n {
		r, ok := s.computable(d)
		buf.use[d] = ok && !a.upset[s.id][d] && r.Supply.Float64() > 0
		if buf.use[d] {
			buf.loss[d], buf.supply[d] = s.lossUnexplained(a, d), r.Supply.Float64()
		}
	}
	for len(buf.en) < len(s.customers) {
		buf.en, buf.others = append(buf.en, nil), append(buf.others, nil)
	}
	for i, ms := range s.customers {
		en, oth := growTo(buf.en[i], n), growTo(buf.others[i], n)
		for d := range n {
			en[d], oth[d] = math.NaN(), math.NaN()
			if c, o, ok := s.share(ms, d); ok && buf.use[d] {
				en[d], oth[d] = c, o
			}
		}
		buf.en[i], buf.others[i] = en, oth
	}
}

func growTo[T any](v []T, n int) []T {
	if cap(v) < n {
		return make([]T, n)
	}
	return v[:n]
}

// window takes the loss and supply of buf.days and forgets the excesses
// of the last window.
func (buf *rankBuf) window() {
	buf.wl, buf.ws = buf.wl[:0], buf.ws[:0]
	for _, d := range buf.days {
		buf.wl, buf.ws = append(buf.wl, buf.loss[d]), append(buf.ws, buf.supply[d])
	}
	buf.areaAt = growTo(buf.areaAt, len(buf.days))
	clear(buf.areaAt)
	buf.ex = buf.ex[:0]
}

// fit fits the area's expected loss over the first k days of the
// window: a + b × supply², or rate × supply (b = 0) when b is not above
// 0; rate is the median loss rate.
func (buf *rankBuf) fit(loss []float64, k int) (a, b, rate float64) {
	x := buf.s2[:0]
	for _, s := range buf.ws[:k] {
		x = append(x, s*s)
	}
	buf.s2 = x
	a, b, ok := theilSen(x, loss[:k], &buf.tmp)
	v := buf.tmp[:0]
	for i, l := range loss[:k] {
		v = append(v, l/buf.ws[i])
	}
	buf.tmp = v
	rate = median(v)
	if !ok || b <= 0 {
		return 0, 0, rate
	}
	return a, b, rate
}

// excess appends to dst the loss of each day of the window beyond the
// expected a + b × supply² (rate × supply when b is 0).
func (buf *rankBuf) excess(dst, loss []float64, a, b, rate float64) []float64 {
	for i, l := range loss {
		s := buf.ws[i]
		if b == 0 {
			dst = append(dst, l-rate*s)
		} else {
			dst = append(dst, l-a-b*s*s)
		}
	}
	return dst
}

// residuals returns the excess on each day of the window against a fit
// over all of them, where the area's own step is looked for.
func (buf *rankBuf) residuals() []float64 {
	a, b, rate := buf.fit(buf.wl, len(buf.wl))
	buf.w = buf.excess(buf.w[:0], buf.wl, a, b, rate)
	return buf.w
}

// step returns the area's excess from split k of the window on, computed
// once per window.
func (buf *rankBuf) step(k int) *areaStep {
	st := &buf.areaAt[k]
	if !st.ok {
		buf.stepOf(st, buf.wl, k)
	}
	return st
}

// stepOf sets st to the excess of loss from split k on.
func (buf *rankBuf) stepOf(st *areaStep, loss []float64, k int) {
	a, b, rate := buf.fit(loss, k)
	at := len(buf.ex)
	buf.ex = buf.excess(buf.ex, loss, a, b, rate)
	ex := buf.ex[at:]
	*st = areaStep{ok: true, rate: rate, ex: ex, x: mean(ex[k:]), sd: spread(ex[:k], &buf.tmp)}
	st.se = st.sd * math.Sqrt(1/float64(k)+1/float64(len(loss)-k))
}

// candidate rates one customer over the window from day from to the last
// of buf.days; false when it has too few days there.
func (a *Analysis) candidate(ms *meterSeries, en, others []float64, from int, cfg *Config, buf *rankBuf) (Candidate, bool) {
	c := Candidate{Meter: ms.addr}
	// its days, as indices into buf.days, and its shares
	cd, q := buf.cd[:0], buf.q[:0]
	hist := 0
	for i, d := range buf.days {
		if o := others[d]; !math.IsNaN(en[d]) && o > 0 {
			cd, q = append(cd, i), append(q, en[d]/o)
			if d < from {
				hist++
			}
		}
	}
	buf.cd, buf.q = cd, q
	n := len(cd)
	first := max(hist, cfg.TheftMinBaseline)
	if n-hist < cfg.TheftMinWindow || n-first < theftMinPost {
		return c, false
	}
	// its own step down
	w := buf.w[:0]
	for _, x := range q {
		w = append(w, -x)
	}
	buf.w = w
	j := stepUp(clip(w, &buf.tmp), first, theftMinPost)
	if j < 0 {
		return c, true // it never drops
	}
	c.onset = cd[j]
	c.Onset, c.BaselineDays, c.Days = a.days[buf.days[c.onset]].Start, j, n-j
	buf.tmp = append(buf.tmp[:0], q[:j]...)
	c.Share = median(buf.tmp)
	y := buf.y[:0]
	var exp float64
	for k, i := range cd {
		d := buf.days[i]
		y = append(y, c.Share*others[d]-en[d])
		if k >= j {
			exp += c.Share * others[d]
		}
	}
	buf.y = y
	c.Deficit, c.Expected = mean(y[j:]), exp/float64(c.Days)
	c.Noise = max(spread(y[:j], &buf.tmp), 0.01*c.Expected, 0.01)
	c.Z = c.Deficit / (c.Noise * math.Sqrt(1/float64(j)+1/float64(c.Days)))
	if c.Expected > 0 {
		c.DeficitPct = c.Deficit / c.Expected * 100
	}
	if c.Z <= cfg.TheftSigma {
		return c, true // Raw 0: not listed
	}
	// its deficit on each day of the window, for the area's figures
	c.deficit = make([]float64, len(buf.days))
	for i := range c.deficit {
		c.deficit[i] = math.NaN()
	}
	for k, i := range cd {
		c.deficit[i] = y[k]
	}
	c.windowFrom = cd[hist]
	buf.judge(&c, buf.step(c.onset), cfg)
	return c, true
}

// judge sets c's area figures, raw score, score and gate from the area's
// excess st from c's onset on.
func (buf *rankBuf) judge(c *Candidate, st *areaStep, cfg *Config) {
	c.AreaExcess, c.AreaError = st.x, max(st.se, 0.01)
	c.Agreement = 1 / (1 + math.Exp(-c.Deficit*(2*c.AreaExcess-c.Deficit)/(2*c.AreaError*c.AreaError)))
	c.Fit = 0
	if c.Deficit > 0 && c.AreaExcess > 0 {
		c.Fit = min(c.Deficit, c.AreaExcess) / max(c.Deficit, c.AreaExcess)
	}
	// the correlation over the window
	x, y := buf.x[:0], buf.y[:0]
	for i := c.windowFrom; i < len(c.deficit); i++ {
		if v := c.deficit[i]; !math.IsNaN(v) {
			x, y = append(x, st.ex[i]), append(y, v)
		}
	}
	buf.x, buf.y = x, y
	buf.sx, buf.sy = smooth(buf.sx[:0], x, cfg.TheftSmooth), smooth(buf.sy[:0], y, cfg.TheftSmooth)
	c.Correlation = pearson(buf.sy, buf.sx)
	r := cfg.TheftSigma / c.Z
	c.Raw = (1 - r*r) * c.Agreement
	c.Score, c.Gate = 0, ""
	switch {
	case c.Expected <= 0 || c.DeficitPct <= cfg.TheftMinDeficit:
		c.Gate = fmt.Sprintf("deficit %.1f %% of expected", c.DeficitPct)
	case c.AreaExcess < c.Deficit/2-cfg.TheftSigma*c.AreaError:
		c.Gate = fmt.Sprintf("the area's loss does not show it: excess %.2f ± %.2f kWh a day for a deficit of %.2f", c.AreaExcess, c.AreaError, c.Deficit)
	default:
		c.Score = c.Raw
	}
}

// explainAway judges each candidate, best first, against the area's loss
// less the deficits (from their onsets on) of the candidates before it
// that score TheftScore or more: a rise of the loss one theft accounts
// for is no evidence against another customer.
func (buf *rankBuf) explainAway(cs []Candidate, cfg *Config) {
	adj := append(buf.adjusted[:0], buf.wl...)
	buf.adjusted = adj
	confirmed := false
	for i := range cs {
		c := &cs[i]
		if confirmed {
			var st areaStep
			buf.stepOf(&st, adj, c.onset)
			buf.judge(c, &st, cfg)
		}
		if c.Score >= cfg.TheftScore {
			confirmed = true
			for k := c.onset; k < len(adj); k++ {
				if v := c.deficit[k]; !math.IsNaN(v) {
					adj[k] -= v
				}
			}
		}
	}
}

// clip limits the values of v to median ± 4 × the median absolute
// deviation, so that a one-day spike (a register jump) does not make a
// step; scratch is working space.
func clip(v []float64, scratch *[]float64) []float64 {
	w := append((*scratch)[:0], v...)
	*scratch = w
	m := median(w)
	for i := range v {
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
