package assess

import (
	"embed"
	"encoding/csv"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/headend/headend/analysis/loss"
)

// CSVColumns are the columns [WriteCSV] writes.
var CSVColumns = []string{"period", "by", "key", "name", "responsible", "areas", "target", "actual", "qualified",
	"previous", "change", "collection_rate", "supply", "sales", "loss", "days", "computable_days", "source", "target_from"}

// Cells are a row's cells in the order of [CSVColumns]: decimals with
// their exact digits, an empty cell for a figure there is not, qualified
// as true or false.
func (rep *Report) Cells(row *Row) []string {
	opt := func(d loss.Decimal, ok bool) string {
		if !ok {
			return ""
		}
		return d.String()
	}
	money := func(d loss.Decimal) string {
		if !row.HasFigures() {
			return ""
		}
		return d.String()
	}
	return []string{rep.Period, string(rep.By), row.Key, row.Name, row.Responsible, strings.Join(row.Areas, " "),
		opt(row.Target, row.HasTarget), opt(row.Actual, row.HasActual), strconv.FormatBool(row.Qualified),
		opt(row.Previous, row.HasPrevious), opt(row.Change, row.HasChange), opt(row.Collection, row.HasCollection),
		money(row.Supply), money(row.Sales), money(row.Loss), strconv.Itoa(row.Days), strconv.Itoa(row.ComputableDays), row.Source, row.TargetFrom}
}

// WriteCSV writes the report with a header row of [CSVColumns], one line
// per row.
func WriteCSV(w io.Writer, rep *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVColumns); err != nil {
		return err
	}
	for i := range rep.Rows {
		if err := cw.Write(rep.Cells(&rep.Rows[i])); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

//go:embed print.html
var printFS embed.FS

var printPage = template.Must(template.New("print.html").Funcs(template.FuncMap{
	"opt": func(d loss.Decimal, ok bool) string {
		if !ok {
			return "—"
		}
		return d.String()
	},
	"signed": func(d loss.Decimal, ok bool) string {
		if !ok {
			return "—"
		}
		if loss.Sign(d) > 0 {
			return "+" + d.String()
		}
		return d.String()
	},
	"join": strings.Join,
}).ParseFS(printFS, "print.html"))

// Page is what the printable page shows besides the report.
type Page struct {
	Title     string    // e.g. the utility's name; empty: "Line loss assessment"
	Generated time.Time // when it was made
}

// WriteHTML writes the report as a printable HTML page: a table with a
// print style sheet (A4 landscape, repeated header row), no scripts.
func WriteHTML(w io.Writer, rep *Report, p Page) error {
	if p.Title == "" {
		p.Title = "Line loss assessment"
	}
	return printPage.Execute(w, struct {
		*Report
		Page
		Generated, Last string
	}{rep, p, p.Generated.Format("2006-01-02 15:04 MST"), rep.To.AddDate(0, 0, -1).Format(time.DateOnly)})
}
