package analysistest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/sim/model"
)

// FlagOf is the flag a planted fault should raise.
var FlagOf = map[model.FaultKind]anomaly.Kind{
	model.FaultTheft: anomaly.Theft, model.FaultStopped: anomaly.Stopped, model.FaultReverseWiring: anomaly.ReverseEnergy,
	model.FaultJump: anomaly.RegisterJump, model.FaultBackwards: anomaly.RegisterBack, model.FaultClockDrift: anomaly.ClockDrift,
	model.FaultPhaseLoss: anomaly.PhaseLoss, model.FaultCoverOpen: anomaly.CoverOpened, model.FaultMoved: anomaly.MovedMeter,
	model.WireNoAnswer: anomaly.NoAnswer,
}

// Truth is what a scored run is compared with.
type Truth struct {
	Planted []model.Planted
	Meters  []string          // every meter of the fleet, area meters included
	Areas   []model.AreaTruth // the fleet's true daily balances
}

// TruthOf is the truth of a varied fleet after its run.
func TruthOf(v model.Variation, fl *model.Fleet) Truth {
	tr := Truth{Planted: v.Planted, Areas: fl.Truth(model.TruthOptions{}).Areas}
	for _, m := range fl.Meters() {
		tr.Meters = append(tr.Meters, m.Address)
	}
	return tr
}

// Score is how the flags, rankings and balances published morning by
// morning compare with the truth. Scores add up over scenarios ([Score.Add]).
type Score struct {
	Scenarios int
	// Kinds by flag kind, and by kind and variant ("no_answer (dead)").
	Kinds map[string]*KindScore
	// Theft by theft size (TheftBuckets).
	Theft map[string]*TheftScore
	// Scenarios whose thieves of 20 % or more were all in their area's
	// top 3 within 7 days (of those with such a thief), and whose thieves
	// were all there within 14 days.
	Theft20In7, Theft20Scenarios, TheftAllIn14, TheftScenarios int
	// Complete are the area-days first published with every customer
	// read; Published every area-day first published (estimates
	// included), each as the next morning showed it; Final every
	// area-day as it stood after the last run.
	Complete, Published, Final LossScore
	// Unpublished area-days: no computable figure the next morning.
	Unpublished int
	// OffWhy counts the published next-morning area-days off by more
	// than 0.5 points by what the day had: a register jump or decrease,
	// customers missing (left out), customers estimated, or none of these.
	OffWhy map[string]int
	// Clean meters (nothing planted) and those flagged on any morning;
	// WorstClean the largest share flagged in one scenario.
	CleanMeters, CleanFlagged int
	WorstClean                float64
	// Intermittent meters (single days unanswered) and those flagged.
	Intermittent, IntermittentFlagged int
	Misses                            []string
}

// KindScore is one flag kind's figures. A planted fault is found when a
// morning run shows a flag of its kind on its meter; its delay is that
// morning's day less its onset day (1: the next morning).
type KindScore struct {
	Planted, Within1, Within3, Found int
	Delays                           []int // of those found
	// Raised flags (distinct kind, area, meter and other area over all
	// mornings), and those on a meter planted with a fault of the kind.
	Raised, OnPlanted int
}

// TheftScore counts thieves of one size and those in their area's top 3
// (score above 0) in a morning run within 7 and 14 days of onset.
type TheftScore struct{ Thieves, In7, In14 int }

// LossScore compares published loss rates with the truth.
type LossScore struct {
	Within int       // within 0.5 points
	Off    []float64 // |published − true| of each area-day, points
}

// TheftBuckets are the theft sizes scored apart, by lower bound.
var TheftBuckets = []struct {
	Name string
	From float64
}{{"10–20 %", 0.10}, {"20–30 %", 0.20}, {"30–45 %", 0.30}, {"45–60 %", 0.45}}

func bucket(f float64) string {
	name := TheftBuckets[0].Name
	for _, b := range TheftBuckets {
		if f >= b.From-1e-9 {
			name = b.Name
		}
	}
	return name
}

