package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/assess"
	"github.com/headend/headend/analysis/inspect"
	lossrules "github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/analysis/review"
	"github.com/headend/headend/api"
	"github.com/headend/headend/api/audit"
	"github.com/headend/headend/api/auth"
	"github.com/headend/headend/api/billing"
	"github.com/headend/headend/api/corrections"
	apifield "github.com/headend/headend/api/field"
	"github.com/headend/headend/api/loss"
	"github.com/headend/headend/api/manage"
	"github.com/headend/headend/api/mapapi"
	apireview "github.com/headend/headend/api/review"
	"github.com/headend/headend/api/web"
	"github.com/headend/headend/collector"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/fieldops"
)

// demoTokenFile is where serve puts the token it makes when the
// configuration names none (the demo): readable by its owner only, never
// logged.
const demoTokenFile = "api-token"

// apiTokens returns the configured tokens, or one admin token made for
// this run and written to <data_dir>/api-token when there are none.
func apiTokens(cfg *config.Config, log *slog.Logger) (*auth.Tokens, error) {
	specs, err := apiTokenSpecs(cfg, log)
	if err != nil {
		return nil, err
	}
	return auth.New(specs, log)
}

// apiTokenSpecs are http.tokens, or the one token made for this run.
func apiTokenSpecs(cfg *config.Config, log *slog.Logger) ([]auth.TokenSpec, error) {
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
		specs = []auth.TokenSpec{{Name: "admin (made at start)", Roles: []string{string(auth.Admin)}, TokenFile: path}}
	}
	return specs, nil
}

// apiDeps is what apiHandler serves from: the dependencies the API
// packages share, and what only the daemon's own routes need.
type apiDeps struct {
	api.Deps
	Base      http.Handler // the status and operations endpoints
	Tokens    *auth.Tokens
	Audit     *audit.Log
	Analyzer  func() *analysis.Analyzer
	Collector *atomic.Pointer[collector.Collector]
	Clock     schedule.Clock
	Reanalyse func()                // asks for an analysis run now
	TileURL   string                // http.tile_url
	Targets   func() assess.Targets // nil: none
	Rules     func() *review.Config // the review rules in force
	Loss      lossrules.Config
	// Route wraps a field route's handler by its pattern (serve
	// --cluster: forwarding to the channel's owner, route.go); nil: none.
	Route func(pattern string, h http.Handler) http.Handler
}

