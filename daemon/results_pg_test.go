package daemon

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/headend/headend/analysis"
	lossrules "github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/api"
	"github.com/headend/headend/api/audit"
	"github.com/headend/headend/api/auth"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/daemon/daemontest"
	"github.com/headend/headend/internal/pgtest"
	"github.com/headend/headend/store/postgres"
)

// Two nodes configured with results and the audit log on one PostgreSQL
// database (through HEADEND_RESULTS_KIND, HEADEND_RESULTS_DSN and
// HEADEND_AUDIT_DSN): a correction proposed through one node's API is
// approved through the other's, billing's change feed shows it once on
// either, and either node's audit log holds both nodes' requests.
func TestResultsOnPostgres(t *testing.T) {
	dsn := pgtest.Start(t, pgtest.Options{}).NewDatabase(t)
	t.Setenv("HEADEND_RESULTS_KIND", "postgres")
	t.Setenv("HEADEND_RESULTS_DSN", dsn)
	t.Setenv("HEADEND_AUDIT_DSN", dsn)
	tok := map[string]string{"ana": "analyst-token-0123456789", "appr": "approver-token-0123456789", "bill": "billing-token-0123456789"}
	toks, err := auth.New([]auth.TokenSpec{
		{Name: "ana", Roles: []string{"analyst"}, Token: tok["ana"]},
		{Name: "appr", Roles: []string{"approver"}, Token: tok["appr"]},
		{Name: "bill", Roles: []string{"billing"}, Token: tok["bill"]},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := schedule.RealClock{}
	var logs []*audit.Log
	node := func() string {
		cfg, err := config.Load(daemontest.WriteConfig(t, ""), nil)
		if err != nil {
			t.Fatal(err)
		}
		stg, err := openStorage(t.Context(), cfg, clk, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stg.Close() })
		if _, ok := stg.results.(*postgres.Store); !ok {
			t.Fatalf("results kind postgres opened %T", stg.results)
		}
		if !strings.HasPrefix(stg.resDesc, "postgres 127.0.0.1:") {
			t.Errorf("the results store is logged as %q", stg.resDesc)
		}
		alog, err := openAudit(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { alog.Close() })
		logs = append(logs, alog)
		var current atomic.Pointer[collector.Collector]
		var arch atomic.Pointer[archive.Index]
		arch.Store(cfg.Archive.Index())
		h := apiHandler(apiDeps{
			Deps: api.Deps{Results: stg.results, Reads: stg.store, Archive: arch.Load, Location: cfg.Collector.Location(), Now: clk.Now,
				Logger: slog.New(slog.DiscardHandler)},
			Base: http.NotFoundHandler(), Tokens: toks, Audit: alog, Analyzer: func() *analysis.Analyzer { return nil },
			Collector: &current, Clock: clk, Reanalyse: func() {}, Loss: lossrules.Config{}})
		srv := httptest.NewServer(audit.Writes(alog)(h))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	a, b := node(), node()
	do := func(url, method, path, who, body string, want int) string {
		t.Helper()
		req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok[who])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s as %s: %d %s, want %d", method, path, who, resp.StatusCode, out, want)
		}
		return string(out)
	}
	do(a, "POST", "/api/v1/corrections", "ana", `{"kind":"back_billing","meter":"000001000001","time":"2025-05-01","end":"2025-06-01","value":"120.5","reason":"bypass found on site"}`, 201)
	do(b, "POST", "/api/v1/corrections/1/approve", "appr", `{"reason":"seen on site"}`, 200)
	do(a, "POST", "/api/v1/corrections/1/approve", "appr", "", 409) // node a sees b's decision
	for _, url := range []string{a, b} {
		var f struct {
			NextCursor int64 `json:"next_cursor"`
			Changes    []struct{ Change, Meter, Quantity, Value string }
		}
		if err := json.Unmarshal([]byte(do(url, "GET", "/api/v1/billing/changes?cursor=0", "bill", "", 200)), &f); err != nil {
			t.Fatal(err)
		}
		if len(f.Changes) != 1 || f.Changes[0].Change != "correction" || f.Changes[0].Value != "120.5" || f.NextCursor == 0 {
			t.Fatalf("billing's feed on %s: %+v", url, f)
		}
	}
	for i, l := range logs {
		es, err := l.List(audit.Filter{Action: "http.post"})
		if err != nil || len(es) != 3 || es[0].Seq != 1 || es[2].Seq != 3 || es[1].Who != "appr" || !strings.Contains(es[2].Outcome, "409") {
			t.Fatalf("node %d's audit log: %+v %v", i, es, err)
		}
	}
}
