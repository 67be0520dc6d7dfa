package anomaly

import (
	"cmp"

	"slices"
	"strings"

	"github.com/headend/headend/meter"
)

// Report is what [Detect] found.
type Report struct {
	Flags []Flag    // by start day, kind, area, meter
	Theft []Ranking // per area, over the last window
}

// Detect indexes in and raises every flag.
func Detect(in Input, cfg Config) Report { return New(in).Detect(cfg) }

// Detect raises every flag.
func (a *Analysis) Detect(cfg Config) Report {
	cfg = cfg.withDefaults()
	var rep Report
	var out []Flag
	meterRules := []func(*meterSeries, *Config, []Flag) []Flag{
		a.registerBack, a.registerJump, a.reverseEnergy, a.stopped, a.noAnswer,
		a.clock, a.voltage, a.imbalance, a.cover, a.registerDip,
	}
	for _, ms := range a.order {
		for _, rule := range meterRules {
			out = rule(ms, &cfg, out)
		}
	}
	out = a.events(out, a.evs, false)
	// the theft ranking leaves out what these flags explain
	b := *a
	b.explained = a.explain(nil, out, cfg.History)
	for m, e := range a.explained {
		if x, ok := b.explained[m]; !ok || e.from < x.from {
			b.explained[m] = e
		}
	}
	b.upset = a.upsets(out)
	a = &b
	buf := &rankBuf{}
	for _, s := range a.areas {
		out = a.classChange(s, &cfg, out)
		var rk *Ranking
		out, rk = a.theft(s, &cfg, buf, out)
		if rk != nil {
			rep.Theft = append(rep.Theft, *rk)
		}
	}
	out, stepped := a.movedStep(&cfg, out)
	out = a.movedLevel(&cfg, stepped, out)
	out = a.events(out, a.evs, true)
	slices.SortStableFunc(out, func(x, y Flag) int {
		return cmp.Or(x.Start.Compare(y.Start), strings.Compare(string(x.Kind), string(y.Kind)),
			strings.Compare(x.Area, y.Area), strings.Compare(x.Meter, y.Meter), strings.Compare(x.Other, y.Other))
	})
	for i := range out {
		out[i].Reads = dedupe(out[i].Reads)
		out[i].Delay = out[i].Kind.Delay(cfg)
	}
	rep.Flags = out
	return rep
}

// dedupe drops repeated keys (a day's end read is the next day's start).
func dedupe(ks []meter.Key) []meter.Key {
	if len(ks) < 2 {
		return ks
	}
	seen := make(map[meter.Key]bool, len(ks))
	out := ks[:0]
	for _, k := range ks {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
