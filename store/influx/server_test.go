package influx

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/headend/headend/store"

	"github.com/headend/headend/internal/influxtest"
	"github.com/headend/headend/internal/testenv"
)

// server is a private influxd for this test binary, shared by its tests,
// from influxtest.Binary (scripts/influxd.sh install; HEADEND_INFLUXD).
type server struct {
	bin, dir, url string
	port          int
	cmd           *exec.Cmd
	exited        chan error
}

var srv *server

// TestMain stops the server, if a test started it. It is started on
// first use (needServer), so that fuzz workers, which run TestMain too,
// start none.
func TestMain(m *testing.M) {
	code := m.Run()
	if srv != nil {
		srv.stop()
		os.RemoveAll(srv.dir)
	}
	os.Exit(code)
}

var (
	srvOnce    sync.Once
	srvErr     error
	srvMissing bool // srvErr is that there is no binary
)

// needServer starts the private influxd once. When its binary is missing
// the test is skipped, or fails under CI or HEADEND_REQUIRE_INFLUXDB=1;
// when it does not start, the test fails.
func needServer(t testing.TB) *server {
	t.Helper()
	srvOnce.Do(func() {
		bin := influxtest.Binary()
		if _, err := os.Stat(bin); err != nil {
			srvErr = fmt.Errorf("no influxd at %s: run scripts/influxd.sh install (make influxd), or set HEADEND_INFLUXD", bin)
			srvMissing = true
			return
		}
		dir, err := os.MkdirTemp("", "headend-influxd-")
		if err != nil {
			srvErr = err
			return
		}
		s := &server{bin: bin, dir: dir}
		if err := s.start(); err != nil {
			srvErr = fmt.Errorf("starting influxd: %w", err)
			os.RemoveAll(dir)
			return
		}
		srv = s
	})
	switch {
	case srvErr == nil:
	case srvMissing && os.Getenv("CI") == "" && os.Getenv("HEADEND_REQUIRE_INFLUXDB") != "1" && !testenv.RequireAll():
		t.Skip(srvErr)
	default:
		t.Fatal(srvErr)
	}
	return srv
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start starts influxd on its data directory; the first start picks the
// ports, a restart keeps them.
func (s *server) start() error {
	if s.port == 0 {
		p, err := freePort()
		if err != nil {
			return err
		}
		rpc, err := freePort()
		if err != nil {
			return err
		}
		s.port = p
		s.url = "http://127.0.0.1:" + strconv.Itoa(p)
		conf := testenv.InfluxdConf(s.dir, p, rpc)
		if err := os.WriteFile(filepath.Join(s.dir, "influxd.conf"), []byte(conf), 0o644); err != nil {
			return err
		}
	}
	log, err := os.OpenFile(filepath.Join(s.dir, "influxd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	s.cmd = exec.Command(s.bin, "run", "-config", filepath.Join(s.dir, "influxd.conf"))
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	s.exited = exited
	cmd := s.cmd
	go func() { exited <- cmd.Wait(); log.Close() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("influxd exited: %v (see %s)", err, filepath.Join(s.dir, "influxd.log"))
		default:
		}
		if resp, err := http.Get(s.url + "/ping"); err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond) // polling a starting process: there is nothing to wait on
	}
	return fmt.Errorf("influxd did not answer /ping within 30 s")
}

// stop ends influxd (SIGTERM, then SIGKILL) and waits until its port is
// closed.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGCONT) // if paused
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// kill ends influxd with SIGKILL, as a crash would.
func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// pause stops the server's process (SIGSTOP): it keeps its sockets and
// answers nothing, as a database stuck on its disk would.
func (s *server) pause()  { s.cmd.Process.Signal(syscall.SIGSTOP) }
func (s *server) resume() { s.cmd.Process.Signal(syscall.SIGCONT) }

var dbSeq int

// newDB creates a fresh database with the given retention and opens a
// store on it.
func newDB(t testing.TB, ret store.Retention) (*Store, Buckets) {
	t.Helper()
	needServer(t)
	dbSeq++
	db := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq)
	ctx := context.Background()
	b, err := Setup(ctx, srv.url, "", db, ret)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(ctx, Options{URL: srv.url, Buckets: b, Retention: ret, Location: time.UTC, Timeout: 120 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { influxQL(context.Background(), srv.url, "", "DROP DATABASE "+ident(db)) })
	return st, b
}
