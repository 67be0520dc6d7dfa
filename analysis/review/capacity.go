package review

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// demand is an area's peak demand in the range and how it was found.
type demand struct {
	kw       *big.Rat
	at       time.Time
	source   string // "max demand", "interval energy", "daily energy"
	evidence []Evidence
}

// peakDemand finds the area meter's peak demand over the range, from
// its max demand reads, else its interval energy, else its daily energy.
func (x *run) peakDemand(area string, am *archive.Meter) *demand {
	end := x.to.AddDate(0, 0, 1)
	inRange := func(t time.Time) bool { return !t.Before(x.from) && t.Before(end) }
	ratio := ratInt(int64(am.Ratio()))
	var best *demand
	keep := func(d *demand) {
		if best == nil || d.kw.Cmp(best.kw) > 0 {
			best = d
		}
	}
	var interval []*meter.Read
	for i := range x.in.Reads {
		r := &x.in.Reads[i]
		if r.Meter != am.Address || r.Status != meter.OK {
			continue
		}
		switch {
		case strings.HasPrefix(r.Quantity, "max demand of forward active") && r.Unit == "kW" && inRange(store.Time(r)):
			kw := mul(rat(r.Value), ratio)
			keep(&demand{kw: kw, at: store.Time(r), source: "max demand", evidence: []Evidence{
				{What: r.Quantity + " (read)", Meter: am.Address, Time: stamp(store.Time(r), x.loc), Value: r.Value.String(), Unit: "kW"},
				{What: fmt.Sprintf("× CT × PT %d", am.Ratio()), Meter: am.Address, Value: show(kw, 2), Unit: "kW"}}})
		case r.Class == meter.Interval && r.Quantity == Forward && !r.MeterTime.IsZero():
			interval = append(interval, r)
		}
	}
	if best != nil {
		return best
	}
	slices.SortFunc(interval, func(a, b *meter.Read) int { return a.MeterTime.Compare(b.MeterTime) })
	for i := 1; i < len(interval); i++ {
		a, b := interval[i-1], interval[i]
		dt := b.MeterTime.Sub(a.MeterTime)
		if dt <= 0 || dt > time.Hour || !inRange(b.MeterTime) || b.Value.Cmp(a.Value) < 0 {
			continue
		}
		kwh := sub(rat(b.Value), rat(a.Value))
		kw := mul(quo(mul(kwh, ratio), ratInt(int64(dt/time.Second))), ratInt(3600))
		keep(&demand{kw: kw, at: b.MeterTime, source: "interval energy", evidence: []Evidence{
			{What: "interval register (read)", Meter: am.Address, Time: stamp(a.MeterTime, x.loc), Value: a.Value.String(), Unit: "kWh"},
			{What: "interval register (read)", Meter: am.Address, Time: stamp(b.MeterTime, x.loc), Value: b.Value.String(), Unit: "kWh"},
			{What: fmt.Sprintf("energy × CT × PT %d over %s, as power", am.Ratio(), dt), Meter: am.Address, Value: show(kw, 2), Unit: "kW"}}})
	}
	if best != nil {
		return best
	}
	factor := rat(x.cfg.Capacity.DailyPeakFactor)
	daily := func(d time.Time, kwh *big.Rat, what string) {
		kw := mul(quo(kwh, ratInt(24)), factor)
		keep(&demand{kw: kw, at: d, source: "daily energy", evidence: []Evidence{
			{What: what, Meter: am.Address, Time: day(d), Value: show(kwh, 2), Unit: "kWh"},
			{What: fmt.Sprintf("/ 24 h × peak factor %s", x.cfg.Capacity.DailyPeakFactor), Meter: am.Address, Value: show(kw, 2), Unit: "kW"}}})
	}
	seen := map[time.Time]bool{}
	for i := range x.in.Loss {
		l := &x.in.Loss[i]
		d := midnight(l.Period.Start, x.loc)
		if l.Area != area || l.Period.Kind != loss.Daily || !x.inRange(d) || l.AreaMeter == nil || !l.AreaMeter.Forward.OK {
			continue
		}
		seen[d] = true
		daily(d, rat(l.AreaForward), "area meter's forward energy (daily balance)")
	}
	s := x.usableSeries()[am.Address]
	for _, d := range days(x.from, x.to, x.loc) {
		if a, b, ok := s.delta(d); ok && !seen[d] {
			daily(d, mul(sub(rat(b.Value), rat(a.Value)), ratio), fmt.Sprintf("area meter's forward energy (%s → %s) × %d", a.Value, b.Value, am.Ratio()))
		}
	}
	return best
}

// kva is an archive capacity as an exact rational (written in decimal).
func kva(f float64) *big.Rat {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(f, 'f', -1, 64))
	if !ok {
		return new(big.Rat)
	}
	return r
}

// capacity compares each area's peak demand with its transformer.
func (x *run) capacity() {
	c := x.cfg.Capacity
	if c.Off {
		return
	}
	for _, ar := range x.in.Archive.Archive().Areas {
		am, ok := x.in.Archive.AreaMeter(ar.ID)
		if !ok || ar.CapacityKVA <= 0 {
			continue
		}
		d := x.peakDemand(ar.ID, am)
		if d == nil || !c.applies(midnight(d.at, x.loc)) {
			continue
		}
		limit := mul(kva(ar.CapacityKVA), rat(c.PowerFactor))
		share := pct(d.kw, limit)
		ev := append(d.evidence,
			Evidence{What: "transformer capacity (archive)", Value: strconv.FormatFloat(ar.CapacityKVA, 'f', -1, 64), Unit: "kVA"},
			Evidence{What: "× power factor " + c.PowerFactor.String(), Value: show(limit, 2), Unit: "kW"},
			Evidence{What: "peak demand over capacity", Time: stamp(d.at, x.loc), Value: show(share, 2), Unit: "%"})
		f := Finding{Area: ar.ID, Meter: am.Address, Day: day(midnight(d.at, x.loc)), Evidence: ev}
		switch {
		case share.Cmp(rat(c.OverPct)) > 0:
			f.Rule, f.Severity = CapacityOver, High
			f.Summary = fmt.Sprintf("area %s's peak demand from %s, %s kW, is %s %% of what its %s kVA transformer gives (%s kW at power factor %s): over %s %%",
				ar.ID, d.source, show(d.kw, 2), show(share, 2), strconv.FormatFloat(ar.CapacityKVA, 'f', -1, 64), show(limit, 2), c.PowerFactor, c.OverPct)
		case share.Cmp(rat(c.UnderPct)) < 0:
			f.Rule, f.Severity = CapacityUnder, Low
			f.Summary = fmt.Sprintf("area %s's peak demand from %s, %s kW, is only %s %% of what its %s kVA transformer gives (%s kW): below %s %%, the transformer or the archive's capacity does not fit",
				ar.ID, d.source, show(d.kw, 2), show(share, 2), strconv.FormatFloat(ar.CapacityKVA, 'f', -1, 64), show(limit, 2), c.UnderPct)
		default:
			continue
		}
		x.add(f)
	}
}
