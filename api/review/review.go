// Package review serves the review rules and archive checks of
// analysis/review to analysts, the dashboard and the inspection list:
// what the rules found over a range of days with the actual-read rates
// (GET /api/v1/review), the archive checks as of today
// (GET /api/v1/archive/checks), the rules and their settings
// (GET /api/v1/review/rules) and the archive change log
// (GET /api/v1/archive/changes). It reads the analysis' values and
// balances from store.Results, raw reads from store.Store and scans from
// the "scan" records it keeps ([Service.SaveScan]). Decimals go out as
// strings with their exact digits.
package review

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/analysis/review"
	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/api"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// KindScan is the store.Results record kind of a saved scan: Body is a
// review.Scan.
const KindScan = "scan"

// Service answers the review API.
type Service struct {
	Results  store.Results
	Reads    store.Store // raw reads; nil: the rules that need them find nothing
	Archive  func() *archive.Index
	Location *time.Location
	Now      func() time.Time
	// Config are the rules' settings; nil: review.DefaultConfig(). Its
	// Location, when nil, is the service's Location.
	Config *review.Config
	// Scans returns what answered on the buses; nil: the scans saved
	// with SaveScan (see KeepScans).
	Scans func(ctx context.Context) ([]review.Scan, error)
	// Logger gets what cannot be answered to anyone (a scan not saved);
	// nil is slog.Default().
	Logger *slog.Logger
}

// Register mounts the read-only routes on mux, each wrapped by guard
// (the permission check).
func (s *Service) Register(mux *http.ServeMux, guard func(http.Handler) http.Handler) {
	h := func(pattern string, f http.HandlerFunc) { mux.Handle(pattern, guard(f)) }
	h("GET /api/v1/review", s.review)
	h("GET /api/v1/review/rules", s.rules)
	h("GET /api/v1/archive/checks", s.checks)
	h("GET /api/v1/archive/changes", s.changes)
}

// SaveScan keeps a scan for the archive checks (one record per channel
// and time).
func (s *Service) SaveScan(ctx context.Context, sc review.Scan) error {
	b, err := json.Marshal(sc)
	if err != nil {
		return fmt.Errorf("saving the scan of %s: %w", sc.Channel, err)
	}
	area := ""
	if k, ok := s.Archive().ConcentratorOf(sc.Channel); ok {
		area = k.Area
	}
	_, err = s.Results.Put(ctx, []store.Record{{Kind: KindScan, Key: sc.Channel + "|" + sc.At.UTC().Format(time.RFC3339Nano),
		Area: area, Time: sc.At, Body: b}})
	if err != nil {
		return fmt.Errorf("saving the scan of %s: %w", sc.Channel, err)
	}
	return nil
}

func (s *Service) config() review.Config {
	c := review.DefaultConfig()
	c.Location = nil // the configured zone (collector.zone), not the rules' default
	if s.Config != nil {
		c = *s.Config
	}
	if c.Location == nil {
		c.Location = s.Location
	}
	return c
}

func (s *Service) today() time.Time {
	n := s.Now().In(s.Location)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, s.Location)
}

// notBeforeData returns from, or the day of the first stored read when
// that is later: days before any meter was read have nothing to review
// (every concentrator would read 0 of its meters).
func (s *Service) notBeforeData(ctx context.Context, from time.Time) time.Time {
	if first, ok := s.firstRead(ctx); ok && first.After(from) {
		return first
	}
	return from
}

// firstRead returns the day (in s.Location) of the first stored read.
func (s *Service) firstRead(ctx context.Context) (time.Time, bool) {
	if s.Reads == nil {
		return time.Time{}, false
	}
	rs, err := s.Reads.Query(ctx, store.Query{Limit: 1})
	if err != nil || len(rs) == 0 {
		return time.Time{}, false
	}
	t := store.Time(&rs[0]).In(s.Location)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, s.Location), true
}

func (s *Service) fail(w http.ResponseWriter, what string, err error) {
	api.Error(w, http.StatusInternalServerError, "%s: %s", what, err)
}

