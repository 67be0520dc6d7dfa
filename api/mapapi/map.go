// Package mapapi serves the meter status map (GET /api/v1/map): every
// meter and concentrator of the archive where it stands, coloured by its
// read status on a day (read, estimated, failed, flagged), with per-area
// counts, so that maintenance staff see where failing meters cluster.
//
// Coordinates come from the archive (lat/lon of meters, concentrators and
// areas; 0,0 is unknown). Where the archive has none, the meters are laid
// out deterministically around their area ([Layout] "synthetic" or
// "mixed"), so that the map can still be drawn; such positions have no
// geographic meaning and the dashboard draws no map tiles under them.
// Statuses come from what the analysis stored: the day's balance of each
// area ("loss" records, loss.Result) and the flags open that day ("flag"
// records, anomaly.Flag).
package mapapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/api"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/store"
)

// Service answers the map API. Location is the zone days are counted in;
// Now defaults the day to the last complete one.
type Service struct {
	Results  store.Results
	Archive  func() *archive.Index
	Location *time.Location
	Now      func() time.Time
	// Complete is how long after midnight a day's reads are complete
	// (its closing freezes read); until then the map opens on the day
	// before yesterday, not on a day most meters have not reported yet.
	// Zero: 90 minutes, as the analysis.
	Complete time.Duration
}

// LastComplete returns the last day (00:00 in s.Location) whose reads
// are complete at now.
func (s *Service) LastComplete(now time.Time) time.Time {
	c := s.Complete
	if c <= 0 {
		c = 90 * time.Minute
	}
	n := now.In(s.Location).Add(-c)
	return time.Date(n.Year(), n.Month(), n.Day()-1, 0, 0, 0, 0, s.Location)
}

// Register mounts GET /api/v1/map on mux, wrapped by guard (the
// permission check: read access, as for the loss API).
func (s *Service) Register(mux *http.ServeMux, guard func(http.Handler) http.Handler) {
	mux.Handle("GET /api/v1/map", guard(http.HandlerFunc(s.serveMap)))
}

// Status is a meter's state on the map.
type Status string

// The statuses. Flagged wins over the read status (a flag open that day
// names the meter); Unknown is a meter of an area without a balance that
// day (the analysis has not run, or the area was not computed).
const (
	Read      Status = "read"
	Estimated Status = "estimated"
	Failed    Status = "failed"
	Flagged   Status = "flagged"
	Unknown   Status = "unknown"
)

// Layout says where the positions come from.
type Layout string

// The layouts.
const (
	FromArchive Layout = "archive"   // every position is the archive's
	Synthetic   Layout = "synthetic" // none is: all are laid out around their area
	Mixed       Layout = "mixed"     // some are the archive's, the others laid out
)

// Map is the answer of GET /api/v1/map.
type Map struct {
	Date          string         `json:"date"`
	Layout        Layout         `json:"layout"`
	Meters        []Meter        `json:"meters"`
	Concentrators []Concentrator `json:"concentrators"`
	Areas         []Area         `json:"areas"`
}

// Meter is one meter on the map. Placed is "archive" or "synthetic";
// ReadStatus is the status before flags (read, estimated, failed or
// unknown), Reason why a failed meter could not be used.
type Meter struct {
	Address    string   `json:"address"`
	Area       string   `json:"area"`
	Role       string   `json:"role"`
	Customer   string   `json:"customer,omitempty"`
	Lat        float64  `json:"lat"`
	Lon        float64  `json:"lon"`
	Placed     string   `json:"placed"`
	Status     Status   `json:"status"`
	ReadStatus Status   `json:"read_status"`
	Reason     string   `json:"reason,omitempty"`
	Flags      []string `json:"flags"`
}

// Concentrator is one concentrator on the map.
type Concentrator struct {
	ID     string  `json:"id"`
	Area   string  `json:"area"`
	Lat    float64 `json:"lat"`
	Lon    float64 `json:"lon"`
	Placed string  `json:"placed"`
}

// Area is an area's statistics on the day: its meters counted by status
// (the counts add up to Meters), its balance's class and rate ("" when
// not computable), the flags on the area itself, and its centre.
type Area struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Lat       float64  `json:"lat"`
	Lon       float64  `json:"lon"`
	Meters    int      `json:"meters"`
	Read      int      `json:"read"`
	Estimated int      `json:"estimated"`
	Failed    int      `json:"failed"`
	Flagged   int      `json:"flagged"`
	Unknown   int      `json:"unknown"`
	Class     string   `json:"class"`
	Rate      string   `json:"rate"`
	Flags     []string `json:"flags"`
}

func (s *Service) serveMap(w http.ResponseWriter, r *http.Request) {
	day, err := api.Date(r, "date", s.Location, s.LastComplete(s.Now()))
	if err != nil {
		api.Error(w, http.StatusBadRequest, "%s", err)
		return
	}
	ix := s.Archive()
	area := r.URL.Query().Get("area")
	if _, ok := ix.Area(area); area != "" && !ok {
		api.Error(w, http.StatusNotFound, "area %q is not in the archive", area)
		return
	}
	m, err := s.Build(r.Context(), ix, day, area)
	if err != nil {
		api.Error(w, http.StatusInternalServerError, "map of %s: results store: %s", day.Format(time.DateOnly), err)
		return
	}
	api.JSON(w, m)
}

