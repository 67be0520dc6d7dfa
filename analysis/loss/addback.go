package loss

import (
	"math/big"
	"slices"
	"strings"
	"time"
)

// Fault is energy a faulty meter failed to register over [From, To),
// to add back to the balances it falls in (故障电量追补): an area meter's
// goes to the area's supply, a customer's to its sales.
type Fault struct {
	Area     string
	Meter    string
	From, To time.Time
	Energy   Decimal // primary kWh over the whole span
	Why      string  // for the balance's reasons, e.g. the correction it comes from
}

// Share is the part of a fault's energy that falls on one day.
type Share struct {
	Day    time.Time // 00:00
	Energy Decimal
}

// Spread divides e over the days of [from, to) in loc, in proportion to
// the time of each day inside the span. The shares have e's decimals (at
// least 2) and add up to e exactly: the units left over by rounding down
// go one each to the days with the largest remainders, the earlier day
// first. An empty span has no shares.
func Spread(e Decimal, from, to time.Time, loc *time.Location) []Share {
	if !to.After(from) {
		return nil
	}
	scale := max(e.Scale, 2)
	n, ok := e.Rescale(scale)
	if !ok {
		return nil
	}
	var out []Share
	var weights []int64
	var total int64
	for d := Day(from.In(loc)).Start; d.Before(to); d = d.AddDate(0, 0, 1) {
		end := d.AddDate(0, 0, 1)
		w := int64(minTime(to, end).Sub(maxTime(from, d)) / time.Second)
		if w <= 0 {
			continue
		}
		out = append(out, Share{Day: d})
		weights = append(weights, w)
		total += w
	}
	if total == 0 {
		return nil
	}
	neg := n.Units < 0
	units := new(big.Int).Abs(big.NewInt(n.Units))
	rems := make([]*big.Int, len(out))
	left := new(big.Int).Set(units)
	for i, w := range weights {
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(units, big.NewInt(w)), big.NewInt(total), new(big.Int))
		out[i].Energy = Decimal{Units: q.Int64(), Scale: scale}
		rems[i] = r
		left.Sub(left, q)
	}
	order := make([]int, len(out))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return rems[b].Cmp(rems[a]) })
	for k := int64(0); k < left.Int64(); k++ {
		out[order[k]].Energy.Units++
	}
	if neg {
		for i := range out {
			out[i].Energy.Units = -out[i].Energy.Units
		}
	}
	return out
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// AddBack returns r with e kWh that meter failed to register added back:
// to the supply (as area meter forward energy) when meter is r's area
// meter, else to the sales (as customer forward energy). Loss = Supply −
// Sales still holds; the rate and class are decided again with cfg (a
// balance whose supply was not positive may become computable; one
// missing its area meter or too many customers stays not computable), and
// a reason says what was added and why. r is not modified.
func AddBack(r Result, meter string, e Decimal, why string, cfg Config) Result {
	cfg = cfg.withDefaults()
	toSupply := r.AreaMeter != nil && r.AreaMeter.Meter == meter
	side, acc, part := "sales", r.Sales, r.CustomerForward
	if toSupply {
		side, acc, part = "supply", r.Supply, r.AreaForward
	}
	note := "fault energy " + e.String() + " kWh of meter " + meter + " added to " + side
	if why != "" {
		note += ": " + why
	}
	sum, ok1 := Add(acc, e)
	p, ok2 := Add(part, e)
	if !ok1 || !ok2 || slices.Contains(r.Reasons, overflowReason) {
		r.Reasons = append(slices.Clone(r.Reasons), note+" (not added: energies too large to add exactly)")
		return r
	}
	if toSupply {
		r.Supply, r.AreaForward = sum, p
	} else {
		r.Sales, r.CustomerForward = sum, p
	}
	l, ok := Sub(r.Supply, r.Sales)
	if !ok {
		r.Reasons = append(slices.Clone(r.Reasons), note+" (not added: energies too large to add exactly)")
		return r
	}
	r.Loss = l
	// the reasons without the old verdict
	reasons := make([]string, 0, len(r.Reasons)+2)
	for i, s := range r.Reasons {
		if i == 0 && r.Class.Computable() || isSupplyReason(s) {
			continue
		}
		reasons = append(reasons, s)
	}
	areaOK := r.AreaMeter != nil && r.AreaMeter.Status != StatusMissing
	computable := areaOK && Sign(r.Supply) > 0 && shareMet(r.Read+r.Estimated, r.Expected, cfg.MinShare)
	r.Class, r.Rate, r.HasRate = NotComputable, Decimal{}, false
	if computable {
		if rate, ok := Percent(r.Loss, r.Supply, cfg.Places); ok {
			c, why := cfg.classify(rate)
			r.Class, r.Rate, r.HasRate = c, rate, true
			reasons = append([]string{why}, reasons...)
		}
	} else if areaOK && Sign(r.Supply) <= 0 {
		reasons = append(reasons, supplyReason(r.Supply))
	}
	r.Reasons = append(reasons, note)
	return r
}

const overflowReason = "energies too large to add exactly"

func supplyReason(supply Decimal) string { return "supply " + supply.String() + " kWh is not positive" }

func isSupplyReason(s string) bool {
	return strings.HasPrefix(s, "supply ") && strings.HasSuffix(s, " kWh is not positive")
}

// AddBackAll returns rs with each fault's energy added back ([AddBack])
// to the daily and monthly balances of its area: each balance gets the
// shares of the fault's days ([Spread], in the balance's location) that
// fall in its period. Other balances (hourly ones, other areas) are as
// they were. rs is not modified.
func AddBackAll(rs []Result, faults []Fault, cfg Config) []Result {
	out := slices.Clone(rs)
	for _, f := range faults {
		var shares []Share
		spread := false
		for i := range out {
			r := &out[i]
			if r.Area != f.Area || (r.Period.Kind != Daily && r.Period.Kind != Monthly) {
				continue
			}
			if !spread {
				shares, spread = Spread(f.Energy, f.From, f.To, r.Period.Start.Location()), true
			}
			var e Decimal
			any := false
			for _, s := range shares {
				if !s.Day.Before(r.Period.Start) && s.Day.Before(r.Period.End) {
					e, _ = Add(e, s.Energy)
					any = true
				}
			}
			if any && Sign(e) != 0 {
				*r = AddBack(*r, f.Meter, e, f.Why, cfg)
			}
		}
	}
	return out
}
