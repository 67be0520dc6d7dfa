// Package corrections serves the correction workflow for billing data: a
// person with the edit permission proposes a numbered correction (an
// edited register value, fault energy to add back, a back-billing or
// refund quantity) with a reason; another person with the approve
// permission approves or rejects it; nobody decides their own. Until it
// is approved a correction does not reach billing; an approved edit
// becomes the value's next version, which billing's change feed shows as
// a revision.
package corrections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/api"
	"github.com/headend/headend/api/auth"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/results"
)

// Service answers the corrections API.
type Service struct {
	Results  store.Results
	Archive  func() *archive.Index
	Location *time.Location
	Now      func() time.Time
	// Decided, if set, is called after a correction is approved (the
	// daemon reruns the analysis so that billing sees it at once).
	Decided func()

	// mu numbers and decides corrections one at a time in this process;
	// across nodes a store.ConditionalResults does it (see number).
	mu sync.Mutex
}

// New returns a Service on the shared dependencies d; the fields that are
// this package's own are set on the result.
func New(d api.Deps) *Service {
	return &Service{Results: d.Results, Archive: d.Archive, Location: d.Location, Now: d.Now}
}

// Register mounts the routes: proposing needs edit, deciding approve,
// listing read_all.
func (s *Service) Register(mux *http.ServeMux, toks *auth.Tokens) {
	mux.Handle("POST /api/v1/corrections", toks.Require(auth.EditReads)(http.HandlerFunc(s.propose)))
	mux.Handle("GET /api/v1/corrections", toks.RequireAny(auth.ReadAll, auth.Approve)(http.HandlerFunc(s.list)))
	mux.Handle("GET /api/v1/corrections/{no}", toks.RequireAny(auth.ReadAll, auth.Approve)(http.HandlerFunc(s.get)))
	mux.Handle("POST /api/v1/corrections/{no}/approve", toks.Require(auth.Approve)(http.HandlerFunc(s.decide(results.Approved))))
	mux.Handle("POST /api/v1/corrections/{no}/reject", toks.Require(auth.Approve)(http.HandlerFunc(s.decide(results.Rejected))))
}

// Proposal is the body of a proposal.
type Proposal struct {
	Kind     string `json:"kind"`
	Meter    string `json:"meter"`
	Class    string `json:"class"`    // edit: daily or monthly
	Quantity string `json:"quantity"` // edit
	Time     string `json:"time"`     // edit: the value's time (RFC 3339, or a date for a daily freeze); otherwise the period's first day
	End      string `json:"end"`      // fault energy, back-billing, refund: the day after the period's last
	Value    string `json:"value"`
	Reason   string `json:"reason"`
}

func bad(w http.ResponseWriter, param, format string, args ...any) {
	api.Error(w, http.StatusBadRequest, "%s: %s", param, fmt.Sprintf(format, args...))
}

func (s *Service) when(v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		t, err = time.ParseInLocation(time.DateOnly, v, s.Location)
	}
	if err == nil && !api.InYears(t) {
		return time.Time{}, fmt.Errorf("%q is not in the years %d to %d", v, api.MinYear, api.MaxYear)
	}
	return t, err
}