func (l *LossScore) add(diff float64) {
	l.Off = append(l.Off, diff)
	if diff <= 0.5 {
		l.Within++
	}
}

func (l *LossScore) merge(o LossScore) {
	l.Within += o.Within
	l.Off = append(l.Off, o.Off...)
}

// days is the whole days from a to b.
func days(a, b time.Time) int { return int(math.Round(b.Sub(a).Hours() / 24)) }

// Grade scores the mornings of one scenario against its truth.
func Grade(tr Truth, mornings []Morning, final []loss.Result) Score {
	s := Score{Scenarios: 1, Kinds: map[string]*KindScore{}, Theft: map[string]*TheftScore{}, OffWhy: map[string]int{}}
	kind := func(name string) *KindScore {
		if s.Kinds[name] == nil {
			s.Kinds[name] = &KindScore{}
		}
		return s.Kinds[name]
	}
	planted := map[string]bool{}      // meter
	plantedKind := map[string]bool{}  // flag kind | meter
	intermittent := map[string]bool{} // meter
	for _, p := range tr.Planted {
		planted[p.Meter] = true
		if p.Variant == "intermittent" {
			intermittent[p.Meter] = true
		}
		if k, ok := FlagOf[p.Kind]; ok {
			plantedKind[string(k)+"|"+p.Meter] = true
		}
	}
	// the flags: each planted fault's first morning
	for _, p := range tr.Planted {
		k, ok := FlagOf[p.Kind]
		if !ok {
			continue
		}
		names := []string{string(k)}
		if p.Variant != "" {
			names = append(names, fmt.Sprintf("%s (%s)", k, p.Variant))
		}
		delay := -1
		for _, m := range mornings {
			if !m.Today.After(p.Onset) {
				continue
			}
			for _, f := range m.Flags {
				if f.Kind == k && f.Meter == p.Meter && !f.End.Before(p.Onset.AddDate(0, 0, -1)) {
					delay = days(p.Onset, m.Today)
					break
				}
			}
			if delay >= 0 {
				break
			}
		}
		for _, n := range names {
			ks := kind(n)
			ks.Planted++
			if delay >= 0 {
				ks.Found++
				ks.Delays = append(ks.Delays, delay)
				if delay <= 1 {
					ks.Within1++
				}
				if delay <= 3 {
					ks.Within3++
				}
			}
		}
		what := fmt.Sprintf("%s on %s (area %s) from day %d", p.Kind, p.Meter, p.Area, p.Day)
		if p.Variant != "" {
			what += " (" + p.Variant + ")"
		}
		switch {
		case delay < 0:
			s.Misses = append(s.Misses, what+": never flagged")
		case delay > 1 && k != anomaly.Theft:
			s.Misses = append(s.Misses, fmt.Sprintf("%s: flagged after %d days", what, delay))
		}
	}
	// the flags raised, their precision, and the meters flagged
	raised := map[string]bool{}
	flagged := map[string]bool{}
	for _, m := range mornings {
		for _, f := range m.Flags {
			key := strings.Join([]string{string(f.Kind), f.Area, f.Meter, f.Other}, "|")
			if f.Meter != "" {
				flagged[f.Meter] = true
			}
			if raised[key] {
				continue
			}
			raised[key] = true
			ks := kind(string(f.Kind))
			ks.Raised++
			if f.Meter != "" && plantedKind[string(f.Kind)+"|"+f.Meter] {
				ks.OnPlanted++
			}
		}
	}
	clean, cleanFlagged := 0, 0
	for _, m := range tr.Meters {
		switch {
		case intermittent[m] && len(plantedOf(tr.Planted, m)) == 1:
			s.Intermittent++
			if flagged[m] {
				s.IntermittentFlagged++
			}
		case !planted[m]:
			clean++
			if flagged[m] {
				cleanFlagged++
			}
		}
	}
	s.CleanMeters, s.CleanFlagged = clean, cleanFlagged
	if clean > 0 {
		s.WorstClean = float64(cleanFlagged) / float64(clean)
	}
	// theft: the area's top 3 within 7 and 14 days
	s20, s20ok, sAll, sAllOK := false, true, false, true
	for _, p := range tr.Planted {
		if p.Kind != model.FaultTheft {
			continue
		}
		first := -1
		for _, m := range mornings {
			if !m.Today.After(p.Onset) {
				continue
			}
			for _, rk := range m.Theft {
				if rk.Area != p.Area {
					continue
				}
				for i := 0; i < len(rk.Candidates) && i < 3; i++ {
					if c := rk.Candidates[i]; c.Meter == p.Meter && c.Score > 0 {
						first = days(p.Onset, m.Today)
					}
				}
			}
			if first >= 0 {
				break
			}
		}
		b := bucket(p.Fraction)
		if s.Theft[b] == nil {
			s.Theft[b] = &TheftScore{}
		}
		ts := s.Theft[b]
		ts.Thieves++
		in7, in14 := first >= 0 && first <= 7, first >= 0 && first <= 14
		if in7 {
			ts.In7++
		}
		if in14 {
			ts.In14++
		}
		sAll = true
		sAllOK = sAllOK && in14
		if p.Fraction >= 0.2 {
			s20 = true
			s20ok = s20ok && in7
		}
		if !in7 {
			what := fmt.Sprintf("theft of %.0f %% on %s (area %s) from day %d", 100*p.Fraction, p.Meter, p.Area, p.Day)
			if in14 {
				s.Misses = append(s.Misses, fmt.Sprintf("%s: top 3 after %d days", what, first))
			} else {
				s.Misses = append(s.Misses, what+": not in the top 3 within 14 days")
			}
		}
	}
	if s20 {
		s.Theft20Scenarios = 1
		if s20ok {
			s.Theft20In7 = 1
		}
	}
	if sAll {
		s.TheftScenarios = 1
		if sAllOK {
			s.TheftAllIn14 = 1
		}
	}
	// loss
	want := wantLoss(tr)
	oneOff := map[string]bool{} // area|date of a register jump or decrease
	for _, p := range tr.Planted {
		if p.Kind == model.FaultJump || p.Kind == model.FaultBackwards {
			oneOff[p.Area+"|"+p.Onset.Format(time.DateOnly)] = true
		}
	}
	var lastDiff float64
	score := func(r *loss.Result, into ...*LossScore) bool {
		w, ok := want[r.Area+"|"+r.Period.Start.Format(time.DateOnly)]
		if !ok {
			return true // not a complete day of the truth
		}
		supply := r.Supply.Float64()
		if !r.Class.Computable() || !r.HasRate || supply <= 0 {
			return false
		}
		diff := math.Abs(r.Rate.Float64() - 100*w/supply)
		lastDiff = diff
		for _, l := range into {
			l.add(diff)
		}
		return true
	}
	for _, m := range mornings {
		got := map[string]bool{}
		for i := range m.Loss {
			r := &m.Loss[i]
			got[r.Area] = true
			into := []*LossScore{&s.Published}
			if r.Missing == 0 && r.Estimated == 0 {
				into = append(into, &s.Complete)
			}
			lastDiff = 0
			if !score(r, into...) {
				s.Unpublished++
			}
			if lastDiff > 0.5 {
				switch {
				case oneOff[r.Area+"|"+r.Period.Start.Format(time.DateOnly)]:
					s.OffWhy["a register jump or decrease that day"]++
				case r.Missing > 0:
					s.OffWhy["customers missing (left out)"]++
				case r.Estimated > 0:
					s.OffWhy["customers estimated"]++
				default:
					s.OffWhy["every customer read"]++
				}
			}
		}
		date := m.Today.AddDate(0, 0, -1).Format(time.DateOnly)
		for _, a := range tr.Areas {
			if _, ok := want[a.ID+"|"+date]; ok && !got[a.ID] {
				s.Unpublished++
			}
		}
	}
	if len(mornings) > 0 {
		from, to := mornings[0].Today.AddDate(0, 0, -1), mornings[len(mornings)-1].Today
		for i := range final {
			if r := &final[i]; !r.Period.Start.Before(from) && r.Period.Start.Before(to) {
				score(r, &s.Final)
			}
		}
	}
	return s
}

