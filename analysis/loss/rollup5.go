package loss

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/headend/headend/archive"
)

// More roll-up levels (分台区, 分季节, 分责任人).
const (
	ByArea        Level = "area"
	BySeason      Level = "season"
	ByResponsible Level = "responsible"
)

// Levels are the roll-up levels [Summarise] knows.
var Levels = []Level{ByVoltageLevel, ByFeeder, ByArea, BySeason, ByResponsible}

// Sum is one group of a roll-up over a span of periods: the sums of the
// computable balances of the group's areas, whatever their periods, and
// the rate recomputed from them.
type Sum struct {
	Level    Level
	Key      string
	From, To time.Time // the earliest start and latest end of its balances

	Supply, Sales, Loss Decimal // Loss = Supply − Sales
	Rate                Decimal // Loss / Supply × 100 %, when HasRate
	HasRate             bool

	Areas      []string // areas with a balance in the group, by ID
	Balances   int      // balances in the group
	Computable int      // of them computable, summed
	Excluded   []string // the balances left out, "area period-start" (not computable)
	Overflow   bool     // the sums do not fit; figures are zero
}

// Options say how [Summarise] keys balances.
type Options struct {
	// Archive gives each area its responsible person (ByResponsible);
	// an area not in it, or with nobody named, has the key "".
	Archive *archive.Index
	// Seasons names each month's season (BySeason), by the month the
	// balance starts in; nil: [DefaultSeasons].
	Seasons Seasons
	// Places is the number of decimals of the rates (0: 2).
	Places uint8
}

// Summarise rolls rs up by level over all their periods: one Sum per key,
// ordered by key, and the total of every balance. Every group, and the
// total, sums exactly the computable balances it holds and leaves out the
// others, so the groups of every level add up to the same total.
func Summarise(rs []Result, level Level, opt Options) ([]Sum, Sum, error) {
	if opt.Places == 0 {
		opt.Places = 2
	}
	seasons := opt.Seasons
	if seasons == nil {
		seasons = DefaultSeasons()
	}
	if level == BySeason {
		if err := seasons.Check(); err != nil {
			return nil, Sum{}, err
		}
	}
	var key func(r *Result) string
	switch level {
	case ByFeeder:
		key = func(r *Result) string { return r.Feeder }
	case ByVoltageLevel:
		key = func(r *Result) string { return r.VoltageLevel }
	case ByArea:
		key = func(r *Result) string { return r.Area }
	case BySeason:
		key = func(r *Result) string { return seasons[r.Period.Start.Month()] }
	case ByResponsible:
		key = func(r *Result) string {
			if opt.Archive != nil {
				if a, ok := opt.Archive.Area(r.Area); ok {
					return a.Responsible
				}
			}
			return ""
		}
	default:
		return nil, Sum{}, fmt.Errorf("loss: roll-up by %q: want one of %v", level, Levels)
	}
	groups := map[string]*Sum{}
	total := &Sum{Level: level, Key: "total"}
	for i := range rs {
		r := &rs[i]
		k := key(r)
		g := groups[k]
		if g == nil {
			g = &Sum{Level: level, Key: k}
			groups[k] = g
		}
		g.add(r)
		total.add(r)
	}
	out := make([]Sum, 0, len(groups))
	for _, g := range groups {
		g.finish(opt.Places)
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Sum) int { return strings.Compare(a.Key, b.Key) })
	total.finish(opt.Places)
	return out, *total, nil
}

func (g *Sum) add(r *Result) {
	if g.From.IsZero() || r.Period.Start.Before(g.From) {
		g.From = r.Period.Start
	}
	if r.Period.End.After(g.To) {
		g.To = r.Period.End
	}
	if !slices.Contains(g.Areas, r.Area) {
		g.Areas = append(g.Areas, r.Area)
	}
	g.Balances++
	if !r.Class.Computable() {
		g.Excluded = append(g.Excluded, r.Area+" "+r.Period.Start.Format("2006-01-02T15:04"))
		return
	}
	g.Computable++
	var ok1, ok2 bool
	g.Supply, ok1 = Add(g.Supply, r.Supply)
	g.Sales, ok2 = Add(g.Sales, r.Sales)
	g.Overflow = g.Overflow || !ok1 || !ok2
}

func (g *Sum) finish(places uint8) {
	slices.Sort(g.Areas)
	slices.Sort(g.Excluded)
	l, ok := Sub(g.Supply, g.Sales)
	if g.Overflow || !ok {
		g.Overflow, g.Supply, g.Sales, l = true, Decimal{}, Decimal{}, Decimal{}
	}
	g.Loss = l
	if Sign(g.Supply) > 0 {
		g.Rate, g.HasRate = Percent(g.Loss, g.Supply, places)
	}
}

// Seasons names the season of each month.
type Seasons map[time.Month]string

// DefaultSeasons are the meteorological seasons of the northern
// hemisphere: spring March to May, summer June to August, autumn
// September to November, winter December to February.
func DefaultSeasons() Seasons {
	s := Seasons{}
	for m, name := range []string{"winter", "winter", "spring", "spring", "spring", "summer", "summer", "summer", "autumn", "autumn", "autumn", "winter"} {
		s[time.Month(m+1)] = name
	}
	return s
}

// Check reports months without a season: every month needs one, or the
// season roll-up would not add up to the total.
func (s Seasons) Check() error {
	var missing []string
	for m := time.January; m <= time.December; m++ {
		if s[m] == "" {
			missing = append(missing, strconv.Itoa(int(m)))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("loss: seasons: month %s in no season", strings.Join(missing, ", "))
	}
	return nil
}

// String writes s as [ParseSeasons] reads it, seasons in the order of
// their first month from January.
func (s Seasons) String() string {
	var names []string
	months := map[string][]string{}
	for m := time.January; m <= time.December; m++ {
		n := s[m]
		if n == "" {
			continue
		}
		if _, ok := months[n]; !ok {
			names = append(names, n)
		}
		months[n] = append(months[n], strconv.Itoa(int(m)))
	}
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + "=" + strings.Join(months[n], ",")
	}
	return strings.Join(parts, ";")
}

// ParseSeasons reads seasons as "name=months;name=months", months being
// numbers 1..12 and ranges such as 3-5 or 12-2 (wrapping past December),
// separated by commas: "spring=3-5;summer=6-8;autumn=9-11;winter=12-2".
// Every month must be in exactly one season.
func ParseSeasons(spec string) (Seasons, error) {
	s := Seasons{}
	for _, part := range strings.Split(spec, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, list, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("loss: seasons: %q is not name=months", part)
		}
		for _, item := range strings.Split(list, ",") {
			item = strings.TrimSpace(item)
			lo, hi, isRange := strings.Cut(item, "-")
			a, err1 := month(lo)
			b, err2 := a, error(nil)
			if isRange {
				b, err2 = month(hi)
			}
			if err := cmp.Or(err1, err2); err != nil {
				return nil, fmt.Errorf("loss: seasons: %s: %q: %w", name, item, err)
			}
			for m := a; ; m = m%12 + 1 {
				if prev, dup := s[m]; dup {
					return nil, fmt.Errorf("loss: seasons: month %d is in %s and %s", m, prev, name)
				}
				s[m] = name
				if m == b {
					break
				}
			}
		}
	}
	if err := s.Check(); err != nil {
		return nil, err
	}
	return s, nil
}

func month(s string) (time.Month, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > 12 {
		return 0, fmt.Errorf("not a month 1..12")
	}
	return time.Month(n), nil
}
