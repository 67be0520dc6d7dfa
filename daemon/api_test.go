package daemon

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/analysistest"
	"github.com/headend/headend/api"
	"github.com/headend/headend/api/audit"
	"github.com/headend/headend/api/auth"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector"
	"github.com/headend/headend/collector/schedule"
)

// Each role over real HTTP against the daemon's API on the analysed demo
// fleet: what it may do, what it is refused (401 without a token, 403
// without the permission), and the audit of what was tried.
func TestAPIRoles(t *testing.T) {
	analysistest.Heavy(t)
	a := analysistest.Analyse(t, "../testdata/scenarios/demo.yaml", 20)
	tok := map[string]string{"billing": "billing-token-0123456789", "analyst": "analyst-token-0123456789",
		"operator": "operator-token-0123456789", "admin": "admin-token-0123456789ab"}
	var specs []auth.TokenSpec
	for role, tk := range tok {
		specs = append(specs, auth.TokenSpec{Name: role + " user", Roles: []string{role}, Token: tk})
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
	h := audit.Writes(alog)(apiHandler(testAPIDeps(a, stg, toks, alog, &current, &arch, clk)))
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
		{"GET", "/api/v1/terminals", "billing", "", 403},
		{"GET", "/api/v1/terminals", "analyst", "", 503}, // a reader may see them; no collector running here
		{"POST", "/api/v1/terminals/4401-0001/archive/push", "analyst", "", 403},
		{"POST", "/api/v1/terminals/4401-0001/time", "analyst", "", 403},
		{"POST", "/api/v1/terminals/4401-0001/time", "operator", "", 503},
		{"GET", "/api/v1/terminals/4401-0001/events", "billing", "", 403},
		{"GET", "/api/v1/terminals/4401-0001/events", "analyst", "", 503}, // a reader may list them
		{"POST", "/api/v1/terminals/4401-0001/events/read", "analyst", "", 403},
		{"POST", "/api/v1/terminals/4401-0001/events/read", "operator", "", 503},
		{"GET", "/api/v1/areas?from=2025-02-30", "analyst", "", 400},
		{"GET", "/api/v1/billing/changes?cursor=x", "admin", "", 400},
		{"GET", "/api/v1/audit", "admin", "", 200},
		{"GET", "/api/v1/nothing-here", "admin", "", 404},
		{"GET", "/api/v1/openapi.yaml", "", "", 200},
		{"POST", "/api/v1/analysis/run", "analyst", "", 403},
		{"POST", "/api/v1/analysis/run", "operator", "", 200}, // the analysis on demand (16.12)
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

// The correction workflow over real HTTP: proposed by one user, refused
// to its own proposer, approved by another, then seen by billing exactly
// once as a revision.
func TestCorrectionWorkflow(t *testing.T) {
	analysistest.Heavy(t)
	ctx := t.Context()
	a := analysistest.Analyse(t, "../testdata/scenarios/demo.yaml", 20)
	tok := map[string]string{"ana": "analyst-approver-token-01", "appr": "approver-token-0123456789", "bill": "billing-token-0123456789"}
	toks, err := auth.New([]auth.TokenSpec{
		{Name: "ana", Roles: []string{"analyst", "approver"}, Token: tok["ana"]},
		{Name: "appr", Roles: []string{"approver"}, Token: tok["appr"]},
		{Name: "bill", Roles: []string{"billing"}, Token: tok["bill"]},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	alog, err := audit.Open(filepath.Join(t.TempDir(), "audit.jsonl"), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer alog.Close()
	var current atomic.Pointer[collector.Collector]
	var arch atomic.Pointer[archive.Index]
	arch.Store(a.Archive)
	clk := schedule.ScaledClock{Start: a.Now, RealStart: a.Now, Speed: 1e-9}
	h := audit.Writes(alog)(apiHandler(testAPIDeps(a, &storage{results: a.Results}, toks, alog, &current, &arch, clk)))
	srv := httptest.NewServer(h)
	defer srv.Close()
	do := func(method, path, who, body string, want int) string {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok[who])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s as %s: %d %s, want %d", method, path, who, resp.StatusCode, b, want)
		}
		return string(b)
	}
	type feed struct {
		NextCursor int64 `json:"next_cursor"`
		More       bool
		Changes    []struct{ Change, Meter, Quantity, Time, Value, Quality string }
	}
	pull := func(cursor int64) (feed, int64) {
		var all feed
		for {
			var f feed
			if err := json.Unmarshal([]byte(do("GET", fmt.Sprintf("/api/v1/billing/changes?cursor=%d&limit=10000", cursor), "bill", "", 200)), &f); err != nil {
				t.Fatal(err)
			}
			all.Changes = append(all.Changes, f.Changes...)
			cursor = f.NextCursor
			if !f.More {
				return all, cursor
			}
		}
	}
	_, cursor := pull(0)
	const meter = "000002000010"
	edit := `{"kind":"edit","meter":"` + meter + `","class":"daily","quantity":"forward active energy total","time":"2025-06-15","value":"1234.56","reason":"meter display read on site"}`
	do("POST", "/api/v1/corrections", "bill", edit, 403) // billing cannot propose
	for body, param := range map[string]string{
		strings.Replace(edit, `"1234.56"`, `"12x"`, 1):                  "value:",
		strings.Replace(edit, `"daily"`, `"hourly"`, 1):                 "class:",
		strings.Replace(edit, `"meter display read on site"`, `" "`, 1): "reason:",
		strings.Replace(edit, meter, "999999999999", 1):                 "meter:",
	} {
		if got := func() string {
			req, _ := http.NewRequest("POST", srv.URL+"/api/v1/corrections", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok["ana"])
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err.Error()
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return fmt.Sprint(resp.StatusCode, string(b))
		}(); !strings.HasPrefix(got, "400") || !strings.Contains(got, param) {
			t.Errorf("proposal %s: %s, want 400 naming %s", body, got, param)
		}
	}
	var c struct {
		No     int64
		Status string
		Before string
	}
	json.Unmarshal([]byte(do("POST", "/api/v1/corrections", "ana", edit, 201)), &c)
	if c.No != 1 || c.Status != "proposed" || c.Before == "" {
		t.Fatalf("proposed: %+v", c)
	}
	if body := do("POST", "/api/v1/corrections/1/approve", "ana", "", 403); !strings.Contains(body, "own") {
		t.Fatalf("self-approval: %s", body)
	}
	// not approved: billing sees nothing
	if _, err := a.Analyzer.Run(ctx, a.Now); err != nil {
		t.Fatal(err)
	}
	if f, _ := pull(cursor); len(f.Changes) != 0 {
		t.Fatalf("before approval billing saw %+v", f.Changes)
	}
	do("POST", "/api/v1/corrections/1/approve", "appr", `{"reason":"photo of the display attached"}`, 200)
	do("POST", "/api/v1/corrections/1/approve", "appr", "", 409)
	if _, err := a.Analyzer.Run(ctx, a.Now); err != nil {
		t.Fatal(err)
	}
	f, cursor2 := pull(cursor)
	n := 0
	for _, ch := range f.Changes {
		if ch.Meter == meter && ch.Quantity == "forward active energy total" && strings.HasPrefix(ch.Time, "2025-06-15") {
			n++
			if ch.Change != "revision" || ch.Value != "1234.56" || ch.Quality != "edited" {
				t.Errorf("the corrected value: %+v", ch)
			}
		}
	}
	if n != 1 {
		t.Fatalf("billing saw the corrected value %d times in %+v", n, f.Changes)
	}
	// a rerun changes nothing more
	if _, err := a.Analyzer.Run(ctx, a.Now); err != nil {
		t.Fatal(err)
	}
	if f, _ := pull(cursor2); len(f.Changes) != 0 {
		t.Fatalf("after a rerun billing saw %+v", f.Changes)
	}
	// a back-billing quantity, approved, comes once
	do("POST", "/api/v1/corrections", "ana", `{"kind":"back_billing","meter":"`+meter+`","time":"2025-05-01","end":"2025-06-01","value":"120.5","reason":"bypass found on site"}`, 201)
	do("POST", "/api/v1/corrections/2/approve", "appr", "", 200)
	f, _ = pull(cursor2)
	if len(f.Changes) != 1 || f.Changes[0].Change != "correction" || f.Changes[0].Quantity != "back_billing" || f.Changes[0].Value != "120.5" {
		t.Fatalf("back-billing: %+v", f.Changes)
	}
	if body := do("GET", "/api/v1/corrections?status=approved", "appr", "", 200); !strings.Contains(body, `"no": 2`) {
		t.Errorf("list: %s", body)
	}
}

// testAPIDeps is the apiDeps of the API tests: a's analysis, no collector
// running, no targets or rules, the default loss settings.
func testAPIDeps(a *analysistest.Analysed, stg *storage, toks *auth.Tokens, alog *audit.Log, current *atomic.Pointer[collector.Collector],
	arch *atomic.Pointer[archive.Index], clk schedule.Clock) apiDeps {
	return apiDeps{
		Deps: api.Deps{Results: stg.results, Reads: stg.store, Archive: arch.Load, Location: a.Fleet.Zone(), Now: clk.Now,
			Logger: slog.New(slog.DiscardHandler)},
		Base: http.NotFoundHandler(), Tokens: toks, Audit: alog, Analyzer: func() *analysis.Analyzer { return a.Analyzer },
		Collector: current, Clock: clk, Reanalyse: func() {}, Loss: analysis.DefaultConfig().Loss}
}