func plantedOf(ps []model.Planted, meter string) []model.Planted {
	var out []model.Planted
	for _, p := range ps {
		if p.Meter == meter {
			out = append(out, p)
		}
	}
	return out
}

// wantLoss is the loss (kWh) each complete area-day should be published
// with, by "area|date": supply less registered sales, as the truth has it
// (technical loss, theft, and what faulty meters failed to register),
// less the one-off register jumps and decreases, which the head-end is to
// hold back from the balance rather than publish.
func wantLoss(tr Truth) map[string]float64 {
	out := map[string]float64{}
	for _, a := range tr.Areas {
		for _, d := range a.Days {
			if d.Complete {
				out[a.ID+"|"+d.Date] = d.ExpectedLoss
			}
		}
	}
	for _, p := range tr.Planted {
		k := p.Area + "|" + p.Onset.Format(time.DateOnly)
		if _, ok := out[k]; !ok {
			continue
		}
		e := float64(p.Amount) * float64(max(p.Multiplier, 1)) / 100
		switch p.Kind {
		case model.FaultJump:
			out[k] += e
		case model.FaultBackwards:
			out[k] -= e
		}
	}
	return out
}

// Add adds another scenario's score.
func (s *Score) Add(o Score) {
	if s.Kinds == nil {
		s.Kinds = map[string]*KindScore{}
	}
	if s.Theft == nil {
		s.Theft = map[string]*TheftScore{}
	}
	s.Scenarios += o.Scenarios
	for k, v := range o.Kinds {
		if s.Kinds[k] == nil {
			s.Kinds[k] = &KindScore{}
		}
		x := s.Kinds[k]
		x.Planted += v.Planted
		x.Within1 += v.Within1
		x.Within3 += v.Within3
		x.Found += v.Found
		x.Delays = append(x.Delays, v.Delays...)
		x.Raised += v.Raised
		x.OnPlanted += v.OnPlanted
	}
	for k, v := range o.Theft {
		if s.Theft[k] == nil {
			s.Theft[k] = &TheftScore{}
		}
		x := s.Theft[k]
		x.Thieves += v.Thieves
		x.In7 += v.In7
		x.In14 += v.In14
	}
	s.Theft20In7 += o.Theft20In7
	s.Theft20Scenarios += o.Theft20Scenarios
	s.TheftAllIn14 += o.TheftAllIn14
	s.TheftScenarios += o.TheftScenarios
	s.Complete.merge(o.Complete)
	s.Published.merge(o.Published)
	s.Final.merge(o.Final)
	s.Unpublished += o.Unpublished
	if s.OffWhy == nil {
		s.OffWhy = map[string]int{}
	}
	for k, v := range o.OffWhy {
		s.OffWhy[k] += v
	}
	s.CleanMeters += o.CleanMeters
	s.CleanFlagged += o.CleanFlagged
	s.WorstClean = max(s.WorstClean, o.WorstClean)
	s.Intermittent += o.Intermittent
	s.IntermittentFlagged += o.IntermittentFlagged
	s.Misses = append(s.Misses, o.Misses...)
}

