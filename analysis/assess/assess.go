package assess

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/archive"
)

// By is what an assessment has a row for.
type By string

// Assessment rows.
const (
	ByArea        By = "area"
	ByResponsible By = "responsible"
)

// Input is what a month's assessment is made from.
type Input struct {
	Archive *archive.Index
	Targets Targets
	// Month is any time in the month assessed, in the zone its days
	// begin in.
	Month time.Time
	// Balances are the areas' balances: the daily ones of the month and
	// of the month before, and monthly ones of either if there are. Others
	// are ignored.
	Balances []loss.Result
	// Places is the number of decimals of rates (0: 2).
	Places uint8
}

// Row is one area's or one person's assessment.
type Row struct {
	Key         string   // the area ID, or the person ("" for areas nobody is responsible for)
	Name        string   // the area's name
	Responsible string   // the area's person; the person for a person's row
	Areas       []string // a person's areas

	Target      loss.Decimal // loss-rate target, %
	HasTarget   bool
	TargetFrom  string       // the target's scope and where it was read, or "weighted by supply over N areas"
	Actual      loss.Decimal // the month's loss rate, %
	HasActual   bool         // the month's balance is computable
	Qualified   bool         // HasTarget, HasActual and Actual ≤ Target
	Previous    loss.Decimal // the month before's loss rate, %
	HasPrevious bool
	Change      loss.Decimal // Actual − Previous, percentage points
	HasChange   bool
	// Collection is the collection success rate, %: customer meters read
	// (not estimated) over customer meters expected, over the month's
	// daily balances.
	Collection    loss.Decimal
	HasCollection bool

	Supply, Sales, Loss  loss.Decimal // the month's sums, kWh
	Days, ComputableDays int          // daily balances of the month, and computable ones
	Source               string       // "monthly" (the month's own balance), "daily" (sum of computable days), or ""
}

// Report is a month's assessment.
type Report struct {
	Period   string // "2025-06"
	From, To time.Time
	By       By
	Rows     []Row // areas in archive order, persons by name
	// Qualified, Assessed count the rows qualified and the rows with both
	// a target and an actual rate.
	Qualified, Assessed int
}

// figures is one area's balance over one month.
type figures struct {
	supply, sales, loss loss.Decimal
	rate                loss.Decimal
	ok                  bool
	days, computable    int
	read, expected      int
	source              string
}

// Assess makes the month's report by area or by responsible person.
//
// An area's actual rate is its monthly balance's when it has a computable
// one, else the rate of the sums of its computable daily balances (none
// computable: no actual). A person's figures are the sums of their areas'
// figures (with daily balances only, the responsible roll-up's), and the target is the group
// target responsible:NAME when there is one, else the supply-weighted mean
// of the targets of their areas with a target and an actual. The change
// is the difference of the rounded rates as shown.
func Assess(in Input, by By) (Report, error) {
	if by != ByArea && by != ByResponsible {
		return Report{}, fmt.Errorf("assess: by %q: want area or responsible", by)
	}
	places := in.Places
	if places == 0 {
		places = 2
	}
	loc := in.Month.Location()
	from := time.Date(in.Month.Year(), in.Month.Month(), 1, 0, 0, 0, 0, loc)
	to := from.AddDate(0, 1, 0)
	prev := from.AddDate(0, -1, 0)
	rep := Report{Period: from.Format("2006-01"), From: from, To: to, By: by}
	ix := in.Archive
	if ix == nil {
		ix = (&archive.Archive{}).Index()
	}
	cur := monthly(in.Balances, from, to, places)
	old := monthly(in.Balances, prev, from, places)
	areas := ix.Archive().Areas
	if by == ByArea {
		for i := range areas {
			a := &areas[i]
			row := Row{Key: a.ID, Name: a.Name, Responsible: a.Responsible}
			fill(&row, cur[a.ID], old[a.ID])
			if t, ok := in.Targets.For(a, from); ok {
				row.Target, row.HasTarget, row.TargetFrom = t.Rate, true, t.Name()+" ("+t.Where+")"
			}
			rep.add(row)
		}
		return rep, nil
	}
	persons := map[string][]*archive.Area{}
	var names []string
	for i := range areas {
		a := &areas[i]
		if _, ok := persons[a.Responsible]; !ok {
			names = append(names, a.Responsible)
		}
		persons[a.Responsible] = append(persons[a.Responsible], a)
	}
	slices.Sort(names)
	for _, name := range names {
		row := Row{Key: name, Responsible: name}
		var c, o []*figures
		num, den := new(big.Rat), new(big.Rat)
		weighted := 0
		for _, a := range persons[name] {
			row.Areas = append(row.Areas, a.ID)
			c, o = append(c, cur[a.ID]), append(o, old[a.ID])
			f := cur[a.ID]
			if t, ok := in.Targets.For(a, from); ok && f != nil && f.ok {
				num.Add(num, new(big.Rat).Mul(rat(t.Rate), rat(f.supply)))
				den.Add(den, rat(f.supply))
				weighted++
			}
		}
		fill(&row, sum(c, places), sum(o, places))
		if t, ok := in.Targets.Person(name, from); ok {
			row.Target, row.HasTarget, row.TargetFrom = t.Rate, true, t.Name()+" ("+t.Where+")"
		} else if weighted > 0 && den.Sign() > 0 {
			row.Target, row.HasTarget = roundRat(num.Quo(num, den), places), true
			row.TargetFrom = fmt.Sprintf("weighted by supply over %d of %d areas", weighted, len(row.Areas))
		}
		rep.add(row)
	}
	return rep, nil
}

// HasFigures reports whether the row's supply, sales and loss sum any
// balance: a computable day, or the month's own balance.
func (r *Row) HasFigures() bool { return r.ComputableDays > 0 || r.Source == "monthly" }

