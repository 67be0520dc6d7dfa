// Package natstest starts NATS servers as a JetStream cluster for tests:
// real nats-server processes on free loopback ports, each with its store in
// a temp dir, that a test can SIGKILL and restart one at a time.
//
//	c := natstest.Start(t, 3)        // skips (fails under HEADEND_REQUIRE_ALL) without the binary
//	nc, _ := nats.Connect(c.URL())   // every server's client URL, comma-separated
//	c.Kill(1)                        // SIGKILL, as a crash
//	c.Restart(1)                     // same name, ports and store; waits until it is current
//
// The binary is HEADEND_NATS_SERVER, else nats-server on PATH (Debian's
// package, which scripts/nats.sh installs).
package natstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/headend/headend/internal/testenv"
)

// ReadyTimeout bounds the wait for a server, or the cluster, to be ready.
var ReadyTimeout = 60 * time.Second

// Binary returns the nats-server binary the kit runs, or "" if there is
// none.
func Binary() string {
	if b := os.Getenv("HEADEND_NATS_SERVER"); b != "" {
		return b
	}
	b, err := exec.LookPath("nats-server")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nats-server", "/usr/bin/nats-server"} {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
		return ""
	}
	return b
}

// Server is one nats-server of a Cluster.
type Server struct {
	Name        string // server_name: n1, n2, ...
	Port        int    // client port on 127.0.0.1
	ClusterPort int    // route port
	HTTPPort    int    // monitoring port (/jsz, /healthz)
	Dir         string // holds nats.conf, nats.log and the JetStream store

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// URL returns the server's client URL.
func (s *Server) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.Port) }

// Running reports whether the server's process is alive.
func (s *Server) Running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Cluster is a set of nats-server processes routed to each other, with
// JetStream on. Its methods are for the test goroutine.
type Cluster struct {
	Name    string
	Servers []*Server
	bin     string
	t       testing.TB
}

// Start starts n servers as one JetStream cluster (n = 1: a single
// server, no cluster block) and waits until a meta leader is elected and
// every server is current. They are killed when the test ends; on a failed
// test the tail of each server's log is printed.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	bin := Binary()
	if bin == "" {
		testenv.Skip(t, "nats-server not found (scripts/nats.sh install, or set HEADEND_NATS_SERVER)")
	}
	if _, err := os.Stat(bin); err != nil {
		testenv.Skip(t, "nats-server: %v (scripts/nats.sh install, or set HEADEND_NATS_SERVER)", err)
	}
	c := &Cluster{Name: "headend-test", bin: bin, t: t}
	root := t.TempDir()
	for i := range n {
		s := &Server{Name: fmt.Sprintf("n%d", i+1), Dir: filepath.Join(root, fmt.Sprintf("n%d", i+1))}
		if err := os.MkdirAll(s.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		c.Servers = append(c.Servers, s)
	}
	t.Cleanup(c.stopAll)
	// A port found free can be taken by another process before the server
	// binds it: then start again on new ports.
	for attempt := 1; ; attempt++ {
		for _, s := range c.Servers {
			s.Port, s.ClusterPort, s.HTTPPort = FreePort(t), FreePort(t), FreePort(t)
		}
		for _, s := range c.Servers {
			if err := os.WriteFile(filepath.Join(s.Dir, "nats.conf"), []byte(c.conf(s)), 0o644); err != nil {
				t.Fatal(err)
			}
			c.start(s)
		}
		err := c.waitReady()
		if err == nil {
			return c
		}
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
		t.Logf("natstest: start again on other ports: %v", strings.SplitN(err.Error(), "\n", 2)[0])
		c.killAll()
	}
}

// URL returns every server's client URL, comma-separated, as nats.Connect
// takes them.
func (c *Cluster) URL() string { return strings.Join(c.URLs(), ",") }

// URLs returns every server's client URL.
func (c *Cluster) URLs() []string {
	urls := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		urls[i] = s.URL()
	}
	return urls
}

// Kill sends SIGKILL to server i (0-based) and waits for it to exit.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	s := c.Servers[i]
	if !s.Running() {
		c.t.Fatalf("natstest: %s is not running", s.Name)
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// Restart starts server i again, with its name, ports and store, and waits
// until the cluster has a meta leader and every running server is current
// (it has caught up with the streams it holds replicas of).
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	s := c.Servers[i]
	if s.Running() {
		c.t.Fatalf("natstest: %s is still running", s.Name)
	}
	c.start(s)
	c.WaitReady()
}

// WaitReady waits until every running server sees a meta leader and
// answers /healthz with ok (JetStream current), failing the test after
// ReadyTimeout.
func (c *Cluster) WaitReady() {
	c.t.Helper()
	if err := c.waitReady(); err != nil {
		c.t.Fatal(err)
	}
}

