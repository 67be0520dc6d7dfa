package daemon

import (
	"context"
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

	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/daemon/daemontest"
)

// reloadConfig is a daemon with two tokens, a dial-in channel and a TCP
// channel; %DIR%, %DIALIN%, %TOKENS%, %LEVEL% and %BUS2% are replaced.
const reloadConfig = `collector:
  data_dir: %DIR%/data
  dialin_listen: %DIALIN%
  instantaneous: {enabled: false}
  interval: {enabled: false}
  daily: {enabled: false}
  monthly: {enabled: false}
  clock: {enabled: false}
http:
  listen: 127.0.0.1:0
  tokens:
%TOKENS%
log:
  level: %LEVEL%
archive:
  areas: [{id: A1, name: A}]
  concentrators: [{id: C1, area: A1, channels: [bus1, bus2]}]
  channels:
    - {id: bus1, kind: dialin, dialin_id: C1}
    - {id: bus2, kind: tcp, address: "%BUS2%", retries: 0}
  meters:
    - {address: "000001000001", channel: bus1, area: A1, role: area, ct: 1, pt: 1}
    - {address: "000001000002", channel: bus2, area: A1, ct: 1, pt: 1}
%ANALYSIS%`

const (
	tokAdmin = "admin-token-0123456789ab"
	tokOps   = "operator-token-0123456789"
)

type reloadRig struct {
	t      *testing.T
	dir    string
	path   string
	dialin string
	vars   map[string]string
	sig    chan os.Signal
	logs   *daemontest.LogSignal
	http   string
	done   chan error
}