func (rep *Report) add(row Row) {
	row.Qualified = row.HasTarget && row.HasActual && loss.Cmp(row.Actual, row.Target) <= 0
	if row.HasTarget && row.HasActual {
		rep.Assessed++
		if row.Qualified {
			rep.Qualified++
		}
	}
	rep.Rows = append(rep.Rows, row)
}

func fill(row *Row, cur, old *figures) {
	if cur != nil {
		row.Supply, row.Sales, row.Loss = cur.supply, cur.sales, cur.loss
		row.Actual, row.HasActual = cur.rate, cur.ok
		row.Days, row.ComputableDays, row.Source = cur.days, cur.computable, cur.source
		if cur.expected > 0 {
			row.Collection, row.HasCollection = loss.Percent(loss.Decimal{Units: int64(cur.read)}, loss.Decimal{Units: int64(cur.expected)}, 1)
		}
	}
	if old != nil && old.ok {
		row.Previous, row.HasPrevious = old.rate, true
	}
	if row.HasActual && row.HasPrevious {
		row.Change, row.HasChange = loss.Sub(row.Actual, row.Previous)
	}
}

// Figure is an area's loss over a period: the one figure the loss list,
// the assessment and the inspection list show for that area and period.
type Figure struct {
	Supply, Sales, Loss loss.Decimal // kWh
	Rate                loss.Decimal // %, 2 decimals; HasRate false: not computable
	HasRate             bool
	Days, Computable    int    // daily balances in the period, and computable ones
	Read, Expected      int    // meter reads over the days (collection rate)
	Source              string // "daily" (the sums of the computable days) or "monthly" (the month's balance)
}

// Class is the figure's class under c's bounds: not computable without
// a rate.
func (f Figure) Class(c loss.Config) loss.Class {
	switch {
	case !f.HasRate:
		return loss.NotComputable
	case loss.Sign(f.Rate) < 0:
		return loss.Negative
	case loss.Cmp(f.Rate, c.Upper) > 0:
		return loss.High
	case c.Low != nil && loss.Cmp(f.Rate, *c.Low) < 0:
		return loss.Low
	}
	return loss.Qualified
}

// Figures returns each area's figure over the days [from, to): the
// month's own balance when the period is exactly a month that has a
// computable one, else the rate of the sums of the computable daily
// balances.
func Figures(rs []loss.Result, from, to time.Time) map[string]Figure {
	out := map[string]Figure{}
	for area, f := range monthly(rs, from, to, 2) {
		out[area] = Figure{Supply: f.supply, Sales: f.sales, Loss: f.loss, Rate: f.rate, HasRate: f.ok,
			Days: f.days, Computable: f.computable, Read: f.read, Expected: f.expected, Source: f.source}
	}
	return out
}

// monthly returns each area's figures over [from, to).
func monthly(rs []loss.Result, from, to time.Time, places uint8) map[string]*figures {
	daily := map[string]*figures{}
	month := map[string]*figures{}
	for i := range rs {
		r := &rs[i]
		if r.Period.Start.Before(from) || !r.Period.Start.Before(to) {
			continue
		}
		switch r.Period.Kind {
		case loss.Daily:
			f := daily[r.Area]
			if f == nil {
				f = &figures{source: "daily"}
				daily[r.Area] = f
			}
			f.days++
			f.read += r.Read
			f.expected += r.Expected
			if r.Class.Computable() {
				f.computable++
				f.supply, _ = loss.Add(f.supply, r.Supply)
				f.sales, _ = loss.Add(f.sales, r.Sales)
			}
		case loss.Monthly:
			// the month's own balance only for exactly that month
			if r.Class.Computable() && r.Period.Start.Equal(from) && to.Equal(from.AddDate(0, 1, 0)) {
				month[r.Area] = &figures{supply: r.Supply, sales: r.Sales, source: "monthly", read: r.Read, expected: r.Expected}
			}
		}
	}
	for area, m := range month {
		if d := daily[area]; d != nil {
			// the collection rate is the days'; the balance the month's
			m.days, m.computable, m.read, m.expected = d.days, d.computable, d.read, d.expected
		}
		daily[area] = m
	}
	for _, f := range daily {
		f.finish(places)
	}
	return daily
}

func (f *figures) finish(places uint8) {
	f.loss, _ = loss.Sub(f.supply, f.sales)
	if (f.source == "monthly" || f.computable > 0) && loss.Sign(f.supply) > 0 {
		f.rate, f.ok = loss.Percent(f.loss, f.supply, places)
	}
}

// sum adds areas' figures up (nil ones are areas with no balance).
func sum(fs []*figures, places uint8) *figures {
	var out *figures
	sources := map[string]bool{}
	for _, f := range fs {
		if f == nil {
			continue
		}
		if out == nil {
			out = &figures{}
		}
		out.days += f.days
		out.read += f.read
		out.expected += f.expected
		if f.source == "monthly" || f.computable > 0 {
			out.computable += f.computable
			out.supply, _ = loss.Add(out.supply, f.supply)
			out.sales, _ = loss.Add(out.sales, f.sales)
			sources[f.source] = true
		}
	}
	if out == nil {
		return nil
	}
	var src []string
	for s := range sources {
		src = append(src, s)
	}
	slices.Sort(src)
	out.source = strings.Join(src, "+")
	out.loss, _ = loss.Sub(out.supply, out.sales)
	if len(src) > 0 && loss.Sign(out.supply) > 0 {
		out.rate, out.ok = loss.Percent(out.loss, out.supply, places)
	}
	return out
}

func rat(d loss.Decimal) *big.Rat {
	return new(big.Rat).SetFrac(big.NewInt(d.Units), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale)), nil))
}

// roundRat rounds r half away from zero to places decimals.
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
