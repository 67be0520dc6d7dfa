package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headend/headend/collector"
	"github.com/headend/headend/collector/metrics"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/daemon/daemontest"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/store/persist"
)

func TestReadiness(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var st persist.Status
	why := "not started"
	rd := &readiness{collector: func() string { return why }, storage: func() persist.Status { return st },
		now: func() time.Time { return now }, window: 2 * time.Minute}
	srv := httptest.NewServer(rd)
	defer srv.Close()
	probe := func() (int, map[string]any) {
		t.Helper()
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, m
	}
	failed := func(m map[string]any) string {
		var f []string
		for _, x := range m["failed"].([]any) {
			f = append(f, x.(string))
		}
		return strings.Join(f, ",")
	}

	if code, m := probe(); code != 503 || failed(m) != "collector" || !strings.Contains(m["error"].(string), "collector: not started") {
		t.Errorf("not started: %d %v", code, m)
	}
	why = ""
	if code, m := probe(); code != 200 || m["ready"] != true {
		t.Errorf("ready: %d %v", code, m)
	}
	st.StoreError, st.StoreErrorAt = "influxdb: connection refused", now
	if code, m := probe(); code != 503 || failed(m) != "store" || !strings.Contains(m["checks"].(map[string]any)["store"].(string), "connection refused") {
		t.Errorf("store failing: %d %v", code, m)
	}
	st.StoreError = "" // a write succeeded
	now = now.Add(time.Minute)
	if code, m := probe(); code != 503 || failed(m) != "store" || !strings.Contains(m["error"].(string), "failed 1m0s ago") {
		t.Errorf("within the window: %d %v", code, m)
	}
	now = now.Add(time.Minute)
	if code, m := probe(); code != 200 {
		t.Errorf("after the window: %d %v", code, m)
	}
	st.Full, st.FullSince, st.BacklogBatches = true, now, 12
	why = "starting: channels not open yet"
	if code, m := probe(); code != 503 || failed(m) != "collector,outbox" || !strings.Contains(m["checks"].(map[string]any)["outbox"].(string), "12 batches") {
		t.Errorf("full outbox: %d %v", code, m)
	}
	st.Full, why, st.OutboxError = false, "", "write data/outbox/seg-1: no space left on device"
	if code, m := probe(); code != 503 || failed(m) != "outbox" {
		t.Errorf("outbox failing: %d %v", code, m)
	}
	st.Full, st.FullReason, st.OutboxError = true, "low disk", "outbox: low disk: 4096 bytes free on the filesystem of data/outbox, 1048576 kept in reserve"
	if code, m := probe(); code != 503 || failed(m) != "outbox" ||
		!strings.Contains(m["error"].(string), "outbox: low disk since "+now.Format(time.RFC3339)+": polling is held back (outbox: low disk: 4096 bytes free") {
		t.Errorf("low disk: %d %v", code, m)
	}
}

// TestOpsOverHTTP mounts the endpoints on a real storage and a real
// collector.
func TestOpsOverHTTP(t *testing.T) {
	cfg, err := config.Load(daemontest.WriteConfig(t, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := daemontest.NewLogSignal("collector running")
	log := slog.New(slog.NewTextHandler(logs, nil))
	stg, err := openStorage(ctx, cfg, schedule.RealClock{}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer stg.Close()
	stg.run(ctx, schedule.RealClock{}, cfg.Collector.Location(), log)
	var current atomic.Pointer[collector.Collector]
	mux := http.NewServeMux()
	m := mountOps(mux, &current, stg, metrics.New())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, `"collector":"not started"`) {
		t.Errorf("readyz before the collector: %d %s", code, body)
	}
	c, err := collector.New(collectorConfig(cfg), collector.Options{Logger: log, Sink: observed(m, stg.persist.Accept), ObserveTransaction: m.ObserveTransaction})
	if err != nil {
		t.Fatal(err)
	}
	current.Store(c)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	logs.Wait(t, "collector running")
	if code, body := get("/readyz"); code != 200 || !strings.Contains(body, `"ready":true`) {
		t.Errorf("readyz with the collector running: %d %s", code, body)
	}
	code, body := get("/metrics")
	for _, w := range []string{`headend_bus_queue_depth{channel="bus1"}`, "headend_store_backlog_batches 0", "headend_outbox_full 0"} {
		if code != 200 || !strings.Contains(body, w) {
			t.Errorf("metrics lack %s (%d)", w, code)
		}
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

func TestObservedSink(t *testing.T) {
	m := metrics.New()
	var got []meter.Read
	observed(m, func(rs []meter.Read) { got = rs })([]meter.Read{{Class: meter.Daily, Status: meter.OK}, {Class: meter.Daily, Status: meter.Skipped}})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(got) != 2 || !strings.Contains(string(b), `headend_read_failures_total{reason="breaker_open"} 1`) {
		t.Errorf("sink passed %d reads; metrics:\n%s", len(got), b)
	}
}

func TestOpenAudit(t *testing.T) {
	cfg, err := config.Load(daemontest.WriteConfig(t, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Audit.File), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cfg.Audit.File, []byte(`{"seq":1,"time":"2026-11-22T13:45:00Z","who":"ops","action":"relay.trip"}`+"\n{\"seq\":2,\"ti"), 0o600)
	logs := daemontest.NewLogSignal()
	alog, err := openAudit(cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer alog.Close()
	if alog.Path() != filepath.Join(filepath.Dir(cfg.File), "data", "audit.jsonl") || alog.Seq() != 1 {
		t.Errorf("audit log at %s, seq %d", alog.Path(), alog.Seq())
	}
	if !strings.Contains(logs.String(), "torn last line") || !strings.Contains(logs.String(), "damaged lines skipped") {
		t.Errorf("damage not logged:\n%s", logs.String())
	}
}

func TestServeHTTPRefusesABadCertificate(t *testing.T) {
	dir := t.TempDir()
	cert, _, _ := daemontest.WriteCert(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = serveHTTP(&http.Server{}, ln, config.TLS{CertFile: cert, KeyFile: cert})
	if err == nil || !strings.Contains(err.Error(), "http.tls") || !strings.Contains(err.Error(), cert) {
		t.Errorf("a certificate as key: %v", err)
	}
}
