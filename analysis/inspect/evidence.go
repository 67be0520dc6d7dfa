package inspect

import (
	"cmp"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/analysis/assess"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/archive"
)

// evidence attaches an area's evidence and scores it.
func evidence(it *Item, st *areaStat, w Weights, parts []part, flags []*anomaly.Flag, rk *anomaly.Ranking, fs []Finding,
	ix *archive.Index, verifyDue func(*archive.Meter) time.Time, from, to time.Time, loc *time.Location) []part {
	// flags: theft and moved meters first, strongest first
	slices.SortStableFunc(flags, func(a, b *anomaly.Flag) int {
		return cmp.Or(cmp.Compare(flagOrder(a.Kind), flagOrder(b.Kind)), cmp.Compare(b.Confidence, a.Confidence))
	})
	theftFlagged := map[string]bool{}
	other := 0.0
	var otherKinds []string
	for _, f := range flags {
		it.Evidence = append(it.Evidence, flagFinding(f, loc))
		switch f.Kind {
		case anomaly.Theft:
			theftFlagged[f.Meter] = true
			parts = append(parts, part{w.Theft * f.Confidence, fmt.Sprintf("theft suspected on %s (%.2f)", f.Meter, f.Confidence)})
		case anomaly.MovedMeter:
			where := "another area"
			if f.Other != "" {
				where = f.Other
			}
			parts = append(parts, part{w.Moved * f.Confidence, fmt.Sprintf("meter %s archived in %s seems to be in %s", f.Meter, f.Area, where)})
		case anomaly.CoverOpened, anomaly.ReverseEnergy:
			parts = append(parts, part{w.Tamper * f.Confidence, fmt.Sprintf("%s on %s (%.2f)", strings.ReplaceAll(string(f.Kind), "_", " "), f.Meter, f.Confidence)})
		default:
			other += w.Flag
			otherKinds = append(otherKinds, string(f.Kind)+" "+f.Meter)
		}
	}
	if len(otherKinds) > 0 {
		parts = append(parts, part{min(other, w.FlagCap), fmt.Sprintf("%d flags: %s", len(otherKinds), joinMax(otherKinds, 3))})
	}
	if rk != nil {
		it.Evidence = append(it.Evidence, rankingFinding(rk, loc, 5))
		if len(rk.Candidates) > 0 && rk.Candidates[0].Score > 0 && !theftFlagged[rk.Candidates[0].Meter] {
			c := &rk.Candidates[0]
			parts = append(parts, part{w.Ranking * c.Score, fmt.Sprintf("theft ranking suspects %s (%.2f)", c.Meter, c.Score)})
		}
	}
	parts = findingParts(it, w, parts, fs)
	if verifyDue != nil {
		if am, ok := ix.AreaMeter(st.a.ID); ok {
			if due := verifyDue(am); !due.IsZero() && due.Before(to) && !hasRule(fs, am.Address, "verif") {
				it.Evidence = append(it.Evidence, Finding{Rule: "verification_overdue", Severity: Medium, Area: st.a.ID, Meter: am.Address,
					Day: due.In(loc).Format(time.DateOnly), Summary: "area meter " + am.Address + " was due for verification on " + due.In(loc).Format(time.DateOnly),
					Evidence: []Evidence{{What: "verification due", Meter: am.Address, Time: due.In(loc).Format(time.DateOnly)}}})
				parts = append(parts, part{w.Overdue, "area meter verification overdue"})
			}
		}
	}
	if f, share, ok := missing(st, loc); ok {
		it.Evidence = append(it.Evidence, f)
		parts = append(parts, part{share * w.Missing, f.Summary})
	}
	return parts
}

// collectionRules are the review's rules about data collection rather
// than the archive or the meters (analysis/review).
var collectionRules = map[string]bool{"read_without_frame": true, "read_rate_low": true, "read_gap": true, "never_answers": true,
	"estimated_repeating": true, "estimated_weekly_pattern": true}

