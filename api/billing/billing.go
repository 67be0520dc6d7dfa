// Package billing serves billing systems: the validated register reads of
// a billing period as determinants (start and end reads per register and
// tariff, consumption = difference × multiplier, each with its quality
// and reasons; suspect and failed reads listed apart as exceptions, never
// billed), in JSON or CSV, and an incremental feed of every new or revised
// value since a cursor.
package billing

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/api"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/results"
)

// Service answers the billing API.
type Service struct {
	Results  store.Results
	Archive  func() *archive.Index
	Location *time.Location
}

// New returns a Service on the shared dependencies d; the fields that are
// this package's own are set on the result.
func New(d api.Deps) *Service {
	return &Service{Results: d.Results, Archive: d.Archive, Location: d.Location}
}

// Register mounts the routes on mux, each wrapped by guard.
func (s *Service) Register(mux *http.ServeMux, guard func(http.Handler) http.Handler) {
	mux.Handle("GET /api/v1/billing/determinants", guard(http.HandlerFunc(s.determinants)))
	mux.Handle("GET /api/v1/billing/changes", guard(http.HandlerFunc(s.changes)))
}

// Read is one end of a determinant.
type Read struct {
	Time    string      `json:"time"`
	Value   string      `json:"value"`
	Quality vee.Quality `json:"quality"`
	Class   meter.Class `json:"class"`
}

// Determinant is one register's figures over the period.
type Determinant struct {
	Meter       string      `json:"meter"`
	Area        string      `json:"area"`
	Quantity    string      `json:"quantity"`
	Unit        string      `json:"unit"`
	Multiplier  int64       `json:"multiplier"`
	Start       *Read       `json:"start,omitempty"`
	End         *Read       `json:"end"`
	Delta       string      `json:"delta,omitempty"`       // End − Start (register units); demand: the end value
	Consumption string      `json:"consumption,omitempty"` // Delta × multiplier
	Quality     vee.Quality `json:"quality"`               // the worse of the ends
	Reasons     []string    `json:"reasons,omitempty"`
}

// Exception is a register that cannot be billed, and why.
type Exception struct {
	Determinant
	Why string `json:"why"`
}

