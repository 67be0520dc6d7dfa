package manage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/analysis/inspect"
	"github.com/headend/headend/api"
	"github.com/headend/headend/api/auth"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
)

// Generate ranks the month's areas and lines from what the analysis
// stored and makes it the month's work list (see inspect.List.Save): the
// monthly run calls it, and so does the API when a month has no list yet.
func (s *Service) Generate(ctx context.Context, month time.Time) ([]inspect.Entry, error) {
	m := month.In(s.Location)
	from := time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, s.Location)
	to := from.AddDate(0, 1, 0)
	rs, err := s.balances(ctx, "", from.AddDate(0, -1, 0), to)
	if err != nil {
		return nil, fmt.Errorf("inspections: balances: %w", err)
	}
	in := inspect.Input{Archive: s.Archive(), Month: from, Balances: rs, Targets: s.targets(), Upper: s.Loss.Upper, VerifyDue: s.VerifyDue}
	recs, err := s.Results.Current(ctx, store.RecordQuery{Kind: analysis.KindFlag, To: to})
	if err != nil {
		return nil, fmt.Errorf("inspections: flags: %w", err)
	}
	for _, rec := range recs {
		var f anomaly.Flag
		if json.Unmarshal(rec.Body, &f) == nil {
			in.Flags = append(in.Flags, f)
		}
	}
	if recs, err = s.Results.Current(ctx, store.RecordQuery{Kind: analysis.KindTheft, From: from, To: to}); err != nil {
		return nil, fmt.Errorf("inspections: theft rankings: %w", err)
	}
	for _, rec := range recs {
		var rk anomaly.Ranking
		if json.Unmarshal(rec.Body, &rk) == nil {
			in.Theft = append(in.Theft, rk)
		}
	}
	if s.Findings != nil {
		// up to today: the days ahead have no reads to review yet
		end := min(to.Unix(), s.today().AddDate(0, 0, 1).Unix())
		if in.Findings, err = s.Findings(ctx, from, time.Unix(end, 0).In(s.Location)); err != nil {
			return nil, fmt.Errorf("inspections: archive findings: %w", err)
		}
	}
	return s.worklist().Save(ctx, from, inspect.Rank(in))
}

func (s *Service) listMonth(w http.ResponseWriter, r *http.Request, regenerate bool) {
	month, err := s.month(r, "month", s.today().AddDate(0, 0, -1))
	if err != nil {
		api.Error(w, http.StatusBadRequest, "%s", err)
		return
	}
	// the month under way is ranked again on every look, so that its
	// figures are the ones the loss list and the assessment show now;
	// Save keeps every entry's checks
	from := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, s.Location)
	last := min(from.AddDate(0, 1, -1).Unix(), s.today().AddDate(0, 0, -1).Unix())
	if !s.today().Before(from) && s.today().Before(from.AddDate(0, 1, 1)) {
		regenerate = true
	}
	var es []inspect.Entry
	if !regenerate {
		if es, err = s.worklist().Month(r.Context(), month); err != nil {
			s.fail(w, "results store", err)
			return
		}
	}
	if len(es) == 0 {
		if es, err = s.Generate(r.Context(), month); err != nil {
			s.fail(w, "results store", err)
			return
		}
	}
	if es == nil {
		es = []inspect.Entry{}
	}
	// the period the rates are of: the month's days up to yesterday
	api.JSON(w, map[string]any{"month": month.Format("2006-01"), "from": from.Format(time.DateOnly),
		"to": time.Unix(last, 0).In(s.Location).Format(time.DateOnly), "items": es})
}

func (s *Service) inspections(w http.ResponseWriter, r *http.Request) { s.listMonth(w, r, false) }

func (s *Service) generate(w http.ResponseWriter, r *http.Request) { s.listMonth(w, r, true) }

// Version is one version of a work-list entry.
type Version struct {
	Version   int       `json:"version"`
	Stored    time.Time `json:"stored"`
	Rank      int       `json:"rank"`
	Score     float64   `json:"score"`
	Status    string    `json:"status"`
	Finding   string    `json:"finding,omitempty"`
	CheckedBy string    `json:"checked_by,omitempty"`
	CheckedAt time.Time `json:"checked_at,omitzero"`
}

func (s *Service) inspection(w http.ResponseWriter, r *http.Request) {
	e, h, err := s.worklist().Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, inspect.ErrNotFound) {
		api.Error(w, http.StatusNotFound, "%s", err)
		return
	}
	if err != nil {
		s.fail(w, "results store", err)
		return
	}
	vs := make([]Version, 0, len(h))
	for _, rec := range h {
		var x inspect.Entry
		if json.Unmarshal(rec.Body, &x) != nil {
			continue
		}
		vs = append(vs, Version{Version: rec.Version, Stored: rec.Stored.In(s.Location), Rank: x.Rank, Score: x.Score, Status: x.Status,
			Finding: x.Finding, CheckedBy: x.CheckedBy, CheckedAt: x.CheckedAt})
	}
	api.JSON(w, map[string]any{"item": e, "history": vs})
}