// Build makes the map of day (00:00 in s.Location) for one area, or all
// when area is empty.
func (s *Service) Build(ctx context.Context, ix *archive.Index, day time.Time, area string) (*Map, error) {
	balances, err := s.balances(ctx, day, area)
	if err != nil {
		return nil, err
	}
	meterFlags, areaFlags, err := s.flags(ctx, day, area)
	if err != nil {
		return nil, err
	}
	pl := place(ix)
	out := &Map{Date: day.Format(time.DateOnly), Layout: pl.layout, Meters: []Meter{}, Concentrators: []Concentrator{}, Areas: []Area{}}
	for _, a := range ix.Archive().Areas {
		if area != "" && a.ID != area {
			continue
		}
		c := pl.centre[a.ID]
		row := Area{ID: a.ID, Name: a.Name, Lat: c.lat, Lon: c.lon, Class: string(loss.NotComputable), Flags: kinds(areaFlags[a.ID])}
		bal := balances[a.ID]
		if bal != nil {
			row.Class = string(bal.Class)
			if bal.Class.Computable() && bal.HasRate {
				row.Rate = bal.Rate.String()
			}
		}
		for _, am := range ix.MetersInArea(a.ID) {
			p := pl.meter[am.Address]
			m := Meter{Address: am.Address, Area: a.ID, Role: string(am.Role), Customer: am.Customer,
				Lat: p.lat, Lon: p.lon, Placed: p.placed(), Flags: kinds(meterFlags[am.Address])}
			m.ReadStatus, m.Reason = readStatus(bal, am.Address)
			m.Status = m.ReadStatus
			if len(m.Flags) > 0 {
				m.Status = Flagged
			}
			row.count(m.Status)
			out.Meters = append(out.Meters, m)
		}
		out.Areas = append(out.Areas, row)
	}
	for _, k := range ix.Archive().Concentrators {
		if area != "" && k.Area != area {
			continue
		}
		p := pl.conc[k.ID]
		out.Concentrators = append(out.Concentrators, Concentrator{ID: k.ID, Area: k.Area, Lat: p.lat, Lon: p.lon, Placed: p.placed()})
	}
	return out, nil
}

func (a *Area) count(st Status) {
	a.Meters++
	switch st {
	case Read:
		a.Read++
	case Estimated:
		a.Estimated++
	case Failed:
		a.Failed++
	case Flagged:
		a.Flagged++
	default:
		a.Unknown++
	}
}

// readStatus is a meter's part in its area's balance: unknown without a
// balance, failed when the balance could not use it (or does not list it).
func readStatus(bal *loss.Result, addr string) (Status, string) {
	if bal == nil {
		return Unknown, ""
	}
	var mr *loss.MeterResult
	if bal.AreaMeter != nil && bal.AreaMeter.Meter == addr {
		mr = bal.AreaMeter
	}
	for i := range bal.Meters {
		if mr == nil && bal.Meters[i].Meter == addr {
			mr = &bal.Meters[i]
		}
	}
	switch {
	case mr == nil:
		return Failed, "not in the day's balance"
	case mr.Status == loss.StatusRead:
		return Read, ""
	case mr.Status == loss.StatusEstimated:
		return Estimated, ""
	}
	return Failed, mr.Reason
}

// balances returns the daily balance of day by area.
func (s *Service) balances(ctx context.Context, day time.Time, area string) (map[string]*loss.Result, error) {
	recs, err := s.Results.Current(ctx, store.RecordQuery{Kind: analysis.KindLoss, Area: area, From: day, To: day.AddDate(0, 0, 1)})
	if err != nil {
		return nil, err
	}
	out := map[string]*loss.Result{}
	for _, rec := range recs {
		var r loss.Result
		if json.Unmarshal(rec.Body, &r) == nil && r.Period.Kind == loss.Daily {
			out[r.Area] = &r
		}
	}
	return out, nil
}

// flags returns the kinds of the flags open on day, by meter and (for
// flags on an area itself) by area.
func (s *Service) flags(ctx context.Context, day time.Time, area string) (byMeter, byArea map[string]map[string]bool, err error) {
	recs, err := s.Results.Current(ctx, store.RecordQuery{Kind: analysis.KindFlag, Area: area, To: day.AddDate(0, 0, 1)})
	if err != nil {
		return nil, nil, err
	}
	byMeter, byArea = map[string]map[string]bool{}, map[string]map[string]bool{}
	add := func(m map[string]map[string]bool, k, kind string) {
		if m[k] == nil {
			m[k] = map[string]bool{}
		}
		m[k][kind] = true
	}
	for _, rec := range recs {
		var f anomaly.Flag
		if json.Unmarshal(rec.Body, &f) != nil || (!f.End.IsZero() && f.End.Before(day)) {
			continue
		}
		if f.Meter != "" {
			add(byMeter, f.Meter, string(f.Kind))
		} else {
			add(byArea, f.Area, string(f.Kind))
		}
	}
	return byMeter, byArea, nil
}

func kinds(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