func (s *Service) determinants(w http.ResponseWriter, r *http.Request) {
	from, err := api.Date(r, "from", s.Location, time.Time{})
	var to time.Time
	if err == nil {
		to, err = api.Date(r, "to", s.Location, time.Time{})
	}
	var format string
	if err == nil {
		format, err = api.OneOf(r, "format", "json", "csv")
	}
	if err == nil && (from.IsZero() || to.IsZero()) {
		err = &api.BadParam{Name: map[bool]string{true: "from", false: "to"}[from.IsZero()], Value: "", Want: "given (the period's first day and the day after its last, YYYY-MM-DD)"}
	}
	if err == nil && !to.After(from) {
		err = &api.BadParam{Name: "to", Value: r.URL.Query().Get("to"), Want: "after from"}
	}
	if err != nil {
		api.Error(w, http.StatusBadRequest, "%s", err)
		return
	}
	ix := s.Archive()
	area, meter := r.URL.Query().Get("area"), r.URL.Query().Get("meter")
	if area != "" {
		if _, ok := ix.Area(area); !ok {
			api.Error(w, http.StatusNotFound, "area %q is not in the archive", area)
			return
		}
	}
	if meter != "" {
		if _, ok := ix.Meter(meter); !ok {
			api.Error(w, http.StatusNotFound, "meter %q is not in the archive", meter)
			return
		}
	}
	dets, exc, err := s.compute(r.Context(), ix, area, meter, from, to)
	if err != nil {
		api.Error(w, http.StatusInternalServerError, "results store: %s", err)
		return
	}
	if format == "csv" {
		writeCSV(w, dets, exc)
		return
	}
	api.JSON(w, map[string]any{"from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly), "determinants": dets, "exceptions": exc})
}

// ends returns the register values at t (within 3 hours after, for 1997
// meters read after midnight), by meter and quantity, monthly settlement
// reads preferred over daily freezes.
func (s *Service) ends(ctx context.Context, area, meterID string, t time.Time) (map[[2]string]vee.Value, error) {
	recs, err := s.Results.Current(ctx, store.RecordQuery{Kind: results.KindValue, Area: area, Meter: meterID, From: t, To: t.Add(3 * time.Hour)})
	if err != nil {
		return nil, err
	}
	out := map[[2]string]vee.Value{}
	for _, rec := range recs {
		var v vee.Value
		if json.Unmarshal(rec.Body, &v) != nil {
			continue
		}
		k := [2]string{v.Meter, v.Quantity}
		if old, ok := out[k]; ok && (old.Class == meter.Monthly || v.Class != meter.Monthly) {
			continue
		}
		v.Version = rec.Version
		out[k] = v
	}
	return out, nil
}

func (s *Service) compute(ctx context.Context, ix *archive.Index, area, meter string, from, to time.Time) ([]Determinant, []Exception, error) {
	start, err := s.ends(ctx, area, meter, from)
	if err != nil {
		return nil, nil, err
	}
	end, err := s.ends(ctx, area, meter, to)
	if err != nil {
		return nil, nil, err
	}
	dets, exc := []Determinant{}, []Exception{}
	for k, e := range end {
		m, ok := ix.Meter(k[0])
		if !ok {
			continue
		}
		d := Determinant{Meter: k[0], Area: m.Area, Quantity: k[1], Unit: e.Unit, Multiplier: int64(m.CT) * int64(m.PT),
			End: ref(e, s.Location), Quality: e.Quality, Reasons: reasons(e)}
		demand := strings.Contains(k[1], "demand")
		b, hasStart := start[k]
		if hasStart {
			d.Start = ref(b, s.Location)
			d.Reasons = append(d.Reasons, reasons(b)...)
			if !d.Quality.Usable() || !b.Quality.Usable() {
				d.Quality = worse(d.Quality, b.Quality)
			}
		}
		why := ""
		switch {
		case !d.Quality.Usable():
			why = fmt.Sprintf("a read is %s", d.Quality)
		case demand:
			d.Delta = e.Value.String()
			if c, ok := loss.MulInt(e.Value, d.Multiplier); ok {
				d.Consumption = c.String()
			}
		case !hasStart:
			why = "no register value at the period's start"
		default:
			delta, ok := loss.Sub(e.Value, b.Value)
			if !ok || loss.Sign(delta) < 0 {
				why = fmt.Sprintf("the register went down from %s to %s", b.Value, e.Value)
				break
			}
			c, ok := loss.MulInt(delta, d.Multiplier)
			if !ok {
				why = "the consumption does not fit"
				break
			}
			d.Delta, d.Consumption = delta.String(), c.String()
		}
		if why != "" {
			exc = append(exc, Exception{Determinant: d, Why: why})
			continue
		}
		dets = append(dets, d)
	}
	for k, b := range start {
		if _, ok := end[k]; !ok {
			if m, ok := ix.Meter(k[0]); ok {
				d := Determinant{Meter: k[0], Area: m.Area, Quantity: k[1], Unit: b.Unit, Multiplier: int64(m.CT) * int64(m.PT), Start: ref(b, s.Location), Quality: vee.Failed}
				exc = append(exc, Exception{Determinant: d, Why: "no register value at the period's end"})
			}
		}
	}
	order := func(a, b Determinant) int {
		return cmp.Or(strings.Compare(a.Meter, b.Meter), strings.Compare(a.Quantity, b.Quantity))
	}
	slices.SortFunc(dets, order)
	slices.SortFunc(exc, func(a, b Exception) int { return order(a.Determinant, b.Determinant) })
	return dets, exc, nil
}

func worse(a, b vee.Quality) vee.Quality {
	rank := map[vee.Quality]int{vee.Failed: 3, vee.Suspect: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func ref(v vee.Value, loc *time.Location) *Read {
	return &Read{Time: v.Time.In(loc).Format(time.RFC3339), Value: v.Value.String(), Quality: v.Quality, Class: v.Class}
}

func reasons(v vee.Value) []string {
	var out []string
	for _, r := range v.Reasons {
		out = append(out, string(r.Code)+": "+r.Message)
	}
	return out
}

func writeCSV(w http.ResponseWriter, dets []Determinant, exc []Exception) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	cw := csv.NewWriter(w)
	cw.Write([]string{"meter", "area", "quantity", "unit", "multiplier", "start_time", "start_value", "end_time", "end_value", "delta", "consumption", "quality", "billable", "why", "reasons"})
	row := func(d Determinant, ok bool, why string) {
		var st, sv, et, evl string
		if d.Start != nil {
			st, sv = d.Start.Time, d.Start.Value
		}
		if d.End != nil {
			et, evl = d.End.Time, d.End.Value
		}
		cw.Write([]string{d.Meter, d.Area, d.Quantity, d.Unit, strconv.FormatInt(d.Multiplier, 10), st, sv, et, evl, d.Delta, d.Consumption,
			string(d.Quality), strconv.FormatBool(ok), why, strings.Join(d.Reasons, "; ")})
	}
	for _, d := range dets {
		row(d, true, "")
	}
	for _, e := range exc {
		row(e.Determinant, false, e.Why)
	}
	cw.Flush()
}

// Change is one entry of the change feed.
type Change struct {
	Seq      int64       `json:"seq"`
	Change   string      `json:"change"` // "new", "revision" or "retracted"
	Version  int         `json:"version"`
	Meter    string      `json:"meter"`
	Area     string      `json:"area"`
	Class    meter.Class `json:"class"`
	Quantity string      `json:"quantity"`
	Time     string      `json:"time"`
	Value    string      `json:"value"`
	Quality  vee.Quality `json:"quality"`
	Billable bool        `json:"billable"`
	Reasons  []string    `json:"reasons,omitempty"`
	Stored   string      `json:"stored"`
}

func (s *Service) changes(w http.ResponseWriter, r *http.Request) {
	cursor, err := api.Int(r, "cursor", 0, 1<<62, 0)
	var limit int64
	if err == nil {
		limit, err = api.Int(r, "limit", 1, 10000, 1000)
	}
	if err != nil {
		api.Error(w, http.StatusBadRequest, "%s", err)
		return
	}
	recs, err := s.Results.Since(r.Context(), cursor, []string{results.KindValue, results.KindCorrection}, int(limit))
	if err != nil {
		api.Error(w, http.StatusInternalServerError, "results store: %s", err)
		return
	}
	out := []Change{}
	next := cursor
	for _, rec := range recs {
		next = rec.Seq
		if c, ok := ChangeOf(rec, s.Location); ok {
			out = append(out, c)
		}
	}
	api.JSON(w, map[string]any{"cursor": cursor, "next_cursor": next, "more": len(recs) == int(limit), "changes": out})
}

// ChangeOf is the change-feed entry of a stored value record; false when
// the record is not a value.
func ChangeOf(rec store.Record, loc *time.Location) (Change, bool) {
	if rec.Kind == results.KindCorrection {
		return correctionOf(rec, loc)
	}
	var v vee.Value
	if rec.Kind != results.KindValue || json.Unmarshal(rec.Body, &v) != nil {
		return Change{}, false
	}
	c := Change{Seq: rec.Seq, Change: "new", Version: rec.Version, Meter: v.Meter, Area: rec.Area, Class: v.Class, Quantity: v.Quantity,
		Time: v.Time.In(loc).Format(time.RFC3339), Value: v.Value.String(), Quality: v.Quality, Billable: v.Quality.Usable(),
		Reasons: reasons(v), Stored: rec.Stored.In(loc).Format(time.RFC3339)}
	if rec.Version > 1 {
		c.Change = "revision"
	}
	if rec.Retracted {
		c.Change, c.Billable = "retracted", false
	}
	return c, true
}

// correctionOf is the entry of an approved correction other than an edit
// (fault energy, back-billing, refund: an edit reaches billing as the
// value's revision); false for the others and for those not approved.
func correctionOf(rec store.Record, loc *time.Location) (Change, bool) {
	var c results.Correction
	if json.Unmarshal(rec.Body, &c) != nil || c.Status != results.Approved || c.Kind == results.CorrectEdit {
		return Change{}, false
	}
	return Change{Seq: rec.Seq, Change: "correction", Version: rec.Version, Meter: c.Meter, Area: c.Area, Quantity: c.Kind,
		Time: c.Time.In(loc).Format(time.RFC3339), Value: c.Value.String(), Quality: vee.Edited, Billable: true,
		Reasons: []string{fmt.Sprintf("correction %s: %s (proposed by %s, approved by %s)", results.CorrectionKey(c.No), c.Reason, c.ProposedBy, c.DecidedBy)},
		Stored:  rec.Stored.In(loc).Format(time.RFC3339)}, true
}
