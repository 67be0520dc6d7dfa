package inspect

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/analysis/assess"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/archive"
)

// Item kinds.
const (
	KindArea = "area"
	KindLine = "line"
)

// Item is one entry of the inspection list, before it is stored.
type Item struct {
	Rank   int     `json:"rank"`
	Kind   string  `json:"kind"`   // area or line
	Target string  `json:"target"` // the area ID or the feeder line
	Score  float64 `json:"score"`
	// Summary says in a line why it is on the list.
	Summary string `json:"summary"`
	// Rate is the month's loss rate (%, from its computable days) and
	// Threshold the target it is held to; Change the rate's change against
	// the month before (percentage points), Unexplained the part of it no
	// flagged meter accounts for. Empty when there is no such figure.
	Rate        string    `json:"rate"`
	Threshold   string    `json:"threshold"`
	Change      string    `json:"change"`
	Unexplained string    `json:"unexplained"`
	Evidence    []Finding `json:"evidence"`
}

// Weights are the points an item scores for each thing found. The score
// ranks the list; it is a triage order, not a probability.
type Weights struct {
	Rate    float64 // per percentage point of loss rate above the threshold
	Change  float64 // per percentage point of unexplained change, either way
	Theft   float64 // × the confidence of a theft flag on the area
	Ranking float64 // × the best theft score of the area's ranking, when no theft flag names that meter
	Moved   float64 // × the confidence of a moved-meter flag (both areas)
	Tamper  float64 // × the confidence of a tamper flag: cover opened, reverse energy on a consumer meter
	High    float64 // an archive finding of high severity
	Medium  float64 // of medium severity
	Low     float64 // of low severity
	// Collection scales the points of the review's data-collection rules
	// (reads without frames, low read rates, read gaps, meters that never
	// answer, estimates that repeat): the missing-reads evidence already
	// scores what they cost the balance.
	Collection float64
	Overdue    float64 // the area meter is past its verification
	Missing    float64 // per percentage point of meter-days without a usable read
	Flag       float64 // any other flag on the area or its meters
	FlagCap    float64 // most points from other flags
}

// DefaultWeights are the weights unless told otherwise: a theft flag or a
// high archive finding weighs as much as 4 points of loss above target.
func DefaultWeights() Weights {
	return Weights{Rate: 1, Change: 1, Theft: 4, Ranking: 2, Moved: 4, Tamper: 1.5, High: 4, Medium: 2, Low: 1, Collection: 0.25,
		Overdue: 2, Missing: 0.2, Flag: 0.5, FlagCap: 2}
}

// Input is what a month's list is made from.
type Input struct {
	Archive *archive.Index
	// Month is any time in the month, in the zone its days begin in.
	Month time.Time
	// Balances are the daily balances of the month and of the month
	// before (for the change); others are ignored.
	Balances []loss.Result
	// Flags are the flags open at some time in the month (others are
	// ignored), Theft the theft rankings (each area's latest before the
	// month's end is used).
	Flags []anomaly.Flag
	Theft []anomaly.Ranking
	// Findings are the archive review's findings, by area or meter.
	Findings []Finding
	// Targets hold each area to its loss-rate target; an area without one
	// (and a line without a feeder target) is held to Upper (0: 10 %). A
	// line without a target is held to its areas' thresholds weighted by
	// their supply.
	Targets assess.Targets
	Upper   loss.Decimal
	// VerifyDue returns the date a meter's verification falls due (zero:
	// unknown); nil: no verification evidence.
	VerifyDue func(m *archive.Meter) time.Time
	Weights   *Weights // nil: DefaultWeights
	Top       int      // items kept (0: 20); items scoring 0 never are
}

// areaStat is one area's month.
type areaStat struct {
	a              *archive.Area
	cur, prev      []*loss.Result // computable daily balances
	all            []*loss.Result // every daily balance of the month
	supply, lossE  loss.Decimal
	psupply, ploss loss.Decimal
	explained      float64 // kWh a day of loss rise flagged meters account for
	threshold      loss.Decimal
	item           Item
}

