package daemon

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/headend/headend/api/audit"
	"github.com/headend/headend/api/audit/pgaudit"
	"github.com/headend/headend/collector"
	"github.com/headend/headend/collector/metrics"
	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/store/persist"
)

// storeErrorWindow is how long /readyz stays unready after it last saw a
// failed write to the store.
const storeErrorWindow = 2 * time.Minute

// mountOps mounts the operations endpoints, open to anyone who reaches
// the listener (they say nothing about meters or customers):
//
//	GET /healthz  200 "ok": the process is alive
//	GET /readyz   200 when the collector has started, the store takes
//	              writes (none failed in the last 2 minutes) and the
//	              outbox is not full; else 503 saying which check failed
//	GET /metrics  Prometheus exposition of m (see collector/metrics)
//
// and has m report the queue depth of each bus and the outbox backlog at
// each scrape. m nil: mountOps makes one with those gauges only; it
// returns the one it used.
func mountOps(mux *http.ServeMux, current *atomic.Pointer[collector.Collector], stg *storage, m *metrics.Metrics) *metrics.Metrics {
	if m == nil {
		m = metrics.New()
	}
	m.QueueDepth(func() map[string]int {
		c := current.Load()
		if c == nil {
			return nil
		}
		out := map[string]int{}
		for _, ch := range c.Status().Channels {
			out[ch.ID] = ch.Bus.Queued
		}
		return out
	})
	m.Backlog(func() (int64, int64, bool) {
		s := stg.persist.Status()
		return s.BacklogBatches, s.BacklogBytes, s.Full
	})
	m.OutboxBlocked(func() (string, map[string]int64) {
		s := stg.persist.Status()
		return s.FullReason, s.BlockedBy
	})
	rd := &readiness{collector: func() string { return collectorCheck(current) }, storage: stg.persist.Status,
		now: time.Now, window: storeErrorWindow}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /readyz", rd)
	mux.Handle("GET /metrics", m.Handler())
	return m
}

// collectorCheck is "" once the collector runs with its channels open.
func collectorCheck(current *atomic.Pointer[collector.Collector]) string {
	c := current.Load()
	if c == nil {
		return "not started"
	}
	if len(c.Status().Channels) == 0 {
		return "starting: channels not open yet"
	}
	return ""
}

// readiness is GET /readyz.
type readiness struct {
	collector func() string // "" when running, else why not
	storage   func() persist.Status
	now       func() time.Time // real time: the window is real minutes whatever clock the collector runs on
	window    time.Duration

	mu      sync.Mutex
	errSeen time.Time // the last probe that saw a failed store write
	errMsg  string
}

// check runs the checks: each "ok" or why not.
func (rd *readiness) check() map[string]string {
	checks := map[string]string{"collector": "ok", "store": "ok", "outbox": "ok"}
	if why := rd.collector(); why != "" {
		checks["collector"] = why
	}
	s := rd.storage()
	now := rd.now()
	rd.mu.Lock()
	switch {
	case s.StoreError != "":
		rd.errSeen, rd.errMsg = now, s.StoreError
		checks["store"] = fmt.Sprintf("writes fail (last at %s): %s", s.StoreErrorAt.Format(time.RFC3339), s.StoreError)
	case !rd.errSeen.IsZero() && now.Sub(rd.errSeen) < rd.window:
		checks["store"] = fmt.Sprintf("writes failed %s ago (%s); ready once %s pass without a failure",
			now.Sub(rd.errSeen).Round(time.Second), rd.errMsg, rd.window)
	}
	rd.mu.Unlock()
	switch {
	case s.Full && s.FullReason != "" && s.FullReason != "outbox full":
		checks["outbox"] = fmt.Sprintf("%s since %s: polling is held back (%s; %d batches, %d bytes not yet in the store)",
			s.FullReason, s.FullSince.Format(time.RFC3339), s.OutboxError, s.BacklogBatches, s.BacklogBytes)
	case s.Full:
		checks["outbox"] = fmt.Sprintf("full since %s: polling is held back (%d batches, %d bytes not yet in the store)",
			s.FullSince.Format(time.RFC3339), s.BacklogBatches, s.BacklogBytes)
	case s.OutboxError != "":
		checks["outbox"] = "appends fail: " + s.OutboxError
	}
	return checks
}

func (rd *readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	checks := rd.check()
	var failed []string
	for name, v := range checks {
		if v != "ok" {
			failed = append(failed, name)
		}
	}
	sort.Strings(failed)
	body := struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
		Failed []string          `json:"failed,omitempty"`
		Error  string            `json:"error,omitempty"`
	}{Ready: len(failed) == 0, Checks: checks, Failed: failed}
	status := http.StatusOK
	if len(failed) > 0 {
		status = http.StatusServiceUnavailable
		var parts []string
		for _, f := range failed {
			parts = append(parts, f+": "+checks[f])
		}
		body.Error = "not ready: " + strings.Join(parts, "; ")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

// observed is the collector's sink with the reads counted in m first.
func observed(m *metrics.Metrics, next poll.Sink) poll.Sink {
	return func(reads []meter.Read) {
		m.ObserveReads(reads)
		next(reads)
	}
}

// serveHTTP serves srv on ln in the background: HTTPS when t is enabled
// (the certificate is loaded first, so that a bad one stops the start
// with an error naming the files), plain HTTP otherwise.
func serveHTTP(srv *http.Server, ln net.Listener, t config.TLS) error {
	if !t.Enabled() {
		go srv.Serve(ln)
		return nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return fmt.Errorf("http.tls %s, %s: %w", t.CertFile, t.KeyFile, err)
	}
	srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	go srv.ServeTLS(ln, "", "")
	return nil
}

// openAudit opens the audit log (audit.file, or PostgreSQL at audit.dsn)
// with the real clock: an entry says when a person acted, whatever clock
// the collector follows.
func openAudit(cfg *config.Config, log *slog.Logger) (*audit.Log, error) {
	if cfg.Audit.DSN != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st, err := pgaudit.Open(ctx, cfg.Audit.DSN)
		if err != nil {
			return nil, fmt.Errorf("audit.dsn: %w", err)
		}
		alog, err := audit.OpenStore(ctx, st, audit.Options{Logger: log.With("component", "audit")})
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("audit.dsn: %w", err)
		}
		return alog, nil
	}
	alog, err := audit.Open(cfg.Audit.File, audit.Options{Logger: log.With("component", "audit")})
	if err != nil {
		return nil, fmt.Errorf("audit.file: %w", err)
	}
	if d := alog.Damaged(); len(d) > 0 {
		log.Warn("audit log: damaged lines skipped (see above); recording continues", "file", cfg.Audit.File, "lines", len(d))
	}
	return alog, nil
}
