package anomaly

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/meter"
)

// phaseOf parses "phase A voltage" (what = "voltage") into phase 0..2.
func phaseOf(quantity, what string) (int, bool) {
	if len(quantity) != len("phase A ")+len(what) || !strings.HasPrefix(quantity, "phase ") || !strings.HasSuffix(quantity, " "+what) {
		return 0, false
	}
	p := int(quantity[6] - 'A')
	return p, p >= 0 && p < 3
}

// nominal is a meter's nominal phase voltage and its phases: from its
// rating when given, else those of Input.Phases (its history), the phases
// seen above the phase-loss level and those carrying current above
// Config.StoppedCurrent (a lost phase still carries its load's current, so
// a phase lost for longer than the reads go back still counts as one).
func (a *Analysis) nominal(ms *meterSeries, cfg *Config) (float64, [3]bool) {
	r, given := a.rating(ms, cfg)
	var ph [3]bool
	if given {
		for p := 0; p < min(r.Phases, 3); p++ {
			ph[p] = true
		}
		return r.Voltage, ph
	}
	for p := 0; p < min(a.phases[ms.addr], 3); p++ {
		ph[p] = true
	}
	for _, x := range a.instant[ms.addr] {
		if p, ok := phaseOf(x.Key.Quantity, "voltage"); ok && x.Value.Float64() >= cfg.PhaseLoss*r.Voltage {
			ph[p] = true
		}
		if p, ok := phaseOf(x.Key.Quantity, "current"); ok && math.Abs(x.Value.Float64()) > cfg.StoppedCurrent {
			ph[p] = true
		}
	}
	return r.Voltage, ph
}

// clock flags clock errors beyond tolerance.
func (a *Analysis) clock(ms *meterSeries, cfg *Config, out []Flag) []Flag {
	tol, lim := cfg.ClockTolerance.Seconds(), cfg.ClockLimit.Seconds()
	type day struct {
		worst *loss.Reading
		reads []meter.Key
	}
	days := map[int]*day{}
	for i, x := range a.instant[ms.addr] {
		if x.Key.Quantity != QuantityClockError || math.Abs(x.Value.Float64()) <= tol {
			continue
		}
		d, ok := a.dayOf(x.Key.Time)
		if !ok {
			continue
		}
		dd := days[d]
		if dd == nil {
			dd = &day{}
			days[d] = dd
		}
		dd.reads = append(dd.reads, x.Key)
		if dd.worst == nil || math.Abs(x.Value.Float64()) > math.Abs(dd.worst.Value.Float64()) {
			dd.worst = &a.instant[ms.addr][i]
		}
	}
	for _, r := range a.runs(func(d int) bool { return days[d] != nil }) {
		f := a.meterFlag(ClockDrift, ms, r[0], r[1])
		var worst *loss.Reading
		for d := r[0]; d <= r[1]; d++ {
			f.Reads = append(f.Reads, days[d].reads...)
			if w := days[d].worst; worst == nil || math.Abs(w.Value.Float64()) > math.Abs(worst.Value.Float64()) {
				worst = w
			}
		}
		e := math.Abs(worst.Value.Float64())
		n := r[1] - r[0] + 1
		f.Confidence = clamp01(0.5 + 0.5*(e-tol)/(lim-tol) + 0.1*float64(n-1))
		f.Summary = fmt.Sprintf("clock off by %s s (tolerance %s) on %d days running", worst.Value, cfg.ClockTolerance, n)
		if e > lim {
			f.Summary += fmt.Sprintf("; beyond the %s a broadcast may correct", cfg.ClockLimit)
		}
		f.Figures = []Figure{fig("worst error", worst.Value, "s"), figf("tolerance", tol, "s"), figf("broadcast limit", lim, "s"),
			figf("days", float64(n), "d")}
		out = append(out, f)
	}
	return out
}

