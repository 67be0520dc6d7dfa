package manage

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/api"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// Hour is one hour of an area's near-real-time loss.
type Hour struct {
	Hour        string     `json:"hour"` // its start, RFC 3339
	Supply      string     `json:"supply"`
	Sales       string     `json:"sales"`
	Loss        string     `json:"loss"`
	Rate        string     `json:"rate"`
	Class       loss.Class `json:"class"`
	Provisional bool       `json:"provisional"`
	Reasons     []string   `json:"reasons"`
	Expected    int        `json:"meters_expected"`
	Read        int        `json:"meters_read"`
	Missing     int        `json:"meters_missing"`
}

// Settled is the day's balance as the analysis stored it, which settles
// the hours.
type Settled struct {
	Supply  string     `json:"supply"`
	Sales   string     `json:"sales"`
	Loss    string     `json:"loss"`
	Rate    string     `json:"rate"`
	Class   loss.Class `json:"class"`
	Version int        `json:"version"`
}

func (s *Service) hourly(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ix := s.Archive()
	if _, ok := ix.Area(id); !ok {
		api.Error(w, http.StatusNotFound, "area %q is not in the archive", id)
		return
	}
	date, err := api.Date(r, "date", s.Location, s.today())
	if err != nil {
		api.Error(w, http.StatusBadRequest, "%s", err)
		return
	}
	if s.Reads == nil {
		api.Error(w, http.StatusServiceUnavailable, "no read store to take the load profile from")
		return
	}
	var meters []string
	for _, m := range ix.MetersInArea(id) {
		meters = append(meters, m.Address)
	}
	end := date.AddDate(0, 0, 1)
	var reads []meter.Read
	if len(meters) > 0 {
		for _, q := range []store.Query{
			{Meters: meters, Class: meter.Interval, From: date.Add(-loss.HourTolerance), To: end.Add(loss.HourTolerance + time.Second)},
			{Meters: meters, Class: meter.Daily, From: date.Add(-loss.HourTolerance), To: end.Add(loss.HourTolerance + time.Second)},
		} {
			rs, err := s.Reads.Query(r.Context(), q)
			if err != nil {
				s.fail(w, "read store", err)
				return
			}
			reads = append(reads, rs...)
		}
	}
	hs := loss.ComputeHours(ix, id, date, loss.NewSet(loss.ReadingsOf(reads)), s.Loss)
	out := make([]Hour, len(hs))
	for i := range hs {
		h := &hs[i]
		x := Hour{Hour: h.Period.Start.In(s.Location).Format(time.RFC3339), Class: h.Class, Provisional: h.Provisional, Reasons: h.Reasons,
			Expected: h.Expected, Read: h.Read + h.Estimated, Missing: h.Missing, Rate: opt(h.Rate, h.HasRate)}
		if h.Class.Computable() {
			x.Supply, x.Sales, x.Loss = h.Supply.String(), h.Sales.String(), h.Loss.String()
		}
		out[i] = x
	}
	body := map[string]any{"area": id, "date": date.Format(time.DateOnly), "hours": out}
	recs, err := s.Results.Current(r.Context(), store.RecordQuery{Kind: analysis.KindLoss, Area: id, From: date, To: date.Add(time.Nanosecond)})
	if err != nil {
		s.fail(w, "results store", err)
		return
	}
	for _, rec := range recs {
		var d loss.Result
		if json.Unmarshal(rec.Body, &d) != nil || d.Period.Kind != loss.Daily {
			continue
		}
		st := Settled{Class: d.Class, Version: rec.Version, Rate: opt(d.Rate, d.HasRate)}
		if d.Class.Computable() {
			st.Supply, st.Sales, st.Loss = d.Supply.String(), d.Sales.String(), d.Loss.String()
		}
		body["settled"] = st
	}
	api.JSON(w, body)
}