// Rank scores every area and feeder line for the month and returns the
// highest, best first, ranked from 1.
//
// An area scores the points of [Weights] for its loss rate above its
// target, for its unexplained change, and for its evidence: each flag on
// it or its meters, its latest theft ranking, each rule of the archive
// review that found something there (once, for the most severe finding),
// an area meter past its verification, its missing reads. Its
// change is its month's rate (the sums of its computable days) less the
// month before's; the explained part is, for each meter a flag of a kind
// that accounts for unregistered energy marks (stopped, no answer, phase
// loss, reverse energy, register back), how much less it registered a day
// than in the month before (a customer; more for an area meter, and a day
// without a usable read counts as nothing registered), over the area's
// mean daily supply. A line scores for its own rate and unexplained change
// (its areas' sums); its evidence lists its areas.
func Rank(in Input) []Item {
	w := DefaultWeights()
	if in.Weights != nil {
		w = *in.Weights
	}
	upper := in.Upper
	if upper == (loss.Decimal{}) {
		upper = loss.DefaultConfig().Upper
	}
	top := in.Top
	if top <= 0 {
		top = 20
	}
	ix := in.Archive
	if ix == nil {
		ix = (&archive.Archive{}).Index()
	}
	loc := in.Month.Location()
	from := time.Date(in.Month.Year(), in.Month.Month(), 1, 0, 0, 0, 0, loc)
	to := from.AddDate(0, 1, 0)
	prevFrom := from.AddDate(0, -1, 0)

	areas := ix.Archive().Areas
	stats := map[string]*areaStat{}
	for i := range areas {
		a := &areas[i]
		st := &areaStat{a: a, threshold: upper}
		if t, ok := in.Targets.For(a, from); ok {
			st.threshold = t.Rate
		}
		stats[a.ID] = st
	}
	for i := range in.Balances {
		r := &in.Balances[i]
		st := stats[r.Area]
		if st == nil || r.Period.Kind != loss.Daily || r.Period.Start.Before(prevFrom) || !r.Period.Start.Before(to) {
			continue
		}
		if r.Period.Start.Before(from) {
			if r.Class.Computable() {
				st.prev = append(st.prev, r)
				st.psupply, _ = loss.Add(st.psupply, r.Supply)
				st.ploss, _ = loss.Add(st.ploss, r.Loss)
			}
			continue
		}
		st.all = append(st.all, r)
		if r.Class.Computable() {
			st.cur = append(st.cur, r)
			st.supply, _ = loss.Add(st.supply, r.Supply)
			st.lossE, _ = loss.Add(st.lossE, r.Loss)
		}
	}
	// the month's figure is the assessment's and the loss list's (one
	// computation, assess.Figures): the month's own balance when there
	// is one, else the sums of the computable days
	cur, prev := assess.Figures(in.Balances, from, to), assess.Figures(in.Balances, prevFrom, from)
	for id, st := range stats {
		if f, ok := cur[id]; ok {
			st.supply, st.lossE = f.Supply, f.Loss
		}
		if f, ok := prev[id]; ok {
			st.psupply, st.ploss = f.Supply, f.Loss
		}
	}
	flags := map[string][]*anomaly.Flag{}
	for i := range in.Flags {
		f := &in.Flags[i]
		if !f.Start.Before(to) || (!f.End.IsZero() && f.End.Before(from)) {
			continue
		}
		flags[f.Area] = append(flags[f.Area], f)
		if f.Kind == anomaly.MovedMeter && f.Other != "" && f.Other != f.Area {
			flags[f.Other] = append(flags[f.Other], f)
		}
	}
	rankings := map[string]*anomaly.Ranking{}
	for i := range in.Theft {
		rk := &in.Theft[i]
		if !rk.WindowEnd.Before(to) {
			continue
		}
		if o := rankings[rk.Area]; o == nil || rk.WindowEnd.After(o.WindowEnd) {
			rankings[rk.Area] = rk
		}
	}
	findings := map[string][]Finding{}
	for _, f := range in.Findings {
		area := f.Area
		if area == "" && f.Meter != "" {
			if m, ok := ix.Meter(f.Meter); ok {
				area = m.Area
			}
		}
		if area != "" {
			findings[area] = append(findings[area], f)
		}
	}

	var items []Item
	for i := range areas {
		st := stats[areas[i].ID]
		st.explained = explained(st, flags[st.a.ID], ix)
		it := Item{Kind: KindArea, Target: st.a.ID}
		var parts []part
		parts = rateParts(&it, w, parts, st.supply, st.lossE, st.psupply, st.ploss, len(st.cur), len(st.prev), st.explained, st.threshold, prevFrom)
		parts = evidence(&it, st, w, parts, flags[st.a.ID], rankings[st.a.ID], findings[st.a.ID], ix, in.VerifyDue, from, to, loc)
		finish(&it, parts)
		st.item = it
		items = append(items, it)
	}
	items = append(items, lines(areas, stats, in.Targets, upper, w, from, prevFrom)...)
	slices.SortStableFunc(items, func(a, b Item) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), strings.Compare(a.Kind, b.Kind), strings.Compare(a.Target, b.Target))
	})
	out := items[:0]
	for _, it := range items {
		if it.Score > 0 && len(out) < top {
			it.Rank = len(out) + 1
			out = append(out, it)
		}
	}
	return out
}

