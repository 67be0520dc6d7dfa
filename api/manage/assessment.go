package manage

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/headend/headend/analysis/assess"
	"github.com/headend/headend/api"
)

// Row is an assessment row as the API shows it.
type Row struct {
	Key            string   `json:"key"`
	Name           string   `json:"name,omitempty"`
	Responsible    string   `json:"responsible"`
	Areas          []string `json:"areas,omitempty"`
	Target         string   `json:"target"`
	TargetFrom     string   `json:"target_from,omitempty"`
	Actual         string   `json:"actual"`
	Qualified      bool     `json:"qualified"`
	Previous       string   `json:"previous"`
	Change         string   `json:"change"`
	Collection     string   `json:"collection_rate"`
	Supply         string   `json:"supply"`
	Sales          string   `json:"sales"`
	Loss           string   `json:"loss"`
	Days           int      `json:"days"`
	ComputableDays int      `json:"computable_days"`
	Source         string   `json:"source"`
}

// report makes the assessment the request asks for.
func (s *Service) report(w http.ResponseWriter, r *http.Request) (assess.Report, bool) {
	month, err := s.month(r, "period", s.today().AddDate(0, 0, -1))
	var by string
	if err == nil {
		by, err = api.OneOf(r, "by", string(assess.ByArea), string(assess.ByResponsible))
	}
	if err != nil {
		api.Error(w, http.StatusBadRequest, "%s", err)
		return assess.Report{}, false
	}
	if by == "" {
		by = string(assess.ByArea)
	}
	rs, err := s.balances(r.Context(), "", month.AddDate(0, -1, 0), month.AddDate(0, 1, 0))
	if err != nil {
		s.fail(w, "results store", err)
		return assess.Report{}, false
	}
	rep, err := assess.Assess(assess.Input{Archive: s.Archive(), Targets: s.targets(), Month: month, Balances: rs}, assess.By(by))
	if err != nil {
		api.Error(w, http.StatusBadRequest, "%s", err)
		return assess.Report{}, false
	}
	return rep, true
}

func (s *Service) assessment(w http.ResponseWriter, r *http.Request) {
	format, err := api.OneOf(r, "format", "json", "csv")
	if err != nil {
		api.Error(w, http.StatusBadRequest, "%s", err)
		return
	}
	rep, ok := s.report(w, r)
	if !ok {
		return
	}
	if format == "csv" {
		var buf bytes.Buffer
		if err := assess.WriteCSV(&buf, &rep); err != nil {
			s.fail(w, "csv", err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="assessment-`+rep.Period+`-`+string(rep.By)+`.csv"`)
		w.Write(buf.Bytes())
		return
	}
	rows := make([]Row, len(rep.Rows))
	for i := range rep.Rows {
		x := &rep.Rows[i]
		c := rep.Cells(x)
		rows[i] = Row{Key: x.Key, Name: x.Name, Responsible: x.Responsible, Areas: x.Areas, Target: c[6], TargetFrom: x.TargetFrom,
			Actual: c[7], Qualified: x.Qualified, Previous: c[9], Change: c[10], Collection: c[11], Supply: c[12], Sales: c[13], Loss: c[14],
			Days: x.Days, ComputableDays: x.ComputableDays, Source: x.Source}
	}
	api.JSON(w, map[string]any{"period": rep.Period, "by": rep.By, "rows": rows,
		"assessed": rep.Assessed, "qualified": rep.Qualified})
}

func (s *Service) assessmentPrint(w http.ResponseWriter, r *http.Request) {
	rep, ok := s.report(w, r)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := assess.WriteHTML(&buf, &rep, assess.Page{Title: s.Title, Generated: s.Now().In(s.Location)}); err != nil {
		s.fail(w, "page", err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}
