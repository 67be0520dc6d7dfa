package main

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/daemon/daemontest"
)

// TestServeHTTPS runs headend serve with http.tls and reaches its
// endpoints over HTTPS with the generated certificate.
func TestServeHTTPS(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := daemontest.WriteCert(t, dir)
	path := daemontest.WriteConfig(t, "  tls: {cert_file: "+cert+", key_file: "+key+"}\n")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := daemontest.NewLogSignal("msg=http ", "collector running")
	root := newRoot(strings.NewReader(""), io.Discard, logs)
	root.SetArgs([]string{"serve", "--config", path, "--report", "0"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	logs.Wait(t, "msg=http ")
	logs.Wait(t, "collector running")
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
