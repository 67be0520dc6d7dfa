package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/headend/headend/api/audit"
	"github.com/headend/headend/api/auth"
	"github.com/headend/headend/collector"
	"github.com/headend/headend/collector/analysis/analysistest"
	"github.com/headend/headend/collector/archive"
	"github.com/headend/headend/collector/config"
	"github.com/headend/headend/collector/schedule"
)

// Each role over real HTTP against the daemon's API on the analysed demo
// fleet: what it may do, what it is refused (401 without a token, 403
// without the permission), and the audit of what was tried.
func TestAPIRoles(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 20 days")
	}
	a := analysistest.Analyse(t, "../../testdata/scenarios/demo.yaml", 20)
	tok := map[string]string{"billing": "billing-token-0123456789", "analyst": "analyst-token-0123456789",
		"operator": "operator-token-0123456789", "admin": "admin-token-0123456789ab"}
	var specs []config.TokenSpec
	for role, tk := range tok {
		specs = append(specs, config.TokenSpec{Name: role + " user", Roles: []string{role}, Token: tk})
	}
	toks, err := auth.New(specs, nil)
	if err != nil {
		t.Fatal(err)
	}
	alog, err := audit.Open(filepath.Join(t.TempDir(), "audit.jsonl"), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer alog.Close()
	var current atomic.Pointer[collector.Collector] // the collector is not running
	var arch atomic.Pointer[archive.Index]
	arch.Store(a.Archive)
	clk := schedule.ScaledClock{Start: a.Now, RealStart: a.Now, Speed: 1e-9}
	stg := &storage{results: a.Results}
	h := audit.Writes(alog)(apiHandler(http.NotFoundHandler(), toks, a.Analyzer, stg, alog, &current, &arch, a.Fleet.Zone(), clk, slog.New(slog.DiscardHandler)))
	srv := httptest.NewServer(h)
	defer srv.Close()
	do := func(method, path, role, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if role != "" {
			req.Header.Set("Authorization", "Bearer "+tok[role])
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	relay := `{"action":"trip","password":"02123456","operator":"00000001"}`
	for _, c := range []struct {
		method, path, role, body string
		want                     int
	}{
		{"GET", "/api/v1/areas", "", "", 401},
		{"GET", "/api/v1/billing/changes", "", "", 401},
		{"POST", "/api/v1/meters/000001000001/relay", "", relay, 401},
		{"GET", "/api/v1/areas", "billing", "", 403},
		{"GET", "/api/v1/billing/changes?cursor=0&limit=5", "billing", "", 200},
		{"GET", "/api/v1/billing/determinants?from=2025-06-05&to=2025-06-10&area=D01", "billing", "", 200},
		{"POST", "/api/v1/meters/000001000001/relay", "billing", relay, 403},
		{"GET", "/api/v1/audit", "billing", "", 403},
		{"GET", "/api/v1/areas", "analyst", "", 200},
		{"GET", "/api/v1/areas/D01/loss", "analyst", "", 200},
		{"GET", "/api/v1/areas/D01/flags", "analyst", "", 200},
		{"GET", "/api/v1/areas/D01/meters", "analyst", "", 200},
		{"GET", "/api/v1/analysis", "analyst", "", 200},
		{"GET", "/api/v1/billing/changes", "analyst", "", 200},
		{"POST", "/api/v1/meters/000001000001/relay", "analyst", relay, 403},
		{"GET", "/api/v1/billing/changes", "operator", "", 403},
		{"POST", "/api/v1/meters/000001000001/relay", "operator", relay, 503}, // allowed; no collector running here
		{"GET", "/api/v1/status/field", "operator", "", 503},
		{"GET", "/api/v1/areas?from=2025-02-30", "analyst", "", 400},
		{"GET", "/api/v1/billing/changes?cursor=x", "admin", "", 400},
		{"GET", "/api/v1/audit", "admin", "", 200},
		{"GET", "/api/v1/nothing-here", "admin", "", 404},
		{"GET", "/api/v1/openapi.yaml", "", "", 200},
	} {
		if got, body := do(c.method, c.path, c.role, c.body); got != c.want {
			t.Errorf("%s %s as %q: %d %s, want %d", c.method, c.path, c.role, got, body, c.want)
		}
	}
	// the relay attempts are audited, without the password
	_, body := do("GET", "/api/v1/audit", "admin", "")
	if !strings.Contains(body, "relay") || !strings.Contains(body, "operator user") || strings.Contains(body, "02123456") {
		t.Errorf("audit log: %s", body)
	}
}