func (s *Service) propose(w http.ResponseWriter, r *http.Request) {
	who, _ := auth.From(r.Context())
	var p Proposal
	if err := api.DecodeJSON(w, r, 1<<16, &p); err != nil {
		api.Error(w, api.BodyStatus(err), "body: %s", err)
		return
	}
	c := results.Correction{Kind: p.Kind, Meter: p.Meter, Reason: strings.TrimSpace(p.Reason), Status: results.Proposed,
		ProposedBy: who.Name, ProposedAt: s.Now()}
	switch p.Kind {
	case results.CorrectEdit, results.CorrectFaultEnergy, results.CorrectBackBilling, results.CorrectRefund:
	default:
		bad(w, "kind", "%q is not edit, fault_energy, back_billing or refund", p.Kind)
		return
	}
	m, ok := s.Archive().Meter(p.Meter)
	if !ok {
		bad(w, "meter", "%q is not in the archive", p.Meter)
		return
	}
	c.Area = m.Area
	var err error
	if c.Value, err = dlt645.ParseDecimal(p.Value); err != nil {
		bad(w, "value", "%q is not a decimal number", p.Value)
		return
	}
	if c.Reason == "" {
		bad(w, "reason", "a correction needs a reason")
		return
	}
	if c.Time, err = s.when(p.Time); err != nil {
		bad(w, "time", "%q is not a time (RFC 3339) or a date (YYYY-MM-DD)", p.Time)
		return
	}
	ctx := r.Context()
	if p.Kind == results.CorrectEdit {
		c.Class, c.Quantity = meter.Class(p.Class), p.Quantity
		if c.Class != meter.Daily && c.Class != meter.Monthly {
			bad(w, "class", "%q: only daily and monthly register values are corrected", p.Class)
			return
		}
		if loss := c.Value.Units < 0; loss {
			bad(w, "value", "%s: a register value is never negative", p.Value)
			return
		}
		recs, err := s.Results.Current(ctx, store.RecordQuery{Kind: results.KindValue, Meter: c.Meter, From: c.Time, To: c.Time.Add(time.Nanosecond)})
		if err != nil {
			api.Error(w, http.StatusInternalServerError, "results store: %s", err)
			return
		}
		key := results.ValueKey(c.Meter, c.Class, c.Quantity, c.Time)
		found := false
		for _, rec := range recs {
			var v vee.Value
			if rec.Key == key && json.Unmarshal(rec.Body, &v) == nil {
				found, c.Before = true, v.Value.String()+" ("+string(v.Quality)+")"
			}
		}
		if !found {
			api.Error(w, http.StatusNotFound, "no %s value of %q for meter %s at %s to correct", c.Class, c.Quantity, c.Meter, c.Time.In(s.Location).Format(time.RFC3339))
			return
		}
	} else {
		if c.End, err = s.when(p.End); err != nil || !c.End.After(c.Time) {
			bad(w, "end", "%q is not a time after time", p.End)
			return
		}
		if c.Value.Units <= 0 {
			bad(w, "value", "%s: an energy to add, bill or refund is positive", p.Value)
			return
		}
	}
	if err := s.number(ctx, &c); err != nil {
		api.Error(w, http.StatusInternalServerError, "results store: %s", err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/corrections/%d", c.No))
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(c)
}

// number gives c the next number and stores it. On a conditional store
// (several nodes on one database) the number is taken by a put if absent,
// and a number another node took first makes it try the next; otherwise
// the Service's lock numbers one proposal at a time.
func (s *Service) number(ctx context.Context, c *results.Correction) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cond, _ := s.Results.(store.ConditionalResults)
	for tries := 0; ; tries++ {
		all, err := s.Results.Current(ctx, store.RecordQuery{Kind: results.KindCorrection})
		if err != nil {
			return err
		}
		c.No = int64(len(all)) + 1
		for _, rec := range all {
			var o results.Correction
			if json.Unmarshal(rec.Body, &o) == nil && o.No >= c.No {
				c.No = o.No + 1
			}
		}
		if cond == nil {
			_, err := s.Results.Put(ctx, []store.Record{c.Record()})
			return err
		}
		_, err = cond.PutIf(ctx, c.Record(), 0)
		if !errors.Is(err, store.ErrConflict) || tries == maxNumberTries {
			return err
		}
	}
}

// maxNumberTries bounds how often a proposal loses its number to another
// node's before it gives up.
const maxNumberTries = 100

// put stores c's decision over version of its record: on a conditional
// store only if nobody stored another version since, else (in the
// Service's lock) outright.
func (s *Service) put(ctx context.Context, c results.Correction, version int) error {
	if cond, ok := s.Results.(store.ConditionalResults); ok {
		_, err := cond.PutIf(ctx, c.Record(), version)
		return err
	}
	_, err := s.Results.Put(ctx, []store.Record{c.Record()})
	return err
}

func (s *Service) load(ctx context.Context, w http.ResponseWriter, r *http.Request) (results.Correction, int, bool) {
	var c results.Correction
	no, err := strconv.ParseInt(r.PathValue("no"), 10, 64)
	if err != nil || no < 1 {
		bad(w, "no", "%q is not a correction number", r.PathValue("no"))
		return c, 0, false
	}
	h, err := s.Results.History(ctx, results.KindCorrection, results.CorrectionKey(no))
	if err != nil {
		api.Error(w, http.StatusInternalServerError, "results store: %s", err)
		return c, 0, false
	}
	if len(h) == 0 {
		api.Error(w, http.StatusNotFound, "no correction %d", no)
		return c, 0, false
	}
	if err := json.Unmarshal(h[len(h)-1].Body, &c); err != nil {
		api.Error(w, http.StatusInternalServerError, "correction %d: %s", no, err)
		return c, 0, false
	}
	return c, h[len(h)-1].Version, true
}

func (s *Service) get(w http.ResponseWriter, r *http.Request) {
	c, _, ok := s.load(r.Context(), w, r)
	if ok {
		api.JSON(w, c)
	}
}

func (s *Service) list(w http.ResponseWriter, r *http.Request) {
	status, err := api.OneOf(r, "status", results.Proposed, results.Approved, results.Rejected)
	if err != nil {
		api.Error(w, http.StatusBadRequest, "%s", err)
		return
	}
	recs, err := s.Results.Current(r.Context(), store.RecordQuery{Kind: results.KindCorrection})
	if err != nil {
		api.Error(w, http.StatusInternalServerError, "results store: %s", err)
		return
	}
	out := []results.Correction{}
	for _, rec := range recs {
		var c results.Correction
		if json.Unmarshal(rec.Body, &c) == nil && (status == "" || c.Status == status) {
			out = append(out, c)
		}
	}
	api.JSON(w, map[string]any{"corrections": out})
}

var errSelf = errors.New("nobody decides on their own correction")

func (s *Service) decide(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who, _ := auth.From(r.Context())
		var body struct {
			Reason string `json:"reason"`
		}
		if r.ContentLength != 0 {
			if err := api.DecodeJSON(w, r, 1<<14, &body); err != nil && err != io.EOF {
				api.Error(w, api.BodyStatus(err), "body: %s", err)
				return
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		c, version, ok := s.load(r.Context(), w, r)
		if !ok {
			return
		}
		switch {
		case c.ProposedBy == who.Name:
			api.Error(w, http.StatusForbidden, "correction %d: %s (proposed by %s)", c.No, errSelf, c.ProposedBy)
			return
		case c.Status != results.Proposed:
			api.Error(w, http.StatusConflict, "correction %d is already %s by %s", c.No, c.Status, c.DecidedBy)
			return
		}
		c.Status, c.DecidedBy, c.DecidedAt, c.Decision = status, who.Name, s.Now(), strings.TrimSpace(body.Reason)
		if err := s.put(r.Context(), c, version); errors.Is(err, store.ErrConflict) {
			api.Error(w, http.StatusConflict, "correction %d was decided meanwhile (on another node)", c.No)
			return
		} else if err != nil {
			api.Error(w, http.StatusInternalServerError, "results store: %s", err)
			return
		}
		if status == results.Approved && s.Decided != nil {
			s.Decided()
		}
		api.JSON(w, c)
	}
}
