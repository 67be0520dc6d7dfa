// Package etcdtest starts a private etcd server for a test: Debian's
// etcd-server (scripts/etcd.sh install) on free loopback ports with its data in
// a temporary directory, stopped when the test ends.
//
// A missing binary skips the test through internal/testenv (it fails
// instead under HEADEND_REQUIRE_ALL=1). HEADEND_ETCD overrides the binary's
// path.
package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/headend/headend/internal/testenv"
)

// Binary is the etcd server's path: $HEADEND_ETCD or /usr/bin/etcd.
func Binary() string {
	if p := os.Getenv("HEADEND_ETCD"); p != "" {
		return p
	}
	return "/usr/bin/etcd"
}

// Server is one running etcd member.
type Server struct {
	Dir      string // its data directory and log
	Endpoint string // the client URL, http://127.0.0.1:port

	t    testing.TB
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the process's exit, once done is closed
}

// Start starts a single-member etcd for t, stopped (SIGKILL) at t's cleanup,
// and waits (at most 30 s) until it answers /health.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary()
	if _, err := os.Stat(bin); err != nil {
		testenv.Skip(t, "no etcd server at %s: run scripts/etcd.sh install (make etcd), or set HEADEND_ETCD", bin)
	}
	dir := t.TempDir()
	client, peer := freePort(t), freePort(t)
	s := &Server{
		Dir:      dir,
		Endpoint: fmt.Sprintf("http://127.0.0.1:%d", client),
		t:        t,
		done:     make(chan struct{}),
	}
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	log, err := os.Create(filepath.Join(dir, "etcd.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bin,
		"--name", "test",
		"--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", s.Endpoint,
		"--advertise-client-urls", s.Endpoint,
		"--listen-peer-urls", peerURL,
		"--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "test="+peerURL,
		"--initial-cluster-state", "new",
		"--log-level", "warn",
		"--logger", "zap",
	)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	// A test binary that dies (a timeout's panic skips the cleanups) takes its server along.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		log.Close()
		t.Fatalf("starting %s: %v", bin, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		log.Close()
		close(s.done)
	}()
	t.Cleanup(s.Stop)
	if err := s.waitHealthy(30 * time.Second); err != nil {
		s.Stop()
		out, _ := os.ReadFile(filepath.Join(dir, "etcd.log"))
		t.Fatalf("etcd at %s: %v\n%s", s.Endpoint, err, out)
	}
	return s
}

func (s *Server) waitHealthy(within time.Duration) error {
	deadline := time.Now().Add(within)
	hc := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-s.done:
			return fmt.Errorf("etcd exited: %v", s.err)
		default:
		}
		resp, err := hc.Get(s.Endpoint + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not healthy within %v: %v", within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Client returns a client of s (through endpoint when given, e.g. a
// Proxy's), closed at t's cleanup unless closed before.
func (s *Server) Client(t testing.TB, endpoint ...string) *clientv3.Client {
	t.Helper()
	eps := endpoint
	if len(eps) == 0 {
		eps = []string{s.Endpoint}
	}
	c, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatalf("etcd client of %v: %v", eps, err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Get(ctx, "health-check"); err != nil {
		t.Fatalf("etcd client of %v: first request: %v", eps, err)
	}
	return c
}

// Pause stops the server's process (SIGSTOP): it holds its connections
// and answers nothing until Resume.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Errorf("etcd: %v: %v", sig, err)
	}
}

// Stop kills the server and waits for it; it may be called again.
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGCONT)
	s.cmd.Process.Kill()
	<-s.done
}

// freePort returns a loopback TCP port nothing listened on a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		testenv.Skip(t, "no loopback: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
