package mapapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/headend/headend/api/mapapi"
	"github.com/headend/headend/api/mapapi/maptest"
)

// Any query gets an answer: a map (200), a bad parameter (400) or an
// unknown area (404), always JSON; never a failure of the server.
func FuzzMapQuery(f *testing.F) {
	fl := maptest.New(f, maptest.Options{Areas: 3, Meters: 5})
	mux := http.NewServeMux()
	service(fl).Register(mux, func(h http.Handler) http.Handler { return h })
	for _, seed := range [][2]string{{"", ""}, {"2025-06-10", "M01"}, {"2025-13-01", ""}, {"", "M9"}, {"0001-01-01", ""}, {"9999-12-31", "M03"}, {"2025-6-1", "M01 "}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, date, area string) {
		q := url.Values{}
		if date != "" {
			q.Set("date", date)
		}
		if area != "" {
			q.Set("area", area)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/map?"+q.Encode(), nil))
		switch rec.Code {
		case 200:
			var m mapapi.Map
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || m.Date == "" {
				t.Fatalf("date %q area %q: 200 with %v: %s", date, area, err, rec.Body)
			}
			if area != "" && (len(m.Areas) != 1 || m.Areas[0].ID != area) {
				t.Fatalf("area %q: the map has areas %+v", area, m.Areas)
			}
		case 400, 404:
			var e struct{ Error string }
			if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "" {
				t.Fatalf("date %q area %q: %d without a JSON error: %s", date, area, rec.Code, rec.Body)
			}
		default:
			t.Fatalf("date %q area %q: status %d: %s", date, area, rec.Code, rec.Body)
		}
	})
}