// area reads the area parameter: empty, or an area of the archive.
func (s *Service) area(w http.ResponseWriter, r *http.Request, ix *archive.Index) (string, bool) {
	a := r.URL.Query().Get("area")
	if _, ok := ix.Area(a); a != "" && !ok {
		api.Error(w, http.StatusBadRequest, "%s", &api.BadParam{Name: "area", Value: a, Want: "an area of the archive"})
		return "", false
	}
	return a, true
}

// ruleNames are the rule parameter's choices.
func ruleNames() []string {
	out := make([]string, 0, len(descriptions))
	for _, d := range descriptions {
		out = append(out, string(d.Rule))
	}
	return out
}

// keep filters findings by area and rule.
func keep(fs []review.Finding, area, rule string) []review.Finding {
	return slices.DeleteFunc(fs, func(f review.Finding) bool {
		return (area != "" && f.Area != area) || (rule != "" && string(f.Rule) != rule)
	})
}

// values reads the current validated values of an area (all: "") in
// [from, to).
func (s *Service) values(ctx context.Context, q store.RecordQuery) ([]vee.Value, error) {
	q.Kind = analysis.KindValue
	recs, err := s.Results.Current(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]vee.Value, 0, len(recs))
	for _, rec := range recs {
		var v vee.Value
		if json.Unmarshal(rec.Body, &v) == nil {
			out = append(out, v)
		}
	}
	return out, nil
}