// CheckBody is the body of a check.
type CheckBody struct {
	Finding     string `json:"finding"`
	FaultEnergy *struct {
		Meter string `json:"meter"` // empty: the area meter
		From  string `json:"from"`  // first day, YYYY-MM-DD
		To    string `json:"to"`    // last day
		KWh   string `json:"kwh"`
	} `json:"fault_energy"`
}

func (s *Service) check(w http.ResponseWriter, r *http.Request) {
	who, _ := auth.From(r.Context())
	var b CheckBody
	if err := api.DecodeJSON(w, r, 1<<16, &b); err != nil {
		api.Error(w, api.BodyStatus(err), "body: %s", err)
		return
	}
	if strings.TrimSpace(b.Finding) == "" {
		api.Error(w, http.StatusBadRequest, "finding: a check needs a finding")
		return
	}
	ctx := r.Context()
	id := r.PathValue("id")
	e, _, err := s.worklist().Get(ctx, id)
	if errors.Is(err, inspect.ErrNotFound) {
		api.Error(w, http.StatusNotFound, "%s", err)
		return
	}
	if err != nil {
		s.fail(w, "results store", err)
		return
	}
	var fe *inspect.FaultEnergy
	var corr *analysis.Correction
	if f := b.FaultEnergy; f != nil {
		// field staff may check an item; only whoever may edit reads
		// proposes the energy to add back
		if p, ok := auth.From(ctx); ok && !p.Can(auth.EditReads) {
			api.Error(w, http.StatusForbidden, "fault_energy: proposing a correction needs the %s permission (%s has %v)", auth.EditReads, p.Name, p.RoleNames())
			return
		}
		c, msg := s.faultCorrection(&e, f.Meter, f.From, f.To, f.KWh)
		if msg != "" {
			api.Error(w, http.StatusBadRequest, "fault_energy: %s", msg)
			return
		}
		c.Reason = "inspection " + e.ID + ": " + strings.TrimSpace(b.Finding)
		c.ProposedBy, c.ProposedAt = who.Name, s.Now()
		if c, err = s.propose(ctx, c); err != nil {
			s.fail(w, "proposing the fault-energy correction", err)
			return
		}
		corr = &c
		fe = &inspect.FaultEnergy{Meter: c.Meter, From: f.From, To: f.To, KWh: c.Value.String(), Correction: analysis.CorrectionKey(c.No)}
	}
	e, err = s.worklist().Check(ctx, id, inspect.Check{Finding: b.Finding, Who: who.Name, At: s.Now(), Fault: fe})
	if err != nil {
		s.fail(w, "results store", err)
		return
	}
	api.JSON(w, map[string]any{"item": e, "correction": corr})
}

// faultCorrection checks a fault found on an entry and makes its
// correction; msg says what is wrong with it.
func (s *Service) faultCorrection(e *inspect.Entry, meter, from, to, kwh string) (analysis.Correction, string) {
	var c analysis.Correction
	ix := s.Archive()
	if meter == "" {
		if e.Kind != inspect.KindArea {
			return c, "meter: a line has no area meter: name the faulty meter"
		}
		am, ok := ix.AreaMeter(e.Target)
		if !ok {
			return c, "meter: area " + e.Target + " has no area meter in the archive: name the faulty meter"
		}
		meter = am.Address
	}
	m, ok := ix.Meter(meter)
	if !ok {
		return c, fmt.Sprintf("meter: %q is not in the archive", meter)
	}
	if e.Kind == inspect.KindArea && m.Area != e.Target {
		return c, fmt.Sprintf("meter: %s is in area %s, not %s", meter, m.Area, e.Target)
	}
	if a, ok := ix.Area(m.Area); e.Kind == inspect.KindLine && (!ok || a.Feeder != e.Target) {
		return c, fmt.Sprintf("meter: %s is not on line %s", meter, e.Target)
	}
	start, err := time.ParseInLocation(time.DateOnly, from, s.Location)
	if err != nil || !api.InYears(start) {
		return c, fmt.Sprintf("from: %q is not a date (YYYY-MM-DD, years %d to %d)", from, api.MinYear, api.MaxYear)
	}
	last, err := time.ParseInLocation(time.DateOnly, to, s.Location)
	if err != nil || last.Before(start) || !api.InYears(last) {
		return c, fmt.Sprintf("to: %q is not a date on or after from", to)
	}
	v, err := dlt645.ParseDecimal(kwh)
	if err != nil || v.Units <= 0 {
		return c, fmt.Sprintf("kwh: %q is not a positive energy", kwh)
	}
	return analysis.Correction{Kind: analysis.CorrectFaultEnergy, Meter: meter, Area: m.Area, Time: start, End: last.AddDate(0, 0, 1),
		Value: v, Status: analysis.Proposed}, ""
}

// propose stores c as a proposed correction, numbered.
func (s *Service) propose(ctx context.Context, c analysis.Correction) (analysis.Correction, error) {
	if s.Propose != nil {
		return s.Propose(ctx, c)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.Results.Current(ctx, store.RecordQuery{Kind: analysis.KindCorrection})
	if err != nil {
		return c, err
	}
	c.No = int64(len(all)) + 1
	if _, err := s.Results.Put(ctx, []store.Record{c.Record()}); err != nil {
		return c, err
	}
	return c, nil
}
