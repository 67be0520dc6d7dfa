package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/assess"
	"github.com/headend/headend/analysis/inspect"
	"github.com/headend/headend/api"
	"github.com/headend/headend/api/audit"
	"github.com/headend/headend/api/auth"
	"github.com/headend/headend/api/billing"
	"github.com/headend/headend/api/corrections"
	apifield "github.com/headend/headend/api/field"
	"github.com/headend/headend/api/loss"
	"github.com/headend/headend/api/manage"
	"github.com/headend/headend/api/mapapi"
	"github.com/headend/headend/api/publish"
	apireview "github.com/headend/headend/api/review"
	"github.com/headend/headend/api/web"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/fieldops"

	paho "github.com/eclipse/paho.mqtt.golang"
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
func apiHandler(base http.Handler, toks *auth.Tokens, an *analysis.Analyzer, stg *storage, alog *audit.Log, current *atomic.Pointer[collector.Collector],
	arch *atomic.Pointer[archive.Index], loc *time.Location, clk schedule.Clock, log *slog.Logger, reanalyse func(), tileURL string, targets assess.Targets) http.Handler {
	mux := http.NewServeMux()
	for _, p := range []string{"/status", "/healthz", "/readyz", "/metrics"} {
		mux.Handle(p, base)
	}
	ix := func() *archive.Index { return arch.Load() }
	(&loss.Service{Results: stg.results, Archive: ix, Location: loc, Now: clk.Now, TileURL: tileURL, Loss: analysis.DefaultConfig().Loss}).Register(mux, toks.Require(auth.ReadAll))
	(&mapapi.Service{Results: stg.results, Archive: ix, Location: loc, Now: clk.Now}).Register(mux, toks.Require(auth.ReadAll))
	rsvc := &apireview.Service{Results: stg.results, Reads: stg.store, Archive: ix, Location: loc, Now: clk.Now,
		Logger: log.With("component", "review")}
	rsvc.Register(mux, toks.Require(auth.ReadAll))
	msvc := &manage.Service{Results: stg.results, Reads: stg.store, Archive: ix, Location: loc, Now: clk.Now,
		Loss: analysis.DefaultConfig().Loss, Targets: func() assess.Targets { return targets },
		Findings: func(ctx context.Context, from, to time.Time) ([]inspect.Finding, error) {
			fs, err := rsvc.Findings(ctx, from, to)
			if err != nil {
				return nil, err
			}
			return inspect.FindingsOf(fs)
		}}
	msvc.Register(mux, toks.Require(auth.ReadAll), toks.RequireAny(auth.EditReads, auth.FieldControl))
	(&billing.Service{Results: stg.results, Archive: ix, Location: loc}).Register(mux, toks.Require(auth.ReadBilling))
	(&corrections.Service{Results: stg.results, Archive: ix, Location: loc, Now: clk.Now, Decided: reanalyse}).Register(mux, toks)
	mux.Handle("GET /api/v1/analysis", toks.Require(auth.ReadAll)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.JSON(w, an.Last())
	})))
	mux.Handle("POST /api/v1/analysis/run", toks.Require(auth.Configure)(analyseHandler(an, clk))) // analyse.go
	mux.Handle("GET /api/v1/audit", toks.Require(auth.Audit)(audit.Handler(alog, loc)))
	mux.Handle("GET /api/v1/openapi.yaml", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(api.OpenAPI)
	}))
	// field tools: every control action is recorded before it is sent
	// (a failed record refuses it) and again with its outcome
	fsvc := &fieldops.Daemon{
		Collector: func() *collector.Collector { return current.Load() },
		Options: fieldops.Options{Now: clk.Now, Location: loc, Logger: log.With("component", "field"),
			Guard: func(ctx context.Context, action, target string, d map[string]any) error {
				_, err := alog.Record(ctx, audit.Entry{Action: action, Target: target, After: d, Outcome: "requested"})
				return err
			},
			Audit: func(ctx context.Context, action, target string, d map[string]any) {
				alog.Record(ctx, audit.Entry{Action: action, Target: target, After: d, Outcome: fmt.Sprint(d["result"])})
			}},
	}
	apifield.Register(mux, rsvc.KeepScans(fsvc), func(p string, h http.Handler) http.Handler {
		if p == apifield.Routes.Status {
			return toks.Require(auth.ReadAll)(h)
		}
		if p == apifield.Routes.Scan {
			h = longWrite(scanWrite, h) // a scan streams its progress for as long as it walks the bus
		}
		return toks.Require(auth.FieldControl)(h) // read, time, sync, scan, relay
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

// startPublish pushes validated values to the configured MQTT broker
// until ctx ends; nothing when publish.broker is empty.
func startPublish(ctx context.Context, cfg *config.Config, stg *storage, log *slog.Logger, running *sync.WaitGroup) error {
	pc := cfg.Publish
	if pc.Broker == "" {
		return nil
	}
	opts := paho.NewClientOptions().AddBroker(pc.Broker).SetClientID(pc.ClientID).SetCleanSession(false).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(5 * time.Second)
	c := paho.NewClient(opts)
	c.Connect() // retried in the background until the broker answers
	p, err := publish.New(stg.results, c, publish.Options{Topic: pc.Topic, CursorFile: filepath.Join(cfg.Collector.DataDir, "publish.cursor"),
		Location: cfg.Collector.Location(), Logger: log.With("component", "publish")})
	if err != nil {
		return err
	}
	log.Info("billing publish", "broker", pc.Broker, "topic", pc.Topic, "cursor", p.Cursor())
	running.Add(1)
	go func() {
		defer running.Done()
		p.Run(ctx, pc.Every)
		c.Disconnect(250)
	}()
	return nil
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
