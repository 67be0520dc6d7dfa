package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/headend/headend/daemon/daemontest"
)

// serveConfig writes daemontest.OpsConfig with http.listen and the first channel
// replaced.
func serveConfig(t *testing.T, listen, channel string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	yaml := strings.ReplaceAll(daemontest.OpsConfig, "%DIR%", dir)
	yaml = strings.Replace(yaml, "listen: 127.0.0.1:0", "listen: "+listen, 1)
	if channel != "" {
		yaml = strings.Replace(yaml, `{id: bus1, kind: tcp, address: "127.0.0.1:1", retries: 0}`, channel, 1)
	}
	path = filepath.Join(dir, "headend.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

// TestServeAddressInUseOpensNothing checks that an address in use stops
// serve before the store is opened, naming the key.
func TestServeAddressInUseOpensNothing(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	for _, tc := range []struct {
		name, listen, channel, dialin, want string
	}{
		{"http.listen", addr, "", "", "http.listen " + addr + ": "},
		{"dialin_listen", "127.0.0.1:0", "{id: bus1, kind: dialin, dialin_id: C1}", addr, "collector.dialin_listen " + addr + ": "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, dir := serveConfig(t, tc.listen, tc.channel)
			if tc.dialin != "" {
				b, _ := os.ReadFile(path)
				os.WriteFile(path, []byte(strings.Replace(string(b), `dialin_listen: ""`, "dialin_listen: "+tc.dialin, 1)), 0o644)
			}
			logs := daemontest.NewLogSignal()
			root := newRoot(strings.NewReader(""), io.Discard, logs)
			root.SetArgs([]string{"serve", "--config", path, "--report", "0"})
			err := root.ExecuteContext(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "address already in use") {
				t.Fatalf("serve with %s in use: %v, want %q", tc.name, err, tc.want)
			}
			for _, p := range []string{"data/store", "data/outbox", "data/results.db"} {
				if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
					t.Errorf("%s was opened before the address was found in use", p)
				}
			}
			if out := logs.String(); strings.Contains(out, "database is closed") {
				t.Errorf("log:\n%s", out)
			}
		})
	}
}

// TestServeLogsStopped checks that a stop by signal is logged, with the
// signal and the uptime.
func TestServeLogsStopped(t *testing.T) {
	path, _ := serveConfig(t, "127.0.0.1:0\n  idle_timeout: 300ms", "")
	logs := daemontest.NewLogSignal("collector running", "msg=stopped", "msg=http ")
	root := newRoot(strings.NewReader(""), io.Discard, logs)
	root.SetArgs([]string{"serve", "--config", path, "--report", "0"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(context.Background()) }()
	logs.Wait(t, "collector running")
	logs.Wait(t, "msg=http ")

	// an unauthenticated write is counted in /metrics
	addr := regexp.MustCompile(`msg=http address=(\S+)`).FindStringSubmatch(logs.String())
	if addr == nil {
		t.Fatalf("no http address in the log:\n%s", logs.String())
	}
	// http.idle_timeout closes an idle keep-alive connection
	c, err := net.Dial("tcp", addr[1])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 || resp.Close {
		t.Fatalf("keep-alive GET /healthz: %v %v", resp, err)
	} else {
		io.Copy(io.Discard, resp.Body)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := br.ReadByte(); err == nil || os.IsTimeout(err) {
		t.Errorf("idle keep-alive connection not closed by http.idle_timeout: %v", err)
	}

	resp, err := http.Post("http://"+addr[1]+"/api/v1/corrections", "application/json", strings.NewReader(`{"kind":"edit"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("POST without a token: %d", resp.StatusCode)
	}
	resp, err = http.Get("http://" + addr[1] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, w := range []string{"headend_api_unauthenticated_total 1", "headend_http_connections_refused_total 0"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("/metrics lacks %q", w)
		}
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	logs.Wait(t, "msg=stopped")
	out := logs.String()
	if !strings.Contains(out, "level=INFO msg=stopped uptime=") || !strings.Contains(out, "signal=terminated") {
		t.Errorf("no stop line with the signal and uptime:\n%s", out)
	}
	if strings.Contains(out, "database is closed") {
		t.Errorf("log:\n%s", out)
	}
}
