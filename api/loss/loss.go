// Package loss serves line loss to analysts and the dashboard: areas with
// their balances over a range of days, each area's daily trend, its flags
// with their evidence, its theft ranking and its meters' status, read
// from what the analysis stored (store.Results). Decimals go out as
// strings with their exact digits.
package loss

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/analysis/assess"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/api"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/store"
)

// Service answers the loss API.
type Service struct {
	Results  store.Results
	Archive  func() *archive.Index
	Location *time.Location
	Now      func() time.Time
	// TileURL is the status map's tile server, given to the dashboard in
	// /api/v1/meta; empty: none.
	TileURL string
	// Loss holds the bounds a period's rate is classed by; zero:
	// loss.DefaultConfig().
	Loss loss.Config
}

// Register mounts the routes on mux, each wrapped by guard (the
// permission check).
func (s *Service) Register(mux *http.ServeMux, guard func(http.Handler) http.Handler) {
	h := func(pattern string, f http.HandlerFunc) { mux.Handle(pattern, guard(f)) }
	h("GET /api/v1/meta", s.meta)
	h("GET /api/v1/areas", s.areas)
	h("GET /api/v1/areas/{id}/loss", s.areaLoss)
	h("GET /api/v1/areas/{id}/flags", s.areaFlags)
	h("GET /api/v1/areas/{id}/theft", s.areaTheft)
	h("GET /api/v1/areas/{id}/meters", s.areaMeters)
}

func (s *Service) today() time.Time {
	n := s.Now().In(s.Location)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, s.Location)
}

// span reads from and to (inclusive days; default the last 7 days).
func (s *Service) span(w http.ResponseWriter, r *http.Request) (from, to time.Time, ok bool) {
	from, to, err := api.Span(r, s.Location, s.today())
	if err != nil {
		api.Error(w, http.StatusBadRequest, "%s", err)
		return from, to, false
	}
	return from, to, true
}

func (s *Service) fail(w http.ResponseWriter, err error) {
	api.Error(w, http.StatusInternalServerError, "results store: %s", err)
}

// balances returns the stored daily balances in [from, to].
func (s *Service) balances(ctx context.Context, area string, from, to time.Time) ([]loss.Result, error) {
	rs, err := s.allBalances(ctx, area, from, to)
	return slices.DeleteFunc(rs, func(r loss.Result) bool { return r.Period.Kind != loss.Daily }), err
}