// reads queries the raw reads of each class.
func (s *Service) reads(ctx context.Context, q store.Query, classes ...meter.Class) ([]meter.Read, error) {
	if s.Reads == nil {
		return nil, nil
	}
	var out []meter.Read
	for _, c := range classes {
		q.Class = c
		rs, err := s.Reads.Query(ctx, q)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// lookback is how many days before a range the rules read values from:
// the estimate rules' weeks and a period before the first.
func lookback(c *review.Config) int {
	n := max(c.Estimated.RepeatDays, 7*c.Estimated.Weeks)
	switch c.Consumption.Period {
	case review.PeriodMonth:
		n += 31
	case review.PeriodWeek:
		n += 7
	default:
		n++
	}
	return n + 1
}

func (s *Service) review(w http.ResponseWriter, r *http.Request) {
	today := s.today()
	to, err := api.Date(r, "to", s.Location, today.AddDate(0, 0, -1))
	var from time.Time
	if err == nil {
		from, err = api.Date(r, "from", s.Location, s.notBeforeData(r.Context(), to.AddDate(0, 0, -6)))
	}
	if err == nil && to.Before(from) {
		err = &api.BadParam{Name: "to", Value: r.URL.Query().Get("to"), Want: "on or after from"}
	}
	if err == nil && to.Sub(from) > 366*24*time.Hour {
		err = &api.BadParam{Name: "from", Value: r.URL.Query().Get("from"), Want: "within a year of to"}
	}
	var period, rule string
	if err == nil {
		period, err = api.OneOf(r, "period", review.PeriodDay, review.PeriodWeek, review.PeriodMonth)
	}
	if err == nil {
		rule, err = api.OneOf(r, "rule", ruleNames()...)
	}
	if err != nil {
		api.Error(w, http.StatusBadRequest, "%s", err)
		return
	}
	ix := s.Archive()
	area, ok := s.area(w, r, ix)
	if !ok {
		return
	}
	rep, err := s.report(r.Context(), ix, from, to, area, period)
	if err != nil {
		s.fail(w, "store", err)
		return
	}
	rep.Findings = keep(rep.Findings, area, rule)
	if area != "" {
		rep.Rates = slices.DeleteFunc(rep.Rates, func(rt review.Rate) bool { return rt.Area != area })
	}
	api.JSON(w, rep)
}

func (s *Service) checks(w http.ResponseWriter, r *http.Request) {
	rule, err := api.OneOf(r, "rule", ruleNames()...)
	if err != nil {
		api.Error(w, http.StatusBadRequest, "%s", err)
		return
	}
	ix := s.Archive()
	area, ok := s.area(w, r, ix)
	if !ok {
		return
	}
	fs, err := s.archiveChecks(r.Context(), ix, area)
	if err != nil {
		s.fail(w, "store", err)
		return
	}
	fs = keep(fs, area, rule)
	today := s.today()
	api.JSON(w, map[string]any{"today": today.Format(time.DateOnly), "findings": fs})
}

// scans returns the scans to compare with the archive.
func (s *Service) scans(ctx context.Context) ([]review.Scan, error) {
	if s.Scans != nil {
		return s.Scans(ctx)
	}
	recs, err := s.Results.Current(ctx, store.RecordQuery{Kind: KindScan})
	if err != nil {
		return nil, err
	}
	var out []review.Scan
	for _, rec := range recs {
		var sc review.Scan
		if json.Unmarshal(rec.Body, &sc) == nil {
			out = append(out, sc)
		}
	}
	return out, nil
}

func (s *Service) changes(w http.ResponseWriter, r *http.Request) {
	today := s.today()
	to, err := api.Date(r, "to", s.Location, today)
	var from time.Time
	if err == nil {
		from, err = api.Date(r, "from", s.Location, to.AddDate(0, 0, -30))
	}
	if err == nil && to.Before(from) {
		err = &api.BadParam{Name: "to", Value: r.URL.Query().Get("to"), Want: "on or after from"}
	}
	if err != nil {
		api.Error(w, http.StatusBadRequest, "%s", err)
		return
	}
	area, ok := s.area(w, r, s.Archive())
	if !ok {
		return
	}
	log := &archive.ChangeLog{Results: s.Results}
	es, err := log.Changes(r.Context(), area, from, to.AddDate(0, 0, 1))
	if err != nil {
		s.fail(w, "results store", err)
		return
	}
	api.JSON(w, map[string]any{"from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly), "changes": es})
}

// Rule describes one rule for the rules listing.
type Rule struct {
	Rule        review.Rule `json:"rule"`
	Group       string      `json:"group"` // review or archive
	Description string      `json:"description"`
}

var descriptions = []Rule{
	{review.ExchangeBelowBilled, "review", "a meter exchange whose removal reading is below the old meter's last billed reading"},
	{review.RepeatingDelta, "review", "the same daily consumption, to the 0.01 kWh, days running (estimated.repeat_days)"},
	{review.WeeklyPattern, "review", "a week's daily consumption repeating the week before, to the 0.01 kWh (estimated.weeks)"},
	{review.ReadWithoutFrame, "review", "OK register reads that carry no reply frame"},
	{review.ReadRateLow, "review", "a concentrator's (or a multi-concentrator area's) actual-read rate on a day below read_rate.min_rate"},
	{review.ReadGap, "review", "a meter without an OK read for longer than read_rate.max_gap"},
	{review.ZeroConsumption, "review", "a customer with no consumption over a period (consumption.period)"},
	{review.FixedConsumption, "review", "a customer consuming the same as the period before, within consumption.fixed"},
	{review.SharpChange, "review", "a customer's consumption changed from the period before by consumption.sharp_pct or more"},
	{review.CapacityOver, "review", "an area's peak demand above its transformer's capacity × power factor (capacity.over_pct)"},
	{review.CapacityUnder, "review", "an area's peak demand far under its transformer's capacity (capacity.under_pct)"},
	{review.SuspendedLong, "review", "a transformer suspended for longer than suspended.max_days"},
	{review.MultiplierMismatch, "archive", "a meter's stored multiplier that is not its CT × PT ratio"},
	{review.Unarchived, "archive", "a meter that answers on a bus but is not in the archive"},
	{review.OtherBus, "archive", "a meter that answers on a bus but is archived on another"},
	{review.NotFound, "archive", "an archived meter in a scanned range that did not answer"},
	{review.NeverAnswers, "archive", "an archived meter with no OK read in answers.days days"},
	{review.VerificationDue, "archive", "a meter's verification due within due.alarm_months"},
	{review.VerificationOver, "archive", "a meter's verification overdue"},
	{review.CTVerificationDue, "archive", "a meter's current transformers' verification due within due.alarm_months"},
	{review.CTVerificationOver, "archive", "a meter's current transformers' verification overdue"},
	{review.RotationDue, "archive", "a meter's rotation due within due.alarm_months"},
	{review.RotationOver, "archive", "a meter's rotation overdue"},
	{review.OutOfTolerance, "archive", "a meter whose last accuracy test was out of tolerance"},
}

func (s *Service) rules(w http.ResponseWriter, r *http.Request) {
	cfg := s.config()
	api.JSON(w, map[string]any{"zone": cfg.Location.String(), "rules": descriptions, "settings": cfg})
}

// report runs the review rules over [from, to] (days, to included) of
// area (all when empty).
func (s *Service) report(ctx context.Context, ix *archive.Index, from, to time.Time, area, period string) (review.Report, error) {
	cfg := s.config()
	if period != "" {
		cfg.Consumption.Period = period
	}
	end := to.AddDate(0, 0, 1)
	in := &review.Input{Archive: ix, From: from, To: to, Today: s.today()}
	var err error
	if in.Values, err = s.values(ctx, store.RecordQuery{Area: area, From: from.AddDate(0, 0, -lookback(&cfg)), To: end.AddDate(0, 0, 1)}); err != nil {
		return review.Report{}, err
	}
	recs, err := s.Results.Current(ctx, store.RecordQuery{Kind: analysis.KindLoss, Area: area, From: from, To: end})
	if err != nil {
		return review.Report{}, err
	}
	for _, rec := range recs {
		var l loss.Result
		if json.Unmarshal(rec.Body, &l) == nil && l.Period.Kind == loss.Daily {
			in.Loss = append(in.Loss, l)
		}
	}
	if in.Reads, err = s.reads(ctx, store.Query{Area: area, From: from.Add(-cfg.ReadRate.MaxGap - 24*time.Hour), To: end}, meter.Daily, meter.Monthly); err != nil {
		return review.Report{}, err
	}
	var areaMeters []string
	for _, a := range ix.Archive().Areas {
		if m, ok := ix.AreaMeter(a.ID); ok && (area == "" || a.ID == area) {
			areaMeters = append(areaMeters, m.Address)
		}
	}
	if len(areaMeters) > 0 {
		iv, err := s.reads(ctx, store.Query{Meters: areaMeters, From: from, To: end}, meter.Interval)
		if err != nil {
			return review.Report{}, err
		}
		in.Reads = append(in.Reads, iv...)
	}
	return review.Review(in, cfg), nil
}

// Findings returns the review's findings over [from, to) and the archive
// checks as of today, for the inspection list.
func (s *Service) Findings(ctx context.Context, from, to time.Time) ([]review.Finding, error) {
	ix := s.Archive()
	rep, err := s.report(ctx, ix, s.notBeforeData(ctx, from), to.AddDate(0, 0, -1), "", "")
	if err != nil {
		return nil, err
	}
	checks, err := s.archiveChecks(ctx, ix, "")
	if err != nil {
		return nil, err
	}
	return append(rep.Findings, checks...), nil
}

// archiveChecks runs the archive checks as of today on area (all when
// empty).
func (s *Service) archiveChecks(ctx context.Context, ix *archive.Index, area string) ([]review.Finding, error) {
	cfg := s.config()
	today := s.today()
	in := &review.Input{Archive: ix, Today: today, From: today, To: today}
	for _, e := range ix.Archive().Exchanges {
		if area != "" && e.Area != area {
			continue
		}
		vs, err := s.values(ctx, store.RecordQuery{Meter: e.OldMeter, From: e.Date.AddDate(0, 0, -62), To: e.Date.Add(time.Second)})
		if err != nil {
			return nil, err
		}
		in.Values = append(in.Values, vs...)
	}
	start := today.AddDate(0, 0, -cfg.Answers.Days)
	var err error
	if in.Reads, err = s.reads(ctx, store.Query{Area: area, From: start, To: today.AddDate(0, 0, 2)}, meter.Daily); err != nil {
		return nil, err
	}
	if in.Scans, err = s.scans(ctx); err != nil {
		return nil, err
	}
	return review.CheckArchive(in, cfg), nil
}