// perRule is how many findings of one rule an item lists.
const perRule = 5

// findingParts attaches the archive review's findings, at most perRule
// of each rule (the most severe first), and scores each rule once, for
// its most severe finding: a rule that holds for every meter of an area
// weighs as much as one that holds for one.
func findingParts(it *Item, w Weights, parts []part, fs []Finding) []part {
	fs = slices.Clone(fs)
	slices.SortStableFunc(fs, func(a, b Finding) int { return cmp.Compare(sevOrder(a.Severity), sevOrder(b.Severity)) })
	var rules []string
	by := map[string][]Finding{}
	seen := map[string]bool{}
	for _, f := range fs {
		// the review and the archive checks both report an exchange
		if k := f.Rule + "|" + f.Meter + "|" + f.Day + "|" + f.Summary; seen[k] {
			continue
		} else {
			seen[k] = true
		}
		if _, ok := by[f.Rule]; !ok {
			rules = append(rules, f.Rule)
		}
		by[f.Rule] = append(by[f.Rule], f)
	}
	for _, rule := range rules {
		g := by[rule]
		pts := w.Low
		switch g[0].Severity {
		case High:
			pts = w.High
		case Medium:
			pts = w.Medium
		}
		if collectionRules[rule] {
			pts *= w.Collection
		}
		say := rule
		if g[0].Meter != "" {
			say += " " + g[0].Meter
		}
		if len(g) > 1 {
			say += fmt.Sprintf(" and %d more", len(g)-1)
		}
		parts = append(parts, part{pts, "archive: " + say})
		if len(g) > perRule {
			rest := len(g) - perRule
			g = append(g[:perRule:perRule], Finding{Rule: rule, Severity: Low, Area: g[0].Area,
				Summary: fmt.Sprintf("and %d more findings of %s", rest, rule)})
		}
		it.Evidence = append(it.Evidence, g...)
	}
	return parts
}

func flagOrder(k anomaly.Kind) int {
	switch k {
	case anomaly.Theft:
		return 0
	case anomaly.MovedMeter:
		return 1
	}
	return 2
}

func hasRule(fs []Finding, meter, sub string) bool {
	return slices.ContainsFunc(fs, func(f Finding) bool { return f.Meter == meter && strings.Contains(f.Rule, sub) })
}

// missing is the evidence of the month's missing reads: customer
// meter-days without a usable read, days the area meter had none, and the
// meters missing most; share is the percentage of meter-days missing.
func missing(st *areaStat, loc *time.Location) (Finding, float64, bool) {
	expected, miss, amDays := 0, 0, 0
	byMeter := map[string]int{}
	for _, r := range st.all {
		expected += r.Expected
		miss += r.Missing
		if r.AreaMeter != nil { // nil: the archive names no area meter
			expected++
			if r.AreaMeter.Status == loss.StatusMissing {
				miss++
				amDays++
				byMeter[r.AreaMeter.Meter]++
			}
		}
		for i := range r.Meters {
			if r.Meters[i].Status == loss.StatusMissing {
				byMeter[r.Meters[i].Meter]++
			}
		}
	}
	if miss == 0 || expected == 0 {
		return Finding{}, 0, false
	}
	share := float64(miss) / float64(expected) * 100
	sev := Low
	switch {
	case share >= 20 || amDays > 0:
		sev = High
	case share >= 5:
		sev = Medium
	}
	f := Finding{Rule: "missing_reads", Severity: sev, Area: st.a.ID,
		Summary: fmt.Sprintf("%d of %d meter-days without a usable read (%.1f %%)", miss, expected, share)}
	if amDays > 0 {
		f.Summary += fmt.Sprintf(", the area meter's on %d days", amDays)
	}
	type mc struct {
		m string
		n int
	}
	var ms []mc
	for m, n := range byMeter {
		ms = append(ms, mc{m, n})
	}
	slices.SortFunc(ms, func(a, b mc) int { return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.m, b.m)) })
	for i, x := range ms {
		if i == 10 {
			f.Evidence = append(f.Evidence, Evidence{What: fmt.Sprintf("and %d more meters", len(ms)-10)})
			break
		}
		f.Evidence = append(f.Evidence, Evidence{What: "days without a usable read", Meter: x.m, Value: fmt.Sprint(x.n), Unit: "days"})
	}
	return f, share, true
}

