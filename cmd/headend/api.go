package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/headend/headend/api"
	"github.com/headend/headend/api/audit"
	"github.com/headend/headend/api/auth"
	"github.com/headend/headend/api/billing"
	"github.com/headend/headend/api/loss"
	"github.com/headend/headend/api/web"
	"github.com/headend/headend/collector/analysis"
	"github.com/headend/headend/collector/archive"
	"github.com/headend/headend/collector/config"
	"github.com/headend/headend/collector/schedule"
)

// demoTokenFile is where serve puts the token it makes when the
// configuration names none (the demo): readable by its owner only, never
// logged.
const demoTokenFile = "api-token"

// apiTokens returns the configured tokens, or one admin token made for
// this run and written to <data_dir>/api-token when there are none.
func apiTokens(cfg *config.Config, log *slog.Logger) (*auth.Tokens, error) {
	specs := cfg.HTTP.Tokens
	if len(specs) == 0 {
		tok, err := auth.GenerateToken()
		if err != nil {
			return nil, err
		}
		path := filepath.Join(cfg.Collector.DataDir, demoTokenFile)
		if err := os.MkdirAll(cfg.Collector.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("collector.data_dir: %w", err)
		}
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("writing the API token: %w", err)
		}
		log.Warn("http.tokens is empty: made an admin token for this run; give tokens with roles in production", "token_file", path)
		specs = []config.TokenSpec{{Name: "admin (made at start)", Roles: []string{string(auth.Admin)}, TokenFile: path}}
	}
	return auth.New(specs, log)
}

// apiHandler puts the HTTP API and the dashboard in front of base (the
// status and operations endpoints).
func apiHandler(base http.Handler, toks *auth.Tokens, an *analysis.Analyzer, stg *storage, alog *audit.Log, arch *atomic.Pointer[archive.Index], loc *time.Location, clk schedule.Clock) http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/status", "/healthz", "/readyz", "/metrics"} {
		mux.Handle(p, base)
	}
	ix := func() *archive.Index { return arch.Load() }
	(&loss.Service{Results: stg.results, Archive: ix, Location: loc, Now: clk.Now}).Register(mux, toks.Require(auth.ReadAll))
	(&billing.Service{Results: stg.results, Archive: ix, Location: loc}).Register(mux, toks.Require(auth.ReadBilling))
	mux.Handle("GET /api/v1/analysis", toks.Require(auth.ReadAll)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.JSON(w, an.Last())
	})))
	mux.Handle("GET /api/v1/audit", toks.Require(auth.Audit)(audit.Handler(alog, loc)))
	mux.Handle("GET /api/v1/openapi.yaml", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(api.OpenAPI)
	}))
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.WriteError(w, http.StatusNotFound, fmt.Sprintf("no API route %s %s (see /api/v1/openapi.yaml)", r.Method, r.URL.Path))
	}))
	mux.Handle("/", web.Handler())
	return mux
}
