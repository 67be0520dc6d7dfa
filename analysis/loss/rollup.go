package loss

import (
	"cmp"
	"slices"
	"strings"
)

// Level names what a roll-up groups by.
type Level string

// Roll-up levels (分线, 分压).
const (
	ByFeeder       Level = "feeder"
	ByVoltageLevel Level = "voltage_level"
)

// Group is the roll-up of the areas of one feeder line or voltage level
// over one period: the sums over the computable areas and the rate
// recomputed from them.
type Group struct {
	Level  Level
	Key    string // the feeder or the voltage level
	Period Period

	Supply, Sales, Loss Decimal // Loss = Supply − Sales
	Rate                Decimal // Loss / Supply × 100 %, when HasRate
	HasRate             bool

	Included []string // computable areas, summed
	Excluded []string // not computable areas, left out
	Overflow bool     // the sums do not fit; figures are zero
}

// Rollup sums results per feeder or voltage level and period. Groups are
// ordered by key, then period start; areas in each list by ID. places is
// the number of decimals of the rate.
func Rollup(rs []Result, level Level, places uint8) []Group {
	type gk struct {
		key  string
		kind PeriodKind
		s, e int64
	}
	groups := map[gk]*Group{}
	for i := range rs {
		r := &rs[i]
		key := r.Feeder
		if level == ByVoltageLevel {
			key = r.VoltageLevel
		}
		k := gk{key, r.Period.Kind, r.Period.Start.UnixNano(), r.Period.End.UnixNano()}
		g := groups[k]
		if g == nil {
			g = &Group{Level: level, Key: key, Period: r.Period}
			groups[k] = g
		}
		if !r.Class.Computable() {
			g.Excluded = append(g.Excluded, r.Area)
			continue
		}
		g.Included = append(g.Included, r.Area)
		var ok1, ok2 bool
		g.Supply, ok1 = Add(g.Supply, r.Supply)
		g.Sales, ok2 = Add(g.Sales, r.Sales)
		g.Overflow = g.Overflow || !ok1 || !ok2
	}
	out := make([]Group, 0, len(groups))
	for _, g := range groups {
		slices.Sort(g.Included)
		slices.Sort(g.Excluded)
		if g.Overflow {
			g.Supply, g.Sales = Decimal{}, Decimal{}
		}
		l, ok := Sub(g.Supply, g.Sales)
		if !ok {
			g.Overflow, g.Supply, g.Sales = true, Decimal{}, Decimal{}
		}
		g.Loss = l
		if Sign(g.Supply) > 0 {
			g.Rate, g.HasRate = Percent(g.Loss, g.Supply, places)
		}
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Group) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), a.Period.Start.Compare(b.Period.Start),
			strings.Compare(string(a.Period.Kind), string(b.Period.Kind)), a.Period.End.Compare(b.Period.End))
	})
	return out
}