// lines scores the feeder lines from their areas' sums.
func lines(areas []archive.Area, stats map[string]*areaStat, ts assess.Targets, upper loss.Decimal, w Weights, from, prevFrom time.Time) []Item {
	var feeders []string
	by := map[string][]*areaStat{}
	for i := range areas {
		f := areas[i].Feeder
		if f == "" {
			continue
		}
		if _, ok := by[f]; !ok {
			feeders = append(feeders, f)
		}
		by[f] = append(by[f], stats[areas[i].ID])
	}
	var out []Item
	for _, f := range feeders {
		var supply, lossE, psupply, ploss loss.Decimal
		days, pdays := 0, 0
		expl := 0.0
		num, den := new(big.Rat), new(big.Rat)
		it := Item{Kind: KindLine, Target: f}
		for _, st := range by[f] {
			supply, _ = loss.Add(supply, st.supply)
			lossE, _ = loss.Add(lossE, st.lossE)
			psupply, _ = loss.Add(psupply, st.psupply)
			ploss, _ = loss.Add(ploss, st.ploss)
			days = max(days, len(st.cur))
			pdays = max(pdays, len(st.prev))
			expl += st.explained
			num.Add(num, new(big.Rat).Mul(rat(st.threshold), rat(st.supply)))
			den.Add(den, rat(st.supply))
			sev := Low
			if st.item.Score >= 4 {
				sev = High
			} else if st.item.Score >= 1 {
				sev = Medium
			}
			sum := fmt.Sprintf("area %s: score %.2f", st.a.ID, st.item.Score)
			if st.item.Rate != "" {
				sum += fmt.Sprintf(", loss %s %% (target %s %%)", st.item.Rate, st.item.Threshold)
			}
			if st.item.Summary != "" {
				sum += "; " + st.item.Summary
			}
			it.Evidence = append(it.Evidence, Finding{Rule: "line_area", Severity: sev, Area: st.a.ID, Summary: sum})
		}
		slices.SortStableFunc(it.Evidence, func(a, b Finding) int { return cmp.Compare(sevOrder(a.Severity), sevOrder(b.Severity)) })
		threshold := upper
		if t, ok := feederTarget(ts, f, from); ok {
			threshold = t
		} else if den.Sign() > 0 {
			threshold = roundRat(num.Quo(num, den), 2)
		}
		parts := rateParts(&it, w, nil, supply, lossE, psupply, ploss, days, pdays, expl, threshold, prevFrom)
		finish(&it, parts)
		out = append(out, it)
	}
	return out
}

func sevOrder(s string) int {
	switch s {
	case High:
		return 0
	case Medium:
		return 1
	}
	return 2
}

func feederTarget(ts assess.Targets, feeder string, at time.Time) (loss.Decimal, bool) {
	for i := range ts {
		if t := &ts[i]; t.Scope == assess.ScopeFeeder && t.Value == feeder && t.Applies(at) {
			return t.Rate, true
		}
	}
	return loss.Decimal{}, false
}

func rat(d loss.Decimal) *big.Rat {
	return new(big.Rat).SetFrac(big.NewInt(d.Units), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale)), nil))
}

func roundRat(r *big.Rat, places uint8) loss.Decimal {
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)))
	num, den := new(big.Int).Abs(scaled.Num()), scaled.Denom()
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if m.Lsh(m, 1).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if scaled.Sign() < 0 {
		q.Neg(q)
	}
	return loss.Decimal{Units: q.Int64(), Scale: places}
}