func (c *Cluster) waitReady() error {
	deadline := time.Now().Add(ReadyTimeout)
	for _, s := range c.Servers {
		if !s.Running() {
			continue
		}
		for {
			why := c.notReady(s)
			if why == "" {
				break
			}
			if !s.Running() {
				return fmt.Errorf("natstest: %s exited: %s; log:\n%s", s.Name, lastError(s), tail(s))
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("natstest: %s not ready within %s: %s; log:\n%s", s.Name, ReadyTimeout, why, tail(s))
			}
			time.Sleep(50 * time.Millisecond) // polling a starting process: there is nothing to wait on
		}
	}
	return nil
}

// lastError returns the last [FTL] or [ERR] line of s's log.
func lastError(s *Server) string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "nats.log"))
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], "[FTL]") || strings.Contains(lines[i], "[ERR]") {
			return strings.TrimSpace(lines[i])
		}
	}
	return "no error logged"
}

// notReady says why s is not ready yet, or "".
func (c *Cluster) notReady(s *Server) string {
	cl := http.Client{Timeout: 2 * time.Second}
	base := fmt.Sprintf("http://127.0.0.1:%d", s.HTTPPort)
	if len(c.Servers) > 1 {
		resp, err := cl.Get(base + "/jsz")
		if err != nil {
			return err.Error()
		}
		var jsz struct {
			Meta *struct {
				Leader string `json:"leader"`
			} `json:"meta_cluster"`
		}
		err = json.NewDecoder(resp.Body).Decode(&jsz)
		resp.Body.Close()
		if err != nil {
			return "/jsz: " + err.Error()
		}
		if jsz.Meta == nil || jsz.Meta.Leader == "" {
			return "no meta leader"
		}
		// every running server routed to every other: nats-server 2.9 can
		// close a duplicate route at start and leave two servers unrouted,
		// without quorum once a third is killed
		resp, err = cl.Get(base + "/routez")
		if err != nil {
			return err.Error()
		}
		var rz struct {
			NumRoutes int `json:"num_routes"`
		}
		err = json.NewDecoder(resp.Body).Decode(&rz)
		resp.Body.Close()
		if err != nil {
			return "/routez: " + err.Error()
		}
		if want := c.running() - 1; rz.NumRoutes < want {
			return fmt.Sprintf("%d routes of %d", rz.NumRoutes, want)
		}
	}
	resp, err := cl.Get(base + "/healthz")
	if err != nil {
		return err.Error()
	}
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("/healthz: %d %s", resp.StatusCode, strings.TrimSpace(b.String()))
	}
	return ""
}

func (c *Cluster) conf(s *Server) string {
	var b strings.Builder
	fmt.Fprintf(&b, "server_name: %q\nlisten: \"127.0.0.1:%d\"\nhttp: \"127.0.0.1:%d\"\n", s.Name, s.Port, s.HTTPPort)
	fmt.Fprintf(&b, "jetstream {\n  store_dir: %q\n  max_memory_store: 268435456\n  max_file_store: 4294967296\n}\n", filepath.Join(s.Dir, "js"))
	if len(c.Servers) > 1 {
		var routes []string
		for _, o := range c.Servers {
			if o != s {
				routes = append(routes, fmt.Sprintf("%q", fmt.Sprintf("nats-route://127.0.0.1:%d", o.ClusterPort)))
			}
		}
		fmt.Fprintf(&b, "cluster {\n  name: %q\n  listen: \"127.0.0.1:%d\"\n  routes: [%s]\n}\n", c.Name, s.ClusterPort, strings.Join(routes, ", "))
	}
	return b.String()
}

func (c *Cluster) start(s *Server) {
	c.t.Helper()
	log, err := os.OpenFile(filepath.Join(s.Dir, "nats.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(c.bin, "-c", filepath.Join(s.Dir, "nats.conf"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		c.t.Fatalf("natstest: start %s: %v", s.Name, err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		log.Close()
		close(done)
	}(s.done)
}

func (c *Cluster) killAll() {
	for _, s := range c.Servers {
		if s.Running() {
			_ = s.cmd.Process.Signal(syscall.SIGKILL)
			<-s.done
		}
	}
}

func (c *Cluster) stopAll() {
	c.killAll()
	if c.t.Failed() {
		for _, s := range c.Servers {
			c.t.Logf("natstest: %s log tail:\n%s", s.Name, tail(s))
		}
	}
}

// tail returns the last lines of s's log.
func tail(s *Server) string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "nats.log"))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-30):], "\n")
}

// FreePort returns a loopback port nothing listens on, from 20000 to
// 32767: below Linux's ephemeral range, so that no outgoing connection
// takes it before the server binds it (or when it binds it again on a
// restart). A port is not handed out twice by one test binary.
func FreePort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		p := 20000 + rand.IntN(12768)
		if portsUsed[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		portsUsed[p] = true
		return p
	}
	testenv.Skip(t, "no free loopback TCP port from 20000 to 32767")
	return 0
}

var (
	portsMu   sync.Mutex
	portsUsed = map[int]bool{}
)

// running counts the servers running.
func (c *Cluster) running() int {
	n := 0
	for _, s := range c.Servers {
		if s.Running() {
			n++
		}
	}
	return n
}