func (r *reloadRig) write() {
	r.t.Helper()
	y := strings.ReplaceAll(reloadConfig, "%DIR%", r.dir)
	for k, v := range r.vars {
		y = strings.ReplaceAll(y, k, v)
	}
	if err := os.WriteFile(r.path+".tmp", []byte(y), 0o644); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Rename(r.path+".tmp", r.path); err != nil {
		r.t.Fatal(err)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startReloadRig(t *testing.T) *reloadRig { return startReloadRigWith(t, "") }

// startReloadRigWith starts the daemon on reloadConfig with analysis.
func startReloadRigWith(t *testing.T, analysis string) *reloadRig {
	dir := t.TempDir()
	r := &reloadRig{t: t, dir: dir, path: filepath.Join(dir, "headend.yaml"), dialin: freeAddr(t), sig: make(chan os.Signal, 1),
		logs: daemontest.NewLogSignal("collector running", "msg=http "), done: make(chan error, 1)}
	r.vars = map[string]string{"%ANALYSIS%": analysis, "%DIALIN%": r.dialin, "%LEVEL%": "info", "%BUS2%": "127.0.0.1:1",
		"%TOKENS%": "    - {name: admin, roles: [admin], token: " + tokAdmin + "}\n    - {name: ops, roles: [operator], token: " + tokOps + "}"}
	r.write()
	cfg, err := config.Load(r.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { r.done <- Run(ctx, cfg, Options{Log: r.logs, Signals: r.sig, Settle: 20 * time.Millisecond}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("Run did not stop")
		}
	})
	r.logs.Wait(t, "collector running")
	r.logs.Wait(t, "msg=http ")
	m := regexp.MustCompile(`msg=http address=(\S+)`).FindStringSubmatch(r.logs.String())
	if m == nil {
		t.Fatalf("no http address:\n%s", r.logs.String())
	}
	r.http = "http://" + m[1]
	return r
}

// reload sends SIGHUP and waits for the n-th line with want.
func (r *reloadRig) reload(want string, n int) {
	r.t.Helper()
	r.sig <- syscall.SIGHUP
	r.waitLog(want, n)
}

// waitLog waits for the n-th line with want.
func (r *reloadRig) waitLog(want string, n int) {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(r.logs.String(), want) < n {
		if time.Now().After(deadline) {
			r.t.Fatalf("no %q in the log:\n%s", want, r.logs.String())
		}
		time.Sleep(5 * time.Millisecond) // polling the log of real I/O, bounded
	}
}

func (r *reloadRig) status(token string) int {
	code, _ := r.get("/api/v1/analysis", token)
	return code
}

func (r *reloadRig) get(path, token string) (int, string) {
	r.t.Helper()
	req, _ := http.NewRequest("GET", r.http+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

// TestReloadRevokesTokenAndSetsLevel: a token removed from http.tokens is
// refused after SIGHUP, the other still works; log.level applies; a
// section that needs a restart refuses the reload, naming it, and
// nothing of it is applied.
func TestReloadRevokesTokenAndSetsLevel(t *testing.T) {
	r := startReloadRig(t)
	if c := r.status(tokOps); c != 200 {
		t.Fatalf("operator token before the reload: %d", c)
	}
	r.vars["%TOKENS%"] = "    - {name: admin, roles: [admin], token: " + tokAdmin + "}"
	r.vars["%LEVEL%"] = "debug"
	r.write()
	r.reload("configuration applied", 1)
	if c := r.status(tokOps); c != 401 {
		t.Errorf("revoked token after SIGHUP: %d, want 401", c)
	}
	if c := r.status(tokAdmin); c != 200 {
		t.Errorf("kept token after SIGHUP: %d", c)
	}
	// at debug, the watcher's "unchanged" line is logged
	r.write()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(r.logs.String(), "configuration unchanged") {
		if time.Now().After(deadline) {
			t.Fatalf("log.level debug not applied:\n%s", r.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}

	r.vars["%TOKENS%"] = "    - {name: ops, roles: [operator], token: " + tokOps + "}"
	r.vars["127.0.0.1:0"] = "127.0.0.1:1" // http.listen
	r.write()
	r.reload("reload refused: http.listen changed; restart to apply", 1)
	if c := r.status(tokOps); c != 401 {
		t.Errorf("a refused reload applied http.tokens: operator token %d", c)
	}
}

// TestReloadKeepsUnchangedChannel: a reload that changes one channel
// reopens it and leaves the other's connection alone (a concentrator
// dialled in stays connected, never replaced).
func TestReloadKeepsUnchangedChannel(t *testing.T) {
	r := startReloadRig(t)
	conn, err := net.Dial("tcp", r.dialin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("REG C1\r\n")); err != nil {
		t.Fatal(err)
	}
	r.waitLog("event=registered", 1)
	bus2 := newCountingListener(t)
	r.vars["%BUS2%"] = bus2.addr
	r.write()
	r.reload("configuration applied", 1)
	out := r.logs.String()
	if !strings.Contains(out, "changed=[bus2]") || !strings.Contains(out, "kept=[bus1]") {
		t.Errorf("reload did not diff the channels:\n%s", out)
	}
	if n := strings.Count(out, "event=registered"); n != 1 || strings.Contains(out, "event=disconnected") {
		t.Errorf("the dial-in concentrator of the unchanged channel was dropped (%d registrations):\n%s", n, out)
	}
	// the connection is still open: the head-end has not closed it
	conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := conn.Read(make([]byte, 1)); err == nil || !os.IsTimeout(err) {
		t.Errorf("dial-in connection after the reload: %v, want it open (a read timeout)", err)
	}
}

type countingListener struct{ addr string }

func newCountingListener(t *testing.T) *countingListener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	return &countingListener{addr: l.Addr().String()}
}

// Every key of the configuration has a reload policy.
func TestReloadPolicyCoversEveryKey(t *testing.T) {
	for _, k := range append(config.Keys(), "http.tokens", "archive.channels", "archive.meters") {
		found := false
		for _, s := range policy {
			if k == s.key || strings.HasPrefix(k, s.key+".") {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s has no reload policy", k)
		}
	}
	old, _ := config.Load(daemontest.WriteConfig(t, ""), nil)
	if old == nil {
		t.Fatal("config")
	}
	nc := *old
	nc.HTTP.Listen = "127.0.0.1:1"
	nc.Log.Level = "debug"
	restart, apply := diff(old, &nc)
	if strings.Join(restart, ",") != "http.listen" || strings.Join(apply, ",") != "log.level" {
		t.Errorf("restart %v, apply %v", restart, apply)
	}
}

// docs/reload.md has a row for every section of the policy.
func TestReloadDocListsEverySection(t *testing.T) {
	b, err := os.ReadFile("../docs/reload.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range policy {
		if !strings.Contains(string(b), "| `"+s.key+"`") {
			t.Errorf("docs/reload.md has no row for %s", s.key)
		}
	}
}