// voltage flags phase loss (per phase) and voltage out of range.
func (a *Analysis) voltage(ms *meterSeries, cfg *Config, out []Flag) []Flag {
	reads := a.instant[ms.addr]
	if len(reads) == 0 {
		return out
	}
	vn, present := a.nominal(ms, cfg)
	lossV, lo, hi := cfg.PhaseLoss*vn, cfg.VoltageLow*vn, cfg.VoltageHigh*vn
	type tally struct {
		n, bad int
		keys   []meter.Key
		worst  loss.Decimal
	}
	var lost [3]map[int]*tally
	rng := map[int]*tally{}
	for p := range lost {
		lost[p] = map[int]*tally{}
	}
	add := func(m map[int]*tally, d int, bad bool, x *loss.Reading, worse func(a, b float64) bool) {
		t := m[d]
		if t == nil {
			t = &tally{worst: x.Value}
			m[d] = t
		}
		t.n++
		if bad {
			if t.bad == 0 || worse(x.Value.Float64(), t.worst.Float64()) {
				t.worst = x.Value
			}
			t.bad++
			t.keys = append(t.keys, x.Key)
		}
	}
	dev := func(v, w float64) bool { return math.Abs(v-vn) > math.Abs(w-vn) }
	for i := range reads {
		x := &reads[i]
		p, ok := phaseOf(x.Key.Quantity, "voltage")
		if !ok || !present[p] {
			continue
		}
		d, ok := a.dayOf(x.Key.Time)
		if !ok {
			continue
		}
		v := x.Value.Float64()
		add(lost[p], d, v < lossV, x, func(a, b float64) bool { return a < b })
		add(rng, d, v >= lossV && (v < lo || v > hi), x, dev)
	}
	for p := range lost {
		m := lost[p]
		for _, r := range a.runs(func(d int) bool { return m[d] != nil && m[d].bad >= cfg.PhaseLossReads }) {
			f := a.meterFlag(PhaseLoss, ms, r[0], r[1])
			share, bad := 0.0, 0
			lowest := m[r[0]].worst
			for d := r[0]; d <= r[1]; d++ {
				t := m[d]
				share = max(share, float64(t.bad)/float64(t.n))
				bad += t.bad
				f.Reads = append(f.Reads, t.keys...)
				if loss.Cmp(t.worst, lowest) < 0 {
					lowest = t.worst
				}
			}
			f.Confidence = clamp01(0.5 + 0.5*share)
			f.Summary = fmt.Sprintf("phase %c below %.1f V in %d reads", 'A'+p, lossV, bad)
			f.Figures = []Figure{fig("lowest voltage", lowest, "V"), figf("phase loss level", lossV, "V"), figf("reads", float64(bad), "")}
			out = append(out, f)
		}
	}
	for _, r := range a.runs(func(d int) bool { return rng[d] != nil && rng[d].bad >= cfg.VoltageReads }) {
		f := a.meterFlag(VoltageRange, ms, r[0], r[1])
		share, bad := 0.0, 0
		worst := rng[r[0]].worst
		for d := r[0]; d <= r[1]; d++ {
			t := rng[d]
			share = max(share, float64(t.bad)/float64(t.n))
			bad += t.bad
			f.Reads = append(f.Reads, t.keys...)
			if dev(t.worst.Float64(), worst.Float64()) {
				worst = t.worst
			}
		}
		f.Confidence = clamp01(0.5 + 0.5*share)
		f.Summary = fmt.Sprintf("voltage outside %.1f..%.1f V in %d reads (worst %s V)", lo, hi, bad, worst)
		f.Figures = []Figure{fig("worst voltage", worst, "V"), figf("low limit", lo, "V"), figf("high limit", hi, "V"), figf("reads", float64(bad), "")}
		out = append(out, f)
	}
	return out
}

// imbalance flags a three-phase meter whose phase currents are far apart.
func (a *Analysis) imbalance(ms *meterSeries, cfg *Config, out []Flag) []Flag {
	reads := a.instant[ms.addr]
	_, present := a.nominal(ms, cfg)
	if !present[0] || !present[1] || !present[2] {
		return out
	}
	type tally struct {
		bad   int
		worst float64
		keys  []meter.Key
	}
	days := map[int]*tally{}
	for i := 0; i < len(reads); {
		// the currents read at one instant
		j := i
		var cur [3]*loss.Reading
		for ; j < len(reads) && reads[j].Key.Time.Equal(reads[i].Key.Time); j++ {
			if p, ok := phaseOf(reads[j].Key.Quantity, "current"); ok {
				cur[p] = &reads[j]
			}
		}
		at := reads[i].Key.Time
		i = j
		if cur[0] == nil || cur[1] == nil || cur[2] == nil {
			continue
		}
		var lo, hi = math.Inf(1), 0.0
		for _, c := range cur {
			v := math.Abs(c.Value.Float64())
			lo, hi = min(lo, v), max(hi, v)
		}
		if hi <= cfg.ImbalanceCurrent {
			continue
		}
		pct := (hi - lo) / hi * 100
		if pct <= cfg.Imbalance {
			continue
		}
		d, ok := a.dayOf(at)
		if !ok {
			continue
		}
		t := days[d]
		if t == nil {
			t = &tally{}
			days[d] = t
		}
		t.bad++
		t.worst = max(t.worst, pct)
		t.keys = append(t.keys, cur[0].Key, cur[1].Key, cur[2].Key)
	}
	for _, r := range a.runs(func(d int) bool { return days[d] != nil && days[d].bad >= cfg.ImbalanceReads }) {
		f := a.meterFlag(CurrentImbalance, ms, r[0], r[1])
		worst, bad := 0.0, 0
		for d := r[0]; d <= r[1]; d++ {
			worst = max(worst, days[d].worst)
			bad += days[d].bad
			f.Reads = append(f.Reads, days[d].keys...)
		}
		f.Confidence = clamp01(0.5 + 0.5*(worst-cfg.Imbalance)/(100-cfg.Imbalance))
		f.Summary = fmt.Sprintf("phase currents %.0f %% apart (limit %g %%) in %d reads", worst, cfg.Imbalance, bad)
		f.Figures = []Figure{figf("worst imbalance", worst, "%"), figf("limit", cfg.Imbalance, "%"), figf("reads", float64(bad), "")}
		out = append(out, f)
	}
	return out
}

// cover flags a rise of the cover-open counter between two reads.
func (a *Analysis) cover(ms *meterSeries, _ *Config, out []Flag) []Flag {
	var prev *loss.Reading
	reads := a.instant[ms.addr]
	for i := range reads {
		x := &reads[i]
		if x.Key.Quantity != QuantityCoverOpen {
			continue
		}
		if prev != nil && loss.Cmp(x.Value, prev.Value) > 0 {
			if d, ok := a.dayOf(x.Key.Time); ok {
				rise, _ := loss.Sub(x.Value, prev.Value)
				f := a.meterFlag(CoverOpened, ms, d, d)
				f.Confidence = 0.9
				f.Summary = fmt.Sprintf("cover opened %s times between %s and %s", rise,
					prev.Key.Time.Format(time.DateTime), x.Key.Time.Format(time.DateTime))
				f.Reads = []meter.Key{prev.Key, x.Key}
				f.Figures = []Figure{fig("count before", prev.Value, ""), fig("count after", x.Value, ""), fig("openings", rise, "")}
				out = append(out, f)
			}
		}
		prev = x
	}
	return out
}
