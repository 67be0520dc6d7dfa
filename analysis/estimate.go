package analysis

import (
	"fmt"
	"slices"
	"time"

	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/archive"
)

// Estimating a customer meter that cannot enter a day's balance.
const (
	estimateDays    = 14 // the days of its own history an estimate takes
	estimateMinDays = 3  // the fewest that make one
	estimateMinLike = 3  // the fewest like meters of its area that make a typical day
)

// estimate returns the balances with every customer meter that could not
// enter one (it did not answer, its clock is off, it died before it had
// history, VEE held a day far above its usage) or whose difference a
// register-jump flag holds wrong, estimated into it ([loss.Substitute]) rather than left
// out, so that the area-day is published with the meter's quality:
//   - a meter whose reads are held only for its clock (off by more than
//     the VEE tolerance) takes its reads' own difference: the energy is
//     right, only the stamp is minutes off;
//   - else its median day over the last estimateDays days it was read
//     (its mean day over the fewer it has, when under estimateMinDays);
//   - else, a meter never read whole day, the median day of its area's
//     meters of its role and multiplier read that day (at least
//     estimateMinLike).
//
// A meter none of these can estimate stays missing, and so does one held
// for a fault whose energy an approved correction adds back (a stopped
// meter, a register that went down): the balance shows what was
// registered. Only balances that are computable without the estimates are
// estimated: a day most meters were not read on is not made up. rs are the balances
// of consecutive days (any areas); vals the validated values they came
// from; flags those raised on the registers as read.
func estimate(rs []loss.Result, vals []vee.Value, flags []anomaly.Flag, cfg loss.Config) []loss.Result {
	byKey := make(map[vee.Key]*vee.Value, len(vals))
	for i := range vals {
		byKey[vals[i].Key] = &vals[i]
	}
	type meterDay struct {
		meter string
		day   time.Time
	}
	jumped := map[meterDay]bool{}
	for _, f := range flags {
		if f.Kind == anomaly.RegisterJump {
			for d := f.Start; !d.After(f.End); d = d.AddDate(0, 0, 1) {
				jumped[meterDay{f.Meter, d}] = true
			}
		}
	}
	order := make([]int, len(rs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return rs[a].Period.Start.Compare(rs[b].Period.Start) })
	history := map[string][]float64{} // forward energy of the days read, oldest first
	out := slices.Clone(rs)
	for _, i := range order {
		r := out[i]
		orig := &rs[i]
		if r.Period.Kind != loss.Daily || !orig.Class.Computable() {
			continue // too few meters read to estimate the rest
		}
		for k := range orig.Meters {
			mr := &orig.Meters[k]
			if mr.Role != archive.RoleCustomer {
				continue
			}
			jump := jumped[meterDay{mr.Meter, r.Period.Start}]
			if mr.Status != loss.StatusMissing && !jump {
				if mr.Status == loss.StatusRead {
					h := append(history[mr.Meter], mr.Forward.Energy.Float64())
					history[mr.Meter] = h[max(0, len(h)-estimateDays):]
				}
				continue
			}
			held := heldFor(mr, byKey)
			if held == heldFault && !jump {
				continue // its energy is the fault's: an approved correction adds it back
			}
			e, how, ok := clockHeld(mr, byKey, held)
			if !ok || jump {
				e, how, ok = ownDay(history[mr.Meter])
			}
			if !ok {
				e, how, ok = likeDay(orig, mr)
			}
			if !ok {
				continue
			}
			if jump {
				how = "its register jumped that day (register_jump flag): " + how
			}
			r = loss.Substitute(r, mr.Meter, e, how, cfg)
		}
		out[i] = r
	}
	return out
}

// Why a meter's reads are held from a balance.
const (
	heldAbsent = iota // a read is absent, or it failed: the meter did not answer
	heldClock         // only for its clock
	heldUsage         // for a day far above its usage: a jump VEE caught
	heldFault         // for a fault whose energy is a correction's (stopped, a decrease) or anything else
)

// heldFor says why a missing meter's reads are held.
func heldFor(mr *loss.MeterResult, byKey map[vee.Key]*vee.Value) int {
	switch mr.Issue {
	case loss.IssueNoRead:
		return heldAbsent
	case loss.IssueQuality:
	default:
		return heldFault
	}
	held := heldAbsent
	for _, x := range [4]*loss.Reading{mr.Forward.Start, mr.Forward.End, mr.Reverse.Start, mr.Reverse.End} {
		if x == nil || x.Quality.Usable() {
			continue
		}
		v := byKey[x.Key]
		switch {
		case v == nil || v.Text != "":
			return heldFault
		case v.Has(vee.CodeZeroWithCurrent) || v.Has(vee.CodeDecrease) || v.Has(vee.CodeImplausible) || v.Has(vee.CodeConflict) ||
			v.Has(vee.CodeFuture) || v.Has(vee.CodeLowUsage) || v.Has(vee.CodeSumCheck) || v.Has(vee.CodeSpike):
			return heldFault
		case v.Has(vee.CodeHighUsage):
			held = heldUsage
		case v.Has(vee.CodeClockError):
			if held == heldAbsent {
				held = heldClock
			}
		case v.Has(vee.CodeReadFailed) || v.Quality == vee.Failed:
		default:
			return heldFault
		}
	}
	return held
}

// clockHeld is the difference of a meter's reads held only because its
// clock is off.
func clockHeld(mr *loss.MeterResult, byKey map[vee.Key]*vee.Value, held int) (loss.Decimal, string, bool) {
	s, e := mr.Forward.Start, mr.Forward.End
	if held != heldClock || s == nil || e == nil {
		return loss.Decimal{}, "", false
	}
	d, ok := loss.Sub(e.Value, s.Value)
	if !ok || loss.Sign(d) < 0 {
		return loss.Decimal{}, "", false
	}
	en, ok := loss.MulInt(d, mr.Multiplier)
	if !ok {
		return loss.Decimal{}, "", false
	}
	return en, fmt.Sprintf("its reads' difference %s × %d, held for its clock only (the stamp is off, not the energy)", d, mr.Multiplier), true
}

// ownDay is the median of a meter's days read: of at least
// estimateMinDays, else of the fewer it has (a meter that died a day or
// two after the head-end began is better told by its own days than by
// its area's typical one, which a large customer is far from).
func ownDay(h []float64) (loss.Decimal, string, bool) {
	switch {
	case len(h) == 0:
		return loss.Decimal{}, "", false
	case len(h) < estimateMinDays:
		return kWh(median(h)), fmt.Sprintf("its mean day over the only %d days it was read", len(h)), true
	}
	m := median(h)
	return kWh(m), fmt.Sprintf("its median day over the last %d days it was read", len(h)), true
}

// likeDay is the median day of the meters of r's area of mr's role and
// multiplier read that day.
func likeDay(r *loss.Result, mr *loss.MeterResult) (loss.Decimal, string, bool) {
	var v []float64
	for k := range r.Meters {
		o := &r.Meters[k]
		if o.Meter != mr.Meter && o.Role == mr.Role && o.Multiplier == mr.Multiplier && o.Status == loss.StatusRead {
			v = append(v, o.Forward.Energy.Float64())
		}
	}
	if len(v) < estimateMinLike {
		return loss.Decimal{}, "", false
	}
	return kWh(median(v)), fmt.Sprintf("the median day of the %d meters of its area of its role and multiplier (it has too few days of its own)", len(v)), true
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// kWh rounds to 0.01 kWh.
func kWh(f float64) loss.Decimal {
	return loss.Decimal{Units: int64(f*100 + 0.5), Scale: 2}
}