// allBalances returns the daily and monthly balances stored for days
// [from, to].
func (s *Service) allBalances(ctx context.Context, area string, from, to time.Time) ([]loss.Result, error) {
	recs, err := s.Results.Current(ctx, store.RecordQuery{Kind: analysis.KindLoss, Area: area, From: from, To: to.AddDate(0, 0, 1)})
	if err != nil {
		return nil, err
	}
	out := make([]loss.Result, 0, len(recs))
	for _, rec := range recs {
		var r loss.Result
		if json.Unmarshal(rec.Body, &r) == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *Service) bounds() loss.Config {
	if s.Loss.Upper == (loss.Decimal{}) && s.Loss.Low == nil {
		return loss.DefaultConfig()
	}
	return s.Loss
}

func (s *Service) meta(w http.ResponseWriter, r *http.Request) {
	ix := s.Archive()
	feeders, levels := map[string]bool{}, map[string]bool{}
	for _, a := range ix.Archive().Areas {
		feeders[a.Feeder] = true
		levels[a.VoltageLevel] = true
	}
	m := map[string]any{"zone": s.Location.String(), "feeders": keys(feeders), "voltage_levels": keys(levels),
		"classes": []loss.Class{loss.NotComputable, loss.Negative, loss.Low, loss.Qualified, loss.High}}
	if s.TileURL != "" {
		m["tile_url"] = s.TileURL
	}
	recs, err := s.Results.Current(r.Context(), store.RecordQuery{Kind: analysis.KindLoss})
	if err != nil {
		s.fail(w, err)
		return
	}
	if len(recs) > 0 {
		m["first_day"] = recs[0].Time.In(s.Location).Format(time.DateOnly)
		m["last_day"] = recs[len(recs)-1].Time.In(s.Location).Format(time.DateOnly)
	}
	api.JSON(w, m)
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Area is a row of the areas table.
type Area struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	Feeder         string         `json:"feeder"`
	VoltageLevel   string         `json:"voltage_level"`
	Responsible    string         `json:"responsible,omitempty"`
	Days           int            `json:"days"`
	ComputableDays int            `json:"computable_days"`
	Supply         string         `json:"supply"`
	Sales          string         `json:"sales"`
	Loss           string         `json:"loss"`
	Rate           string         `json:"rate"`
	Class          loss.Class     `json:"class"`          // the period's, from Rate (assess.Figures)
	LastDayClass   loss.Class     `json:"last_day_class"` // the class of the period's last day
	Source         string         `json:"source"`         // daily (sums of the computable days) or monthly
	Classes        map[string]int `json:"classes"`
	MetersExpected int            `json:"meters_expected"`
	MetersRead     int            `json:"meters_read"`
	MetersEst      int            `json:"meters_estimated"`
	Collection     string         `json:"collection_rate"`
	Flags          int            `json:"flags"`
}

func (s *Service) areas(w http.ResponseWriter, r *http.Request) {
	from, to, ok := s.span(w, r)
	if !ok {
		return
	}
	feeder := r.URL.Query().Get("feeder")
	class, err := api.OneOf(r, "class", string(loss.NotComputable), string(loss.Negative), string(loss.Low), string(loss.Qualified), string(loss.High))
	if err != nil {
		api.Error(w, http.StatusBadRequest, "%s", err)
		return
	}
	ix := s.Archive()
	if feeder != "" && !slices.ContainsFunc(ix.Archive().Areas, func(a archive.Area) bool { return a.Feeder == feeder }) {
		api.Error(w, http.StatusBadRequest, "feeder: %q is not a feeder line of the archive", feeder)
		return
	}
	all, err := s.allBalances(r.Context(), "", from, to)
	if err != nil {
		s.fail(w, err)
		return
	}
	figs := assess.Figures(all, from, to.AddDate(0, 0, 1)) // the same figure as the assessment's and the inspection list's
	rs := slices.DeleteFunc(all, func(r loss.Result) bool { return r.Period.Kind != loss.Daily })
	flags, err := s.Results.Current(r.Context(), store.RecordQuery{Kind: analysis.KindFlag, To: to.AddDate(0, 0, 1)})
	if err != nil {
		s.fail(w, err)
		return
	}
	nflags := map[string]int{}
	for _, f := range flags {
		var fl anomaly.Flag
		if json.Unmarshal(f.Body, &fl) == nil && !fl.End.Before(from) {
			nflags[f.Area]++
		}
	}
	by := map[string][]*loss.Result{}
	for i := range rs {
		by[rs[i].Area] = append(by[rs[i].Area], &rs[i])
	}
	out := []Area{}
	for _, a := range ix.Archive().Areas {
		if feeder != "" && a.Feeder != feeder {
			continue
		}
		row := summarise(a, by[a.ID], figs[a.ID], s.bounds())
		row.Flags = nflags[a.ID]
		if class != "" && string(row.Class) != class {
			continue
		}
		out = append(out, row)
	}
	api.JSON(w, map[string]any{"from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly), "areas": out})
}

// summarise sums an area's computable days.
func summarise(a archive.Area, days []*loss.Result, f assess.Figure, bounds loss.Config) Area {
	row := Area{ID: a.ID, Name: a.Name, Feeder: a.Feeder, VoltageLevel: a.VoltageLevel, Responsible: a.Responsible,
		Days: len(days), Classes: map[string]int{}, Class: f.Class(bounds), LastDayClass: loss.NotComputable,
		ComputableDays: f.Computable, Source: f.Source}
	for _, d := range days {
		row.Classes[string(d.Class)]++
	}
	if n := len(days); n > 0 {
		last := days[n-1]
		row.LastDayClass, row.MetersExpected, row.MetersRead, row.MetersEst = last.Class, last.Expected, last.Read, last.Estimated
	}
	if f.Computable > 0 || f.Source == "monthly" {
		row.Supply, row.Sales, row.Loss = f.Supply.String(), f.Sales.String(), f.Loss.String()
	}
	if f.HasRate {
		row.Rate = f.Rate.String()
	}
	if f.Expected > 0 {
		c, _ := loss.Percent(loss.Decimal{Units: int64(f.Read)}, loss.Decimal{Units: int64(f.Expected)}, 1)
		row.Collection = c.String()
	}
	return row
}

// Day is one day of an area's trend.
type Day struct {
	Date        string     `json:"date"`
	Supply      string     `json:"supply"`
	Sales       string     `json:"sales"`
	Loss        string     `json:"loss"`
	Rate        string     `json:"rate"`
	Class       loss.Class `json:"class"`
	Reasons     []string   `json:"reasons"`
	Expected    int        `json:"meters_expected"`
	Read        int        `json:"meters_read"`
	Estimated   int        `json:"meters_estimated"`
	Version     int        `json:"version"`
	Provisional bool       `json:"provisional"`
	Used        int        `json:"reads_used"`
}

func (s *Service) area(w http.ResponseWriter, r *http.Request) (archive.Area, bool) {
	id := r.PathValue("id")
	a, ok := s.Archive().Area(id)
	if !ok {
		api.Error(w, http.StatusNotFound, "area %q is not in the archive", id)
		return archive.Area{}, false
	}
	return *a, true
}

func (s *Service) areaLoss(w http.ResponseWriter, r *http.Request) {
	a, ok := s.area(w, r)
	if !ok {
		return
	}
	from, to, ok := s.span(w, r)
	if !ok {
		return
	}
	recs, err := s.Results.Current(r.Context(), store.RecordQuery{Kind: analysis.KindLoss, Area: a.ID, From: from, To: to.AddDate(0, 0, 1)})
	if err != nil {
		s.fail(w, err)
		return
	}
	days := []Day{}
	for _, rec := range recs {
		var d loss.Result
		if json.Unmarshal(rec.Body, &d) != nil || d.Period.Kind != loss.Daily {
			continue
		}
		day := Day{Date: d.Period.Start.In(s.Location).Format(time.DateOnly), Class: d.Class, Reasons: d.Reasons,
			Expected: d.Expected, Read: d.Read, Estimated: d.Estimated, Version: rec.Version, Used: len(d.Used())}
		if d.Class.Computable() {
			day.Supply, day.Sales, day.Loss = d.Supply.String(), d.Sales.String(), d.Loss.String()
			if d.HasRate {
				day.Rate = d.Rate.String()
			}
		}
		days = append(days, day)
	}
	api.JSON(w, map[string]any{"area": a.ID, "days": days})
}

// Flag is a flag as the API shows it.
type Flag struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	Meter      string     `json:"meter"`
	Area       string     `json:"area"`
	Other      string     `json:"other_area,omitempty"`
	Start      string     `json:"start"`
	End        string     `json:"end"`
	Confidence float64    `json:"confidence"`
	Summary    string     `json:"summary"`
	Version    int        `json:"version"`
	Evidence   []Evidence `json:"evidence"`
}

// Evidence is a read or a figure behind a flag.
type Evidence struct {
	What  string `json:"what"`
	Meter string `json:"meter,omitempty"`
	Time  string `json:"time,omitempty"`
	Value string `json:"value,omitempty"`
	Unit  string `json:"unit,omitempty"`
}

func (s *Service) areaFlags(w http.ResponseWriter, r *http.Request) {
	a, ok := s.area(w, r)
	if !ok {
		return
	}
	from, to, ok := s.span(w, r)
	if !ok {
		return
	}
	flags, err := s.flags(r.Context(), a.ID, from, to)
	if err != nil {
		s.fail(w, err)
		return
	}
	api.JSON(w, map[string]any{"flags": flags})
}

// flags returns the area's flags that were open at some time in [from, to].
func (s *Service) flags(ctx context.Context, area string, from, to time.Time) ([]Flag, error) {
	recs, err := s.Results.Current(ctx, store.RecordQuery{Kind: analysis.KindFlag, Area: area, To: to.AddDate(0, 0, 1)})
	if err != nil {
		return nil, err
	}
	out := []Flag{}
	for _, rec := range recs {
		var f anomaly.Flag
		if json.Unmarshal(rec.Body, &f) != nil || f.End.Before(from) {
			continue
		}
		fl := Flag{ID: rec.Key, Kind: string(f.Kind), Meter: f.Meter, Area: f.Area, Other: f.Other,
			Start: f.Start.In(s.Location).Format(time.DateOnly), Confidence: f.Confidence, Summary: f.Summary, Version: rec.Version}
		if !f.End.IsZero() {
			fl.End = f.End.In(s.Location).Format(time.DateOnly)
		}
		for _, x := range f.Figures {
			fl.Evidence = append(fl.Evidence, Evidence{What: x.Name, Value: x.Value.String(), Unit: x.Unit})
		}
		for _, k := range f.Reads {
			fl.Evidence = append(fl.Evidence, Evidence{What: string(k.Class) + " " + k.Quantity, Meter: k.Meter, Time: k.Time.In(s.Location).Format(time.RFC3339)})
		}
		out = append(out, fl)
	}
	slices.SortFunc(out, func(a, b Flag) int { return cmp.Or(strings.Compare(a.Start, b.Start), strings.Compare(a.ID, b.ID)) })
	return out, nil
}

func (s *Service) areaTheft(w http.ResponseWriter, r *http.Request) {
	a, ok := s.area(w, r)
	if !ok {
		return
	}
	date, err := api.Date(r, "date", s.Location, time.Time{})
	if err != nil {
		api.Error(w, http.StatusBadRequest, "%s", err)
		return
	}
	q := store.RecordQuery{Kind: analysis.KindTheft, Area: a.ID}
	if !date.IsZero() {
		q.To = date.AddDate(0, 0, 1)
	}
	recs, err := s.Results.Current(r.Context(), q)
	if err != nil {
		s.fail(w, err)
		return
	}
	if len(recs) == 0 {
		// a normal state: the analysis has not ranked the area yet
		reason := "no theft ranking yet: the analysis ranks an area once it has enough days of validated reads and a loss to explain"
		if !date.IsZero() {
			reason = "no theft ranking on or before " + date.Format(time.DateOnly) + ": the analysis had not ranked the area by then"
		}
		api.JSON(w, map[string]any{"area": a.ID, "date": "", "candidates": []any{}, "reason": reason})
		return
	}
	var rk anomaly.Ranking
	if err := json.Unmarshal(recs[len(recs)-1].Body, &rk); err != nil {
		s.fail(w, err)
		return
	}
	type cand struct {
		Meter   string  `json:"meter"`
		Score   float64 `json:"score"`
		Drop    string  `json:"drop"`
		Summary string  `json:"summary"`
	}
	cs := []cand{}
	for _, c := range rk.Candidates {
		sum := "from " + c.Onset.In(s.Location).Format(time.DateOnly) + ": deficit " + fmtf(c.DeficitPct) + " % of expected, z " + fmtf(c.Z) +
			", area excess " + fmtf(c.AreaExcess) + " ± " + fmtf(c.AreaError) + " kWh, agreement " + fmtf(c.Agreement)
		if c.Gate != "" {
			sum += "; " + c.Gate
		}
		cs = append(cs, cand{Meter: c.Meter, Score: c.Score, Drop: fmtf(c.Deficit), Summary: sum})
	}
	api.JSON(w, map[string]any{"area": a.ID, "date": rk.WindowEnd.In(s.Location).Format(time.DateOnly),
		"onset": rk.Onset.In(s.Location).Format(time.DateOnly), "lossy": rk.Lossy, "excess": fmtf(rk.Excess), "candidates": cs})
}

func (s *Service) areaMeters(w http.ResponseWriter, r *http.Request) {
	a, ok := s.area(w, r)
	if !ok {
		return
	}
	date, err := api.Date(r, "date", s.Location, s.today().AddDate(0, 0, -1))
	if err != nil {
		api.Error(w, http.StatusBadRequest, "%s", err)
		return
	}
	rs, err := s.balances(r.Context(), a.ID, date, date)
	if err != nil {
		s.fail(w, err)
		return
	}
	flags, err := s.flags(r.Context(), a.ID, date, date)
	if err != nil {
		s.fail(w, err)
		return
	}
	byMeter := map[string][]string{}
	for _, f := range flags {
		if f.Meter != "" {
			byMeter[f.Meter] = append(byMeter[f.Meter], f.Kind)
		}
	}
	status := map[string]*loss.MeterResult{}
	if len(rs) > 0 {
		if rs[0].AreaMeter != nil {
			status[rs[0].AreaMeter.Meter] = rs[0].AreaMeter
		}
		for i := range rs[0].Meters {
			status[rs[0].Meters[i].Meter] = &rs[0].Meters[i]
		}
	}
	type meter struct {
		Address string   `json:"address"`
		Role    string   `json:"role"`
		Status  string   `json:"status"`
		Forward string   `json:"forward"`
		Reason  string   `json:"reason,omitempty"`
		Flags   []string `json:"flags"`
	}
	out := []meter{}
	for _, m := range s.Archive().MetersInArea(a.ID) {
		row := meter{Address: m.Address, Role: string(m.Role), Status: "failed", Flags: byMeter[m.Address]}
		if mr := status[m.Address]; mr != nil {
			switch mr.Status {
			case loss.StatusRead:
				row.Status = "read"
			case loss.StatusEstimated:
				row.Status = "estimated"
			default:
				row.Reason = mr.Reason
			}
			if mr.Forward.OK {
				row.Forward = mr.Forward.Energy.String()
			}
		}
		if len(row.Flags) > 0 {
			row.Status = "flagged"
		}
		out = append(out, row)
	}
	api.JSON(w, map[string]any{"area": a.ID, "date": date.Format(time.DateOnly), "meters": out})
}

func fmtf(f float64) string { return strings.TrimRight(strings.TrimRight(strconvF(f), "0"), ".") }
