// Package influxtest starts a private InfluxDB 1.8 for a test: the
// influxd that scripts/influxd.sh builds (HEADEND_INFLUXD overrides it),
// on free loopback ports, its files in a temp dir, killed when the test
// ends. Without the binary the test skips, or fails under
// HEADEND_REQUIRE_ALL (internal/testenv).
//
//	url := influxtest.Start(t) // http://127.0.0.1:port, the 2.x write and Flux API
package influxtest

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/headend/headend/internal/testenv"
)

// ReadyTimeout bounds the wait for the server to answer /ping.
var ReadyTimeout = 60 * time.Second

// Binary is the influxd the kit runs: HEADEND_INFLUXD, else the one
// scripts/influxd.sh installs under HEADEND_CACHE (default
// ~/.cache/headend).
func Binary() string {
	if b := os.Getenv("HEADEND_INFLUXD"); b != "" {
		return b
	}
	cache := os.Getenv("HEADEND_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "headend")
	}
	return filepath.Join(cache, "influxd-1.8.10", "influxd")
}

// Start starts the server and returns its URL once it answers /ping.
func Start(t testing.TB) string {
	t.Helper()
	bin := Binary()
	if _, err := os.Stat(bin); err != nil {
		testenv.Skip(t, "no influxd at %s: run scripts/influxd.sh install (make influxd), or set HEADEND_INFLUXD", bin)
	}
	dir := t.TempDir()
	port, rpc := freePort(t), freePort(t)
	conf := filepath.Join(dir, "influxd.conf")
	if err := os.WriteFile(conf, []byte(testenv.InfluxdConf(dir, port, rpc)), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "influxd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "-config", conf)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("influxd %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); log.Close(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(ReadyTimeout)
	for {
		select {
		case <-exited:
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("influxd exited before it answered:\n%s", b)
		default:
		}
		if resp, err := http.Get(url + "/ping"); err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return url
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("influxd did not answer %s/ping within %v", url, ReadyTimeout)
		}
		time.Sleep(20 * time.Millisecond) // a starting process: nothing to wait on
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
