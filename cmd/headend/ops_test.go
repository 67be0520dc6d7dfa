package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headend/headend/collector"
	"github.com/headend/headend/collector/metrics"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/daemon/config"
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

// logSignal is a log sink that tells when a line with a given text arrives.
type logSignal struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wants map[string]chan struct{}
}

func newLogSignal(texts ...string) *logSignal {
	s := &logSignal{wants: map[string]chan struct{}{}}
	for _, w := range texts {
		s.wants[w] = make(chan struct{})
	}
	return s
}

func (s *logSignal) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	for w, ch := range s.wants {
		if bytes.Contains(s.buf.Bytes(), []byte(w)) {
			close(ch)
			delete(s.wants, w)
		}
	}
	return len(p), nil
}

func (s *logSignal) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func (s *logSignal) wait(t *testing.T, text string) {
	t.Helper()
	s.mu.Lock()
	ch, ok := s.wants[text]
	s.mu.Unlock()
	if !ok {
		return // already seen
	}
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("no %q in the log:\n%s", text, s.String())
	}
}

const opsConfig = `collector:
  data_dir: %DIR%/data
  dialin_listen: ""
http:
  listen: 127.0.0.1:0
archive:
  areas: [{id: A1, name: A}]
  concentrators: [{id: C1, area: A1, channels: [bus1]}]
  channels: [{id: bus1, kind: tcp, address: "127.0.0.1:1", retries: 0}]
  meters:
    - {address: "000001000001", channel: bus1, area: A1, role: area, ct: 1, pt: 1}
`

// writeConfig writes opsConfig with more keys of the http section.
func writeConfig(t *testing.T, http string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "headend.yaml")
	yaml := strings.Replace(strings.ReplaceAll(opsConfig, "%DIR%", dir), "http:\n", "http:\n"+http, 1)
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpsOverHTTP mounts the endpoints on a real storage and a real
// collector.
func TestOpsOverHTTP(t *testing.T) {
	cfg, err := config.Load(writeConfig(t, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := newLogSignal("collector running")
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
	c, err := collector.New(cfg, collector.Options{Logger: log, Sink: observed(m, stg.persist.Accept), ObserveTransaction: m.ObserveTransaction})
	if err != nil {
		t.Fatal(err)
	}
	current.Store(c)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	logs.wait(t, "collector running")
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
	cfg, err := config.Load(writeConfig(t, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Audit.File), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cfg.Audit.File, []byte(`{"seq":1,"time":"2026-11-22T13:45:00Z","who":"ops","action":"relay.trip"}`+"\n{\"seq\":2,\"ti"), 0o600)
	logs := newLogSignal()
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

// writeCert writes a self-signed certificate for 127.0.0.1 and its key
// into dir, and returns a pool that trusts it.
func writeCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "headend test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	kb, _ := x509.MarshalECPrivateKey(k)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile, pool
}

// TestServeHTTPS runs headend serve with http.tls and reaches its
// endpoints over HTTPS with the generated certificate.
func TestServeHTTPS(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := writeCert(t, dir)
	path := writeConfig(t, "  tls: {cert_file: "+cert+", key_file: "+key+"}\n")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := newLogSignal("msg=http ", "collector running")
	root := newRoot(strings.NewReader(""), io.Discard, logs)
	root.SetArgs([]string{"serve", "--config", path, "--report", "0"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	logs.wait(t, "msg=http ")
	logs.wait(t, "collector running")
	addr := regexp.MustCompile(`msg=http address=(\S+) tls=true`).FindStringSubmatch(logs.String())
	if addr == nil {
		t.Fatalf("no https address in the log:\n%s", logs.String())
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	for path, want := range map[string]string{"/healthz": "ok\n", "/readyz": `"ready":true`, "/metrics": "headend_outbox_full 0"} {
		resp, err := client.Get("https://" + addr[1] + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	resp, err := http.Get("http://" + addr[1] + "/healthz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP to the HTTPS port: %d", resp.StatusCode)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
}

func TestServeHTTPRefusesABadCertificate(t *testing.T) {
	dir := t.TempDir()
	cert, _, _ := writeCert(t, dir)
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
