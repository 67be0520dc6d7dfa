package billing_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/analysis/analysistest"
	"github.com/headend/headend/api/billing"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/results"
)

func get(t *testing.T, url string, want int) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %d %s, want %d", url, resp.StatusCode, b, want)
	}
	return b
}

type feed struct {
	NextCursor int64 `json:"next_cursor"`
	More       bool
	Changes    []billing.Change
}

// pull drains the change feed from cursor.
func pull(t *testing.T, base string, cursor int64) ([]billing.Change, int64) {
	var all []billing.Change
	for {
		var f feed
		if err := json.Unmarshal(get(t, fmt.Sprintf("%s/api/v1/billing/changes?cursor=%d&limit=5000", base, cursor), 200), &f); err != nil {
			t.Fatal(err)
		}
		all = append(all, f.Changes...)
		cursor = f.NextCursor
		if !f.More {
			return all, cursor
		}
	}
}

func TestBillingAPI(t *testing.T) {
	analysistest.Heavy(t)
	a := analysistest.Analyse(t, "../../testdata/scenarios/demo.yaml", 20)
	res := a.Results
	start := func() *httptest.Server {
		svc := &billing.Service{Results: res, Archive: func() *archive.Index { return a.Archive }, Location: a.Fleet.Zone()}
		mux := http.NewServeMux()
		svc.Register(mux, func(h http.Handler) http.Handler { return h })
		return httptest.NewServer(mux)
	}
	srv := start()
	// determinants of D02 over 8 .. 15 June
	var d struct {
		Determinants []billing.Determinant
		Exceptions   []billing.Exception
	}
	if err := json.Unmarshal(get(t, srv.URL+"/api/v1/billing/determinants?from=2025-06-08&to=2025-06-16&area=D02", 200), &d); err != nil {
		t.Fatal(err)
	}
	// by hand from the registers the reads carried: the area meter
	// (multiplier 120) and a customer
	regs := map[string]dlt645.Decimal{}
	rs, _ := a.Reads.Query(context.Background(), store.Query{Area: "D02", Class: meter.Daily})
	for _, r := range rs {
		if r.Quantity == "forward active energy total" && r.Status == meter.OK {
			regs[r.Meter+"|"+r.MeterTime.Format(time.DateOnly)] = r.Value
		}
	}
	checked := 0
	for _, x := range d.Determinants {
		if x.Quantity != "forward active energy total" || (x.Meter != "000002000000" && x.Meter != "000002000010") {
			continue
		}
		s, e := regs[x.Meter+"|2025-06-08"], regs[x.Meter+"|2025-06-16"]
		want := (e.Units - s.Units) * x.Multiplier
		if x.Start.Value != s.String() || x.End.Value != e.String() || x.Consumption != (dlt645.Decimal{Units: want, Scale: 2}).String() {
			t.Errorf("%s: %+v, want %s → %s × %d = %d", x.Meter, x, s, e, x.Multiplier, want)
		}
		checked++
	}
	if checked != 2 {
		t.Fatalf("checked %d determinants of %d", checked, len(d.Determinants))
	}
	for _, x := range d.Determinants {
		if x.Quality == "suspect" || x.Quality == "failed" {
			t.Errorf("a %s read among the billable: %+v", x.Quality, x)
		}
	}
	csvBody := get(t, srv.URL+"/api/v1/billing/determinants?from=2025-06-08&to=2025-06-16&area=D02&format=csv", 200)
	rows, err := csv.NewReader(strings.NewReader(string(csvBody))).ReadAll()
	if err != nil || len(rows) != 1+len(d.Determinants)+len(d.Exceptions) || rows[0][0] != "meter" {
		t.Fatalf("csv: %d rows, %v", len(rows), err)
	}
	for url, want := range map[string]string{
		"/api/v1/billing/determinants?to=2025-06-16":                            "from:",
		"/api/v1/billing/determinants?from=2025-06-16&to=2025-06-08":            "to:",
		"/api/v1/billing/determinants?from=2025-06-08&to=2025-06-16&format=xml": "format:",
		"/api/v1/billing/changes?cursor=-1":                                     "cursor:",
		"/api/v1/billing/changes?limit=0":                                       "limit:",
	} {
		if body := get(t, srv.URL+url, 400); !strings.Contains(string(body), want) {
			t.Errorf("%s: %s, want it to name %q", url, body, want)
		}
	}
	// the feed: everything once
	all, cursor := pull(t, srv.URL, 0)
	seen := map[string]bool{}
	for _, c := range all {
		k := c.Meter + c.Quantity + c.Time
		if seen[k] || c.Change != "new" {
			t.Fatalf("%s delivered twice or as %s", k, c.Change)
		}
		seen[k] = true
	}
	if len(all) == 0 {
		t.Fatal("empty feed")
	}
	// a person's correction of a read reaches the store, the analysis
	// runs again: the billing system sees the revision once
	r := rs[len(rs)-1]
	for _, x := range rs {
		if x.Meter == "000002000010" && x.Quantity == "forward active energy total" && x.MeterTime.Format(time.DateOnly) == "2025-06-18" {
			r = x
		}
	}
	r.Value.Units += 1 // a re-read with another value: a conflict, held as suspect
	r.ReadAt = r.ReadAt.Add(time.Hour)
	if err := a.Reads.Write(context.Background(), []meter.Read{r}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Analyzer.Run(context.Background(), a.Now); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	res.Close()
	// a restart: the cursor still holds
	if res, err = results.Open(a.ResultsPath, results.Options{}); err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	srv = start()
	defer srv.Close()
	again, next := pull(t, srv.URL, cursor)
	revised := 0
	for _, c := range again {
		if c.Change != "revision" {
			t.Errorf("after the correction: %+v", c)
		}
		if c.Meter == "000002000010" && strings.HasPrefix(c.Time, "2025-06-18") && c.Quantity == r.Quantity {
			revised++
		}
	}
	if revised != 1 {
		t.Fatalf("the corrected read came %d times in %d changes", revised, len(again))
	}
	if more, _ := pull(t, srv.URL, next); len(more) != 0 {
		t.Fatalf("%d changes after the last cursor", len(more))
	}
}