// part is one reason an item scores.
type part struct {
	points float64
	say    string
}

func finish(it *Item, parts []part) {
	slices.SortStableFunc(parts, func(a, b part) int { return cmp.Compare(b.points, a.points) })
	var says []string
	for _, p := range parts {
		it.Score += p.points
		if p.say != "" && len(says) < 4 {
			says = append(says, p.say)
		}
	}
	it.Score = math.Round(it.Score*100) / 100
	it.Summary = strings.Join(says, "; ")
	if it.Evidence == nil {
		it.Evidence = []Finding{}
	}
}

// rateParts scores the rate above the threshold and the unexplained
// change, and fills the item's figures.
func rateParts(it *Item, w Weights, parts []part, supply, lossE, psupply, ploss loss.Decimal, days, pdays int, explainedKWh float64,
	threshold loss.Decimal, prevFrom time.Time) []part {
	it.Threshold = threshold.String()
	rate, ok := loss.Percent(lossE, supply, 2)
	if days == 0 || !ok || loss.Sign(supply) <= 0 {
		return append(parts, part{0, "no computable day this month"})
	}
	it.Rate = rate.String()
	if over, _ := loss.Sub(rate, threshold); loss.Sign(over) > 0 {
		parts = append(parts, part{over.Float64() * w.Rate, fmt.Sprintf("loss %s %% over the %s %% target", rate, threshold)})
	} else {
		parts = append(parts, part{0, fmt.Sprintf("loss %s %% (target %s %%)", rate, threshold)})
	}
	prate, ok := loss.Percent(ploss, psupply, 2)
	if pdays == 0 || !ok || loss.Sign(psupply) <= 0 {
		return parts
	}
	change, _ := loss.Sub(rate, prate)
	it.Change = change.String()
	perDay := supply.Float64() / float64(days)
	un := change.Float64()
	if perDay > 0 {
		un -= explainedKWh / perDay * 100
	}
	u := loss.Round(loss.Decimal{Units: int64(math.Round(un * 100)), Scale: 2}, 2)
	it.Unexplained = u.String()
	if math.Abs(un) >= 0.005 {
		say := fmt.Sprintf("loss %+.2f pp against %s", change.Float64(), prevFrom.Format("2006-01"))
		if explainedKWh != 0 {
			say += fmt.Sprintf(", %+.2f pp of it not explained by flagged meters", un)
		}
		parts = append(parts, part{math.Abs(un) * w.Change, say})
	}
	return parts
}

// explains reports whether a flag of kind k accounts for energy its meter
// did not register.
func explains(k anomaly.Kind) bool {
	switch k {
	case anomaly.Stopped, anomaly.NoAnswer, anomaly.PhaseLoss, anomaly.ReverseEnergy, anomaly.RegisterBack:
		return true
	}
	return false
}

// explained is the rise of the area's daily loss its flagged meters
// account for, kWh a day: for each, its mean net registration in the
// month before less this month's (a customer), or the reverse (the area
// meter).
func explained(st *areaStat, flags []*anomaly.Flag, ix *archive.Index) float64 {
	if len(st.cur) == 0 || len(st.prev) == 0 {
		return 0
	}
	seen := map[string]bool{}
	total := 0.0
	for _, f := range flags {
		if !explains(f.Kind) || f.Meter == "" || seen[f.Meter] || f.Area != st.a.ID {
			continue
		}
		seen[f.Meter] = true
		m, ok := ix.Meter(f.Meter)
		if !ok {
			continue
		}
		d := meanNet(st.prev, f.Meter) - meanNet(st.cur, f.Meter)
		if m.Role == archive.RoleArea {
			d = -d
		}
		total += d
	}
	return total
}

// meanNet is a meter's mean forward less reverse energy a day over rs (a
// day without a usable read counts 0).
func meanNet(rs []*loss.Result, meter string) float64 {
	sum := 0.0
	for _, r := range rs {
		if mr, ok := r.Meter(meter); ok && mr.Status != loss.StatusMissing {
			sum += mr.Forward.Energy.Float64() - mr.Reverse.Energy.Float64()
		}
	}
	return sum / float64(len(rs))
}
