package review_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	apireview "github.com/headend/headend/api/review"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/store/results"
)

// Any query string gets a JSON answer: 200, or 400 naming the parameter;
// never a failure of the server.
func FuzzQuery(f *testing.F) {
	for _, q := range []string{"from=2025-06-01&to=2025-06-07", "period=week&area=A1&rule=read_gap", "from=2025-13-01", "to=0000-01-01",
		"from=2025-06-07&to=2025-06-01", "area=%00", "rule=capacity_over&period=day"} {
		f.Add("/api/v1/review", q)
		f.Add("/api/v1/archive/checks", q)
		f.Add("/api/v1/archive/changes", q)
	}
	rs, err := results.Open(filepath.Join(f.TempDir(), "r.db"), results.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer rs.Close()
	a := &archive.Archive{Areas: []archive.Area{{ID: "A1", CapacityKVA: 50}},
		Meters: []archive.Meter{{Address: "000001000000", Area: "A1", Role: archive.RoleArea, CT: 10, PT: 1}}}
	ix := a.Index()
	cst := time.FixedZone("CST", 8*3600)
	svc := &apireview.Service{Results: rs, Archive: func() *archive.Index { return ix }, Location: cst,
		Now: func() time.Time { return time.Date(2025, 6, 10, 9, 0, 0, 0, cst) }}
	mux := http.NewServeMux()
	svc.Register(mux, func(h http.Handler) http.Handler { return h })
	f.Fuzz(func(t *testing.T, path, query string) {
		switch path {
		case "/api/v1/review", "/api/v1/archive/checks", "/api/v1/archive/changes", "/api/v1/review/rules":
		default:
			path = "/api/v1/review"
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path+"?"+q.Encode(), nil))
		if rec.Code != 200 && rec.Code != 400 {
			t.Fatalf("%s?%s: %d %s", path, query, rec.Code, rec.Body)
		}
		var v map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s?%s: %v in %s", path, query, err, rec.Body)
		}
		if rec.Code == 400 && v["error"] == nil {
			t.Fatalf("%s?%s: 400 without an error", path, query)
		}
	})
}
