// Package manage serves loss management to analysts: the five-way
// roll-ups (by voltage level, feeder line, area, season and responsible
// person) of the stored daily balances, near-real-time hourly loss of an
// area from its load-profile reads (provisional until the daily figure
// settles it), the monthly assessment against the loss-rate targets (JSON,
// CSV and a printable page), and the monthly inspection list with its
// evidence, which field staff check off with what they found; a fault
// found on site becomes a fault-energy correction that, once approved,
// adds the energy back to the balances. Decimals go out as strings with
// their exact digits.
package manage

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/assess"
	"github.com/headend/headend/analysis/inspect"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/api"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/store"
)

// Service answers the loss-management API.
type Service struct {
	Results  store.Results
	Reads    store.Store // the read store, for the hourly loss
	Archive  func() *archive.Index
	Location *time.Location
	Now      func() time.Time
	// Loss holds the balance rules of the hourly loss and the threshold of
	// areas without a target (zero: loss.DefaultConfig).
	Loss loss.Config
	// Targets returns the loss-rate targets in force; nil: none.
	Targets func() assess.Targets
	// Seasons names the season of each month; nil: loss.DefaultSeasons.
	Seasons loss.Seasons
	// Findings returns the archive review's findings of [from, to); nil:
	// none (see inspect.FindingsOf to convert them).
	Findings func(ctx context.Context, from, to time.Time) ([]inspect.Finding, error)
	// VerifyDue returns when a meter's verification falls due (zero:
	// unknown); nil: no verification evidence.
	VerifyDue func(m *archive.Meter) time.Time
	// Propose stores a fault-energy correction as proposed and returns it
	// numbered; nil: numbered and stored here, as api/corrections does.
	Propose func(ctx context.Context, c analysis.Correction) (analysis.Correction, error)
	// Title heads the printable assessment.
	Title string

	once sync.Once
	list *inspect.List
	mu   sync.Mutex // numbers corrections (when Propose is nil)
}

// Register mounts the routes on mux: reading ones wrapped by guard (the
// read permission), the ones that change the work list by editGuard (the
// permission of those who check inspection items: field staff, analysts).
// A check that proposes fault energy needs the edit_reads permission as
// well, whatever editGuard lets through.
func (s *Service) Register(mux *http.ServeMux, guard, editGuard func(http.Handler) http.Handler) {
	h := func(pattern string, g func(http.Handler) http.Handler, f http.HandlerFunc) { mux.Handle(pattern, g(f)) }
	h("GET /api/v1/rollups", guard, s.rollups)
	h("GET /api/v1/areas/{id}/hourly", guard, s.hourly)
	h("GET /api/v1/assessment", guard, s.assessment)
	h("GET /api/v1/assessment/print", guard, s.assessmentPrint)
	h("GET /api/v1/inspections", guard, s.inspections)
	h("GET /api/v1/inspections/{id}", guard, s.inspection)
	h("POST /api/v1/inspections/generate", editGuard, s.generate)
	h("POST /api/v1/inspections/{id}/check", editGuard, s.check)
}

func (s *Service) worklist() *inspect.List {
	s.once.Do(func() { s.list = &inspect.List{Results: s.Results} })
	return s.list
}

func (s *Service) targets() assess.Targets {
	if s.Targets == nil {
		return nil
	}
	return s.Targets()
}

func (s *Service) today() time.Time {
	n := s.Now().In(s.Location)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, s.Location)
}

func (s *Service) fail(w http.ResponseWriter, what string, err error) {
	api.Error(w, http.StatusInternalServerError, "%s: %s", what, err)
}

// month reads a YYYY-MM parameter as the first day of the month; def when
// absent.
func (s *Service) month(r *http.Request, name string, def time.Time) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Date(def.Year(), def.Month(), 1, 0, 0, 0, 0, s.Location), nil
	}
	t, err := time.ParseInLocation("2006-01", v, s.Location)
	if err != nil || t.Year() < 2000 || t.Year() > 2200 {
		return t, &api.BadParam{Name: name, Value: v, Want: "a month (want YYYY-MM)"}
	}
	return t, nil
}

// balances returns the stored daily (and monthly) balances starting in
// [from, to).
func (s *Service) balances(ctx context.Context, area string, from, to time.Time) ([]loss.Result, error) {
	recs, err := s.Results.Current(ctx, store.RecordQuery{Kind: analysis.KindLoss, Area: area, From: from, To: to})
	if err != nil {
		return nil, err
	}
	out := make([]loss.Result, 0, len(recs))
	for _, rec := range recs {
		var r loss.Result
		if json.Unmarshal(rec.Body, &r) == nil && (r.Period.Kind == loss.Daily || r.Period.Kind == loss.Monthly) {
			out = append(out, r)
		}
	}
	return out, nil
}

func opt(d loss.Decimal, ok bool) string {
	if !ok {
		return ""
	}
	return d.String()
}
