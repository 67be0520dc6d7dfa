package loss

import (
	"fmt"
	"slices"
	"strings"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
)

// Result is an area's balance over one period.
type Result struct {
	Area         string
	Feeder       string
	VoltageLevel string
	Period       Period

	Supply Decimal // AreaForward + Export
	Sales  Decimal // CustomerForward + AreaReverse
	Loss   Decimal // Supply − Sales
	// Rate is Loss / Supply × 100 %, with Config.Places decimals rounded
	// half away from zero; set only when the class is computable. The
	// class is decided on this rounded figure, so it always agrees with
	// what is shown.
	Rate    Decimal
	HasRate bool

	AreaForward     Decimal // area meter forward × M
	Export          Decimal // Σ customer and PV meters' reverse × M
	CustomerForward Decimal // Σ customer and PV meters' forward × M
	AreaReverse     Decimal // area meter reverse × M (export upstream)

	Class   Class
	Reasons []string // why the class; estimated and missing meters

	// Customer (and PV) meters of the archive: Expected = Read +
	// Estimated + Missing.
	Expected, Read, Estimated, Missing int

	AreaMeter *MeterResult  // nil when the archive has none
	Meters    []MeterResult // customer and PV meters, archive order
}

// Compute balances area over p from the reads in s.
//
// The figures cover the usable meters only; when the class is
// [NotComputable] they are shown for diagnosis and must not be taken as
// the area's loss (roll-ups leave such areas out). Loss = Supply − Sales
// holds exactly in every result.
func Compute(ix *archive.Index, area string, p Period, s *Set, cfg Config) Result {
	cfg = cfg.withDefaults()
	res := Result{Area: area, Period: p}
	a, ok := ix.Area(area)
	if !ok {
		res.Class = NotComputable
		res.Reasons = []string{"area " + area + " is not in the archive"}
		return res
	}
	res.Feeder, res.VoltageLevel = a.Feeder, a.VoltageLevel
	var why []string
	overflow := false
	sum := func(acc *Decimal, d Decimal) {
		if v, ok := Add(*acc, d); ok {
			*acc = v
		} else {
			overflow = true
		}
	}
	am, hasAM := ix.AreaMeter(area)
	areaOK := false
	if hasAM {
		mr := meterDelta(am, p, s, &cfg)
		res.AreaMeter = &mr
		if mr.Status != StatusMissing {
			areaOK = true
			res.AreaForward, res.AreaReverse = mr.Forward.Energy, mr.Reverse.Energy
			if mr.Status == StatusEstimated {
				why = append(why, "area meter "+am.Address+" read estimated")
			}
		} else {
			why = append(why, "area meter "+am.Address+" not usable: "+mr.Reason)
		}
	} else {
		why = append(why, "no area meter in the archive")
	}
	cust := ix.Customers(area)
	res.Meters = make([]MeterResult, len(cust))
	var missing, estimated []string
	for i, m := range cust {
		mr := meterDelta(m, p, s, &cfg)
		res.Meters[i] = mr
		switch mr.Status {
		case StatusMissing:
			res.Missing++
			missing = append(missing, m.Address+" ("+mr.Reason+")")
			continue
		case StatusEstimated:
			res.Estimated++
			estimated = append(estimated, m.Address)
		default:
			res.Read++
		}
		sum(&res.CustomerForward, mr.Forward.Energy)
		sum(&res.Export, mr.Reverse.Energy)
	}
	res.Expected = len(cust)
	sum(&res.Supply, res.AreaForward)
	sum(&res.Supply, res.Export)
	sum(&res.Sales, res.CustomerForward)
	sum(&res.Sales, res.AreaReverse)
	if l, ok := Sub(res.Supply, res.Sales); ok {
		res.Loss = l
	} else {
		overflow = true
	}
	computable := areaOK && !overflow
	if areaOK && Sign(res.Supply) <= 0 {
		computable = false
		why = append(why, "supply "+res.Supply.String()+" kWh is not positive")
	}
	if !shareMet(res.Read+res.Estimated, res.Expected, cfg.MinShare) {
		computable = false
		why = append(why, usableReason(res.Read+res.Estimated, res.Expected, cfg.MinShare))
	}
	if overflow {
		res.Supply, res.Sales, res.Loss, res.AreaForward, res.Export, res.CustomerForward, res.AreaReverse =
			Decimal{}, Decimal{}, Decimal{}, Decimal{}, Decimal{}, Decimal{}, Decimal{}
		why = append(why, "energies too large to add exactly")
	}
	var cls []string
	if computable {
		if r, ok := Percent(res.Loss, res.Supply, cfg.Places); ok {
			res.Rate, res.HasRate = r, true
			c, reason := cfg.classify(r)
			res.Class, cls = c, []string{reason}
		} else {
			computable = false
			why = append(why, "rate does not fit")
		}
	}
	if !computable {
		res.Class = NotComputable
	}
	if len(estimated) > 0 {
		why = append(why, estimatedReason(estimated))
	}
	if len(missing) > 0 {
		why = append(why, missingReason(missing))
	}
	res.Reasons = append(cls, why...)
	return res
}

// shareMet reports whether n of total is at least min percent. No
// customers at all meets any share.
func shareMet(n, total int, min Decimal) bool {
	if total == 0 {
		return true
	}
	lhs := Decimal{Units: int64(n) * 100}
	rhs, ok := MulInt(min, int64(total))
	return ok && Cmp(lhs, rhs) >= 0
}

// list joins at most 10 items, saying how many more there are.
func list(items []string) string {
	if len(items) <= 10 {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:10], ", ") + fmt.Sprintf(" and %d more", len(items)-10)
}

// Used returns the keys of the reads that entered the balance: the
// boundary reads of every usable meter (those it has, for a meter
// estimated by [Substitute]), area meter first, then customers
// in archive order.
func (r *Result) Used() []meter.Key {
	var out []meter.Key
	add := func(mr *MeterResult) {
		if mr.Status == StatusMissing {
			return
		}
		for _, x := range [4]*Reading{mr.Forward.Start, mr.Forward.End, mr.Reverse.Start, mr.Reverse.End} {
			if x == nil {
				continue // an estimated meter's absent read
			}
			out = append(out, x.Key)
		}
	}
	if r.AreaMeter != nil {
		add(r.AreaMeter)
	}
	for i := range r.Meters {
		add(&r.Meters[i])
	}
	return out
}

// Meter returns the part of a meter in the balance, the area meter
// included.
func (r *Result) Meter(addr string) (*MeterResult, bool) {
	if r.AreaMeter != nil && r.AreaMeter.Meter == addr {
		return r.AreaMeter, true
	}
	i := slices.IndexFunc(r.Meters, func(m MeterResult) bool { return m.Meter == addr })
	if i < 0 {
		return nil, false
	}
	return &r.Meters[i], true
}

// ComputeAll balances every area of the archive over p, in archive order.
func ComputeAll(ix *archive.Index, p Period, s *Set, cfg Config) []Result {
	areas := ix.Archive().Areas
	out := make([]Result, 0, len(areas))
	for i := range areas {
		out = append(out, Compute(ix, areas[i].ID, p, s, cfg))
	}
	return out
}
