package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/daemon/daemontest"
	"github.com/headend/headend/internal/influxtest"
)

// startInfluxd starts a private InfluxDB 1.8 for one test and returns its
// URL; it is stopped when the test ends.
func startInfluxd(t *testing.T) string { return influxtest.Start(t) }

// influxConfig writes daemontest.OpsConfig with an InfluxDB 1.8 store at u, the
// buckets influx-setup makes, and no store.path.
func influxConfig(t *testing.T, u string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	yaml := strings.ReplaceAll(daemontest.OpsConfig, "%DIR%", dir) + fmt.Sprintf(`store:
  kind: influxdb
  url: %s
  org: "-"
  token: "headend:secret"
  bucket: headend/registers
  bucket_raw: headend/raw
  bucket_aggregates: headend/aggregates
  retention: {raw: 30d, registers: 0, aggregates: 400d}
`, u)
	path = filepath.Join(dir, "headend.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

// influxQuery runs an InfluxQL query and returns the raw JSON answer.
func influxQuery(t *testing.T, u, q string) string {
	t.Helper()
	resp, err := http.PostForm(u+"/query", url.Values{"q": {q}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestStorageInfluxSetup runs "headend storage influx-setup" against a
// real InfluxDB 1.8: the database and its three retention policies exist
// with the configured durations, and a second run changes a duration.
func TestStorageInfluxSetup(t *testing.T) {
	u := startInfluxd(t)
	path, _ := influxConfig(t, u)
	out, _, err := run(t, "", "storage", "influx-setup", "--config", path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "bucket: headend/registers") || strings.Contains(out, "names other buckets") {
		t.Errorf("output:\n%s", out)
	}
	rps := influxQuery(t, u, `SHOW RETENTION POLICIES ON "headend"`)
	for _, w := range []string{`["raw","720h0m0s","24h0m0s",1`, `["registers","0s","168h0m0s",1`, `["aggregates","9600h0m0s","168h0m0s",1`} {
		if !strings.Contains(rps, w) {
			t.Errorf("retention policies lack %s: %s", w, rps)
		}
	}

	b, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(b), "raw: 30d", "raw: 1d", 1)), 0o644)
	out, _, err = run(t, "", "storage", "influx-setup", "--config", path, "--database", "ami")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "bucket_raw: ami/raw") || !strings.Contains(out, "names other buckets") {
		t.Errorf("output for --database ami:\n%s", out)
	}
	if rps := influxQuery(t, u, `SHOW RETENTION POLICIES ON "ami"`); !strings.Contains(rps, `["raw","24h0m0s","1h0m0s",1`) {
		t.Errorf("ami raw policy: %s", rps)
	}
}

// TestStorageInfluxSetupRefuses checks the errors: an embedded store, and a
// server that does not answer.
func TestStorageInfluxSetupRefuses(t *testing.T) {
	dir := t.TempDir()
	emb := filepath.Join(dir, "e.yaml")
	os.WriteFile(emb, []byte(strings.ReplaceAll(daemontest.OpsConfig, "%DIR%", dir)), 0o644)
	if _, _, err := run(t, "", "storage", "influx-setup", "--config", emb); err == nil || !strings.Contains(err.Error(), `store.kind is "embedded"`) {
		t.Errorf("embedded: %v", err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	path, _ := influxConfig(t, "http://"+addr)
	_, _, err := run(t, "", "storage", "influx-setup", "--config", path)
	if err == nil || !regexp.MustCompile(`influx setup http://`+regexp.QuoteMeta(addr)+`: database headend: CREATE DATABASE`).MatchString(err.Error()) {
		t.Errorf("no server: %v", err)
	}
}

// TestServeOnInfluxDB runs serve on the documented InfluxDB configuration,
// with no store.path: it starts (the results go to <data_dir>/store),
// answers /healthz and stops cleanly.
func TestServeOnInfluxDB(t *testing.T) {
	u := startInfluxd(t)
	path, dir := influxConfig(t, u)
	if _, _, err := run(t, "", "storage", "influx-setup", "--config", path); err != nil {
		t.Fatal(err)
	}
	logs := daemontest.NewLogSignal("collector running", "msg=http ")
	root := newRoot(strings.NewReader(""), io.Discard, logs)
	root.SetArgs([]string{"serve", "--config", path, "--report", "0"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	running := logs.Seen("collector running")
	go func() { done <- root.ExecuteContext(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("serve on InfluxDB stopped: %v\n%s", err, logs.String())
	case <-running:
	case <-time.After(30 * time.Second):
		t.Fatalf("serve on InfluxDB did not start:\n%s", logs.String())
	}
	logs.Wait(t, "msg=http ")
	addr := regexp.MustCompile(`msg=http address=(\S+)`).FindStringSubmatch(logs.String())
	if addr == nil {
		t.Fatalf("no http address in the log:\n%s", logs.String())
	}
	resp, err := http.Get("http://" + addr[1] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "store", "results.db")); err != nil {
		t.Errorf("results: %v", err)
	}
	if !strings.Contains(logs.String(), "influxdb "+u) {
		t.Errorf("log does not name the InfluxDB store:\n%s", logs.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
}