// apiHandler puts the HTTP API and the dashboard in front of d.Base (the
// status and operations endpoints).
func apiHandler(d apiDeps) http.Handler {
	toks, alog, clk, log, current := d.Tokens, d.Audit, d.Clock, d.Logger, d.Collector
	targets := d.Targets
	if targets == nil {
		targets = func() assess.Targets { return nil }
	}
	mux := http.NewServeMux()
	for _, p := range []string{"/status", "/healthz", "/readyz", "/metrics"} {
		mux.Handle(p, d.Base)
	}
	lsvc := loss.New(d.Deps)
	lsvc.TileURL, lsvc.Loss = d.TileURL, d.Loss
	lsvc.Register(mux, toks.Require(auth.ReadAll))
	mapapi.New(d.Deps).Register(mux, toks.Require(auth.ReadAll))
	rd := d.Deps
	rd.Logger = log.With("component", "review")
	rsvc := apireview.New(rd)
	rsvc.Rules = d.Rules
	rsvc.Register(mux, toks.Require(auth.ReadAll))
	msvc := manage.New(d.Deps)
	msvc.Loss, msvc.Targets = d.Loss, targets
	msvc.Findings = func(ctx context.Context, from, to time.Time) ([]inspect.Finding, error) {
		fs, err := rsvc.Findings(ctx, from, to)
		if err != nil {
			return nil, err
		}
		return inspect.FindingsOf(fs)
	}
	msvc.Register(mux, toks.Require(auth.ReadAll), toks.RequireAny(auth.EditReads, auth.FieldControl))
	billing.New(d.Deps).Register(mux, toks.Require(auth.ReadBilling))
	csvc := corrections.New(d.Deps)
	csvc.Decided = d.Reanalyse
	csvc.Register(mux, toks)
	mux.Handle("GET /api/v1/analysis", toks.Require(auth.ReadAll)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.JSON(w, d.Analyzer().Last())
	})))
	mux.Handle("POST /api/v1/analysis/run", toks.Require(auth.Configure)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		AnalyseHandler(d.Analyzer(), clk).ServeHTTP(w, r)
	}))) // analyse.go
	mux.Handle("GET /api/v1/audit", toks.Require(auth.Audit)(audit.Handler(alog, d.Location)))
	mux.Handle("GET /api/v1/openapi.yaml", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(api.OpenAPI)
	}))
	// field tools: every control action is recorded before it is sent
	// (a failed record refuses it) and again with its outcome
	fsvc := &fieldops.Daemon{
		Collector: func() *collector.Collector { return current.Load() },
		Options: fieldops.Options{Now: clk.Now, Location: d.Location, Logger: log.With("component", "field"),
			Guard: func(ctx context.Context, action, target string, d map[string]any) error {
				_, err := alog.Record(ctx, audit.Entry{Action: action, Target: target, After: d, Outcome: "requested"})
				return err
			},
			Audit: func(ctx context.Context, action, target string, d map[string]any) {
				alog.Record(ctx, audit.Entry{Action: action, Target: target, After: d, Outcome: fmt.Sprint(d["result"])})
			}},
	}
	apifield.Register(mux, rsvc.KeepScans(fsvc), func(p string, h http.Handler) http.Handler {
		if d.Route != nil {
			h = d.Route(p, h)
		}
		if p == apifield.Routes.Status {
			return toks.Require(auth.ReadAll)(h)
		}
		if p == apifield.Routes.Scan {
			h = longWrite(scanWrite, h) // a scan streams its progress for as long as it walks the bus
		}
		return toks.Require(auth.FieldControl)(h) // read, time, sync, scan, relay
	})
	apifield.RegisterTerminals(mux, fsvc, func(p string, h http.Handler) http.Handler {
		if p == apifield.TerminalRoutes.Status {
			return toks.Require(auth.ReadAll)(h)
		}
		return toks.Require(auth.FieldControl)(h) // archive diff and push, time and its set
	})
	apifield.RegisterTerminalEvents(mux, fsvc, func(p string, h http.Handler) http.Handler {
		if p == apifield.TerminalEventRoutes.List {
			return toks.Require(auth.ReadAll)(h)
		}
		return toks.Require(auth.FieldControl)(h) // reading now sends AFN 0E
	})
	apifield.RegisterTerminalOps(mux, fsvc, func(p string, h http.Handler) http.Handler {
		return toks.Require(auth.FieldControl)(h) // heartbeat and its set, a point's data
	})
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.WriteError(w, http.StatusNotFound, fmt.Sprintf("no API route %s %s (see /api/v1/openapi.yaml)", r.Method, r.URL.Path))
	}))
	mux.Handle("/", web.Handler())
	return mux
}

// scanWrite bounds the response of a bus scan, beyond http.write_timeout.
const scanWrite = 6 * time.Hour

// longWrite gives h's response d to be written instead of
// http.write_timeout (put it behind authentication).
func longWrite(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
		h.ServeHTTP(w, r)
	})
}

// loadTargets reads the loss-rate targets file (analysis.targets); none
// without a path.
func loadTargets(path string, loc *time.Location) (assess.Targets, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("analysis.targets: %w", err)
	}
	defer f.Close()
	return assess.ReadTargets(f, path, loc)
}

// AnalyseHandler runs the analysis now (POST /api/v1/analysis/run) and
// answers its summary; a run under way is waited for first.
func AnalyseHandler(an *analysis.Analyzer, clk interface{ Now() time.Time }) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := an.Run(r.Context(), clk.Now())
		if err != nil {
			api.Error(w, http.StatusInternalServerError, "%s", err)
			return
		}
		api.JSON(w, s)
	})
}
