package loss_test

import (
	"github.com/headend/headend/api/apitest"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/analysis/analysistest"
	"github.com/headend/headend/api/loss"
	"github.com/headend/headend/archive"
)

func serve(t *testing.T, a *analysistest.Analysed) *httptest.Server {
	svc := &loss.Service{Results: a.Results, Archive: func() *archive.Index { return a.Archive }, Location: a.Fleet.Zone(),
		Now: func() time.Time { return a.Now }}
	mux := http.NewServeMux()
	svc.Register(mux, func(h http.Handler) http.Handler { return h })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// get is apitest.Get.
var get = apitest.Get

// The loss API over real HTTP, on the demo fleet's first 20 days as the
// analysis stored them.
func TestLossAPI(t *testing.T) {
	analysistest.Heavy(t)
	a := analysistest.Analyse(t, "../../testdata/scenarios/demo.yaml", 20)
	srv := serve(t, a)
	var areas struct {
		From, To string
		Areas    []loss.Area
	}
	get(t, srv.URL+"/api/v1/areas?from=2025-06-10&to=2025-06-19", 200, &areas)
	if len(areas.Areas) != len(a.Fleet.Areas()) || areas.From != "2025-06-10" || areas.To != "2025-06-19" {
		t.Fatalf("areas: %+v", areas)
	}
	for _, ar := range areas.Areas {
		if ar.Days != 10 || ar.ComputableDays == 0 || ar.Rate == "" || ar.Collection == "" || ar.Name == "" {
			t.Errorf("area %+v", ar)
		}
	}
	// D02 has a stopped meter from the 2nd
	var flags struct{ Flags []loss.Flag }
	get(t, srv.URL+"/api/v1/areas/D02/flags?from=2025-06-10&to=2025-06-19", 200, &flags)
	found := false
	for _, f := range flags.Flags {
		if f.Kind == "stopped" && f.Meter == "000002000045" && len(f.Evidence) > 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("no stopped flag on 000002000045 with evidence: %+v", flags)
	}
	var trend struct{ Days []loss.Day }
	get(t, srv.URL+"/api/v1/areas/D01/loss?from=2025-06-10&to=2025-06-19", 200, &trend)
	if len(trend.Days) != 10 || trend.Days[0].Date != "2025-06-10" || trend.Days[0].Supply == "" || trend.Days[0].Used == 0 {
		t.Fatalf("D01 trend: %+v", trend)
	}
	var feeder struct{ Areas []loss.Area }
	get(t, srv.URL+"/api/v1/areas?from=2025-06-10&to=2025-06-19&feeder=F10-202", 200, &feeder)
	want := 0 // the demo's areas on F10-202
	for _, ar := range a.Fleet.Areas() {
		if ar.Feeder == "F10-202" {
			want++
		}
	}
	if len(feeder.Areas) != want || want < 2 {
		t.Errorf("feeder F10-202: %d areas, want %d", len(feeder.Areas), want)
	}
	var meters struct {
		Meters []struct{ Address, Status string }
	}
	get(t, srv.URL+"/api/v1/areas/D05/meters?date=2025-06-15", 200, &meters)
	failed := 0
	for _, m := range meters.Meters {
		if m.Status == "failed" || m.Status == "flagged" {
			failed++
		}
	}
	if len(meters.Meters) != 76 || failed == 0 {
		t.Errorf("D05 meters: %d, %d failed or flagged", len(meters.Meters), failed)
	}
	get(t, srv.URL+"/api/v1/areas/D01/theft", 200, nil)
	get(t, srv.URL+"/api/v1/meta", 200, nil)
	// bad requests name what is wrong
	for url, want := range map[string]string{
		"/api/v1/areas?from=2025-13-01":                  "from:",
		"/api/v1/areas?from=2025-06-10&to=2025-06-01":    "to:",
		"/api/v1/areas?class=terrible":                   "class:",
		"/api/v1/areas?feeder=F99":                       "feeder:",
		"/api/v1/areas/D01/theft?date=yesterday":         "date:",
		"/api/v1/areas/D01/loss?to=2025-06-10&from=junk": "from:",
	} {
		if body := get(t, srv.URL+url, 400, nil); !strings.Contains(body, want) {
			t.Errorf("%s: %s, want it to name %q", url, body, want)
		}
	}
	get(t, srv.URL+"/api/v1/areas/NOPE/loss", 404, nil)
}

// An area with no theft ranking yet is a normal state: 200, no
// candidates and a reason that names the date asked for (16.11).
func TestTheftNotRankedYet(t *testing.T) {
	a := analysistest.Analyse(t, "../../testdata/scenarios/tiny.yaml", 2)
	srv := serve(t, a)
	area := a.Archive.Archive().Areas[0].ID
	var b struct {
		Area, Date, Reason string
		Candidates         []any
	}
	get(t, srv.URL+"/api/v1/areas/"+area+"/theft?date=2020-01-01", 200, &b)
	if b.Area != area || b.Date != "" || b.Candidates == nil || len(b.Candidates) != 0 || !strings.Contains(b.Reason, "on or before 2020-01-01") {
		t.Errorf("not ranked yet: %+v", b)
	}
	get(t, srv.URL+"/api/v1/areas/NOPE/theft", 404, nil)
}
