package manage_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRequests sends malformed query parameters and bodies to every route:
// each answers, never with a server error, in JSON where JSON is due.
func FuzzRequests(f *testing.F) {
	_, svc := handEnv(f)
	mux := http.NewServeMux()
	id := func(h http.Handler) http.Handler { return h }
	svc.Register(mux, id, id)
	routes := []struct{ method, path string }{
		{"GET", "/api/v1/rollups"}, {"GET", "/api/v1/areas/D01/hourly"}, {"GET", "/api/v1/assessment"},
		{"GET", "/api/v1/assessment/print"}, {"GET", "/api/v1/inspections"}, {"GET", "/api/v1/inspections/I202506-001"},
		{"POST", "/api/v1/inspections/generate"}, {"POST", "/api/v1/inspections/I202506-001/check"},
	}
	f.Add(uint8(0), "from=2025-06-01&to=2025-06-03&by=season&seasons=a%3D1-6%3Bb%3D7-12", "")
	f.Add(uint8(1), "date=2025-06-03", "")
	f.Add(uint8(2), "period=2025-06&by=responsible&format=csv", "")
	f.Add(uint8(3), "period=1999-13", "")
	f.Add(uint8(4), "month=2025-06", "")
	f.Add(uint8(7), "", `{"finding":"x","fault_energy":{"from":"2025-06-01","to":"2025-06-02","kwh":"1.5"}}`)
	f.Add(uint8(7), "", `{"finding":"x","fault_energy":{"meter":"000000000101","from":"2025-06-01","to":"2025-06-02","kwh":"99999999999999999999"}}`)
	f.Fuzz(func(t *testing.T, route uint8, query, body string) {
		rt := routes[int(route)%len(routes)]
		req := httptest.NewRequest(rt.method, "http://x"+rt.path, strings.NewReader(body))
		req.URL.RawQuery = query
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s?%s %q: %d %s", rt.method, rt.path, query, body, w.Code, w.Body)
		}
		if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") && !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s %s?%s: invalid JSON %s", rt.method, rt.path, query, w.Body)
		}
	})
}