func pct(n, d int) string {
	if d == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f %%", 100*float64(n)/float64(d))
}

func median[T int | float64](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// Table is the score as BENCHMARKS.md shows it (Markdown).
func (s Score) Table() string {
	var b strings.Builder
	names := make([]string, 0, len(s.Kinds))
	for k := range s.Kinds {
		names = append(names, k)
	}
	slices.Sort(names)
	b.WriteString("| flag | planted | by the next morning | within 3 days | ever | median delay, days | raised | on a planted fault | precision |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, n := range names {
		k := s.Kinds[n]
		rec1, rec3, ever, delay := "–", "–", "–", "–"
		if k.Planted > 0 {
			rec1 = fmt.Sprintf("%d (%s)", k.Within1, pct(k.Within1, k.Planted))
			rec3 = fmt.Sprintf("%d (%s)", k.Within3, pct(k.Within3, k.Planted))
			ever = fmt.Sprintf("%d (%s)", k.Found, pct(k.Found, k.Planted))
		}
		if len(k.Delays) > 0 {
			delay = fmt.Sprint(median(k.Delays))
		}
		prec, raised, on := "–", "–", "–"
		if !strings.Contains(n, "(") {
			raised, on = fmt.Sprint(k.Raised), fmt.Sprint(k.OnPlanted)
			if k.Raised > 0 {
				prec = pct(k.OnPlanted, k.Raised)
			}
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", n, k.Planted, rec1, rec3, ever, delay, raised, on, prec)
	}
	b.WriteString("\n| theft size | thieves | top 3 within 7 days | top 3 within 14 days |\n|---|---|---|---|\n")
	var all TheftScore
	for _, tb := range TheftBuckets {
		t := s.Theft[tb.Name]
		if t == nil {
			t = &TheftScore{}
		}
		all.Thieves += t.Thieves
		all.In7 += t.In7
		all.In14 += t.In14
		fmt.Fprintf(&b, "| %s | %d | %d (%s) | %d (%s) |\n", tb.Name, t.Thieves, t.In7, pct(t.In7, t.Thieves), t.In14, pct(t.In14, t.Thieves))
	}
	fmt.Fprintf(&b, "| all | %d | %d (%s) | %d (%s) |\n", all.Thieves, all.In7, pct(all.In7, all.Thieves), all.In14, pct(all.In14, all.Thieves))
	fmt.Fprintf(&b, "\nscenarios with every thief of 20 %% or more in the top 3 within 7 days: %d of %d; every thief within 14 days: %d of %d\n",
		s.Theft20In7, s.Theft20Scenarios, s.TheftAllIn14, s.TheftScenarios)
	b.WriteString("\n| loss | area-days | within 0.5 pp | median off, pp | worst, pp |\n|---|---|---|---|---|\n")
	for _, l := range []struct {
		name string
		l    LossScore
	}{{"complete days (no customer missing or estimated), next morning", s.Complete},
		{"published days (estimates included), next morning", s.Published},
		{"published days, after the last run", s.Final}} {
		worst := 0.0
		for _, x := range l.l.Off {
			worst = max(worst, x)
		}
		fmt.Fprintf(&b, "| %s | %d | %d (%s) | %.2f | %.2f |\n", l.name, len(l.l.Off), l.l.Within, pct(l.l.Within, len(l.l.Off)), median(l.l.Off), worst)
	}
	fmt.Fprintf(&b, "\narea-days with no computable figure the next morning: %d\n", s.Unpublished)
	if len(s.OffWhy) > 0 {
		whys := make([]string, 0, len(s.OffWhy))
		for k := range s.OffWhy {
			whys = append(whys, k)
		}
		slices.Sort(whys)
		b.WriteString("published next-morning area-days off by more than 0.5 pp:")
		for i, k := range whys {
			sep := ","
			if i == 0 {
				sep = ""
			}
			fmt.Fprintf(&b, "%s %d with %s", sep, s.OffWhy[k], k)
		}
		b.WriteString("\n")
	}
	share := 0.0
	if s.CleanMeters > 0 {
		share = 100 * float64(s.CleanFlagged) / float64(s.CleanMeters)
	}
	fmt.Fprintf(&b, "clean meters flagged: %d of %d (%.1f %%; worst scenario %.1f %%); intermittent meters flagged: %d of %d\n",
		s.CleanFlagged, s.CleanMeters, share, 100*s.WorstClean, s.IntermittentFlagged, s.Intermittent)
	return b.String()
}
