package manage

import (
	"net/http"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/api"
)

// Group is a roll-up group as the API shows it.
type Group struct {
	Key        string   `json:"key"`
	Supply     string   `json:"supply"`
	Sales      string   `json:"sales"`
	Loss       string   `json:"loss"`
	Rate       string   `json:"rate"`
	Areas      int      `json:"areas"`
	AreaIDs    []string `json:"area_ids"`
	AreaDays   int      `json:"area_days"`
	Computable int      `json:"computable_area_days"`
	Excluded   []string `json:"excluded"` // "D01 2025-06-30T00:00": the area-days left out
	Overflow   bool     `json:"overflow,omitempty"`
}

func group(g *loss.Sum) Group {
	out := Group{Key: g.Key, Supply: g.Supply.String(), Sales: g.Sales.String(), Loss: g.Loss.String(), Rate: opt(g.Rate, g.HasRate),
		Areas: len(g.Areas), AreaIDs: g.Areas, AreaDays: g.Balances, Computable: g.Computable, Excluded: g.Excluded, Overflow: g.Overflow}
	if out.AreaIDs == nil {
		out.AreaIDs = []string{}
	}
	if out.Excluded == nil {
		out.Excluded = []string{}
	}
	return out
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

func (s *Service) rollups(w http.ResponseWriter, r *http.Request) {
	from, to, ok := s.span(w, r)
	if !ok {
		return
	}
	levels := make([]string, len(loss.Levels))
	for i, l := range loss.Levels {
		levels[i] = string(l)
	}
	by, err := api.OneOf(r, "by", levels...)
	if err != nil {
		api.Error(w, http.StatusBadRequest, "%s", err)
		return
	}
	if by == "" {
		by = string(loss.ByFeeder)
	}
	seasons := s.Seasons
	if v := r.URL.Query().Get("seasons"); v != "" {
		if seasons, err = loss.ParseSeasons(v); err != nil {
			api.Error(w, http.StatusBadRequest, "seasons: %s", err)
			return
		}
	}
	rs, err := s.balances(r.Context(), "", from, to.AddDate(0, 0, 1))
	if err != nil {
		s.fail(w, "results store", err)
		return
	}
	daily := rs[:0]
	for _, x := range rs {
		if x.Period.Kind == loss.Daily {
			daily = append(daily, x)
		}
	}
	gs, total, err := loss.Summarise(daily, loss.Level(by), loss.Options{Archive: s.Archive(), Seasons: seasons})
	if err != nil {
		api.Error(w, http.StatusBadRequest, "%s", err)
		return
	}
	out := make([]Group, len(gs))
	for i := range gs {
		out[i] = group(&gs[i])
	}
	body := map[string]any{"by": by, "from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly), "groups": out, "total": group(&total)}
	if by == string(loss.BySeason) {
		if seasons == nil {
			seasons = loss.DefaultSeasons()
		}
		body["seasons"] = seasons.String()
	}
	api.JSON(w, body)
}
