// Package pgtest starts throw-away PostgreSQL 15 servers for tests: initdb
// in a temporary directory, postgres on a free loopback port (as the
// postgres OS user when the test runs as root), a new database per test.
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		dsn := pgtest.Shared(t).NewDatabase(t)
//		...
//	}
//
// The binaries are Debian's postgresql-15 (scripts/postgres.sh install);
// HEADEND_PG_BIN names another directory of them. Without them a test is
// skipped through internal/testenv (it fails under HEADEND_REQUIRE_ALL).
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/headend/headend/internal/testenv"
)

// BinDir is where the server's binaries are looked for.
func BinDir() string {
	if d := os.Getenv("HEADEND_PG_BIN"); d != "" {
		return d
	}
	return "/usr/lib/postgresql/15/bin"
}

// Server is a running PostgreSQL server of a test.
type Server struct {
	Dir  string // the data directory's parent: data/, the log, the socket
	Port int    // on 127.0.0.1

	cmd    *exec.Cmd
	exited chan struct{}
	err    error // why it exited, once exited is closed
	dbs    atomic.Int64
}

// Options adjust a server.
type Options struct {
	// Durable keeps fsync and synchronous commit on, as a production
	// server has them; tests leave it off, for speed.
	Durable bool
}

// Start starts a server for t and stops it when t ends. Without the
// binaries t is skipped (see internal/testenv); a server that does not
// start fails t.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := start(opts)
	if errors.Is(err, errMissing) {
		testenv.Skip(t, "%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

var (
	sharedOnce sync.Once
	shared     *Server
	sharedErr  error
)

// Shared returns the server of the test binary, started on first use and
// stopped by Main. Tests on it each take a database of their own
// (NewDatabase).
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = start(Options{}) })
	if errors.Is(sharedErr, errMissing) {
		testenv.Skip(t, "%v", sharedErr)
	}
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// Main runs the tests and then stops the shared server, if one started;
// it returns m.Run's code.
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

var errMissing = errors.New("no PostgreSQL binaries")

func start(opts Options) (*Server, error) {
	bin := BinDir()
	for _, b := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return nil, fmt.Errorf("%w: %s/%s missing: run scripts/postgres.sh install (make postgres), or set HEADEND_PG_BIN", errMissing, bin, b)
		}
	}
	dir, err := os.MkdirTemp("", "headend-pg-")
	if err != nil {
		return nil, err
	}
	cred, err := credential(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{Dir: dir, exited: make(chan struct{})}
	if err := s.initdb(bin, cred); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.run(bin, cred, opts); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// credential is who the server runs as: root may not run it, so as root
// the postgres OS user, to whom dir is given; otherwise the test's user.
func credential(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("%w: running as root needs the postgres OS user: %v", errMissing, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, fmt.Errorf("pgtest: giving %s to postgres: %w", dir, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func (s *Server) initdb(bin string, cred *syscall.Credential) error {
	cmd := exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(s.Dir, "data"), "-U", "postgres",
		"-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	cmd.Dir = s.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb: %v\n%s", err, out)
	}
	return nil
}

// run starts postgres on a free port and waits until it takes
// connections (30 s at most).
func (s *Server) run(bin string, cred *syscall.Credential, opts Options) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.Port = port
	args := []string{"-D", filepath.Join(s.Dir, "data"), "-p", strconv.Itoa(port), "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + s.Dir, "-c", "max_connections=100", "-c", "shared_buffers=32MB"}
	if !opts.Durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	logf, err := os.Create(filepath.Join(s.Dir, "postgres.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	if cred != nil {
		os.Chown(logf.Name(), int(cred.Uid), int(cred.Gid))
	}
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), args...)
	s.cmd.Dir = s.Dir
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// the server dies with the test binary, should that be killed
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: postgres: %w", err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := pgx.Connect(ctx, s.DSN("postgres"))
		cancel()
		if err == nil {
			c.Close(context.Background())
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("pgtest: postgres exited: %v (see %s)", s.err, logf.Name())
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("pgtest: postgres took no connection within 30 s: %v (see %s)", err, logf.Name())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DSN is the URL of database db on the server, as the superuser.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// NewDatabase creates an empty database for t and returns its DSN.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer c.Close(ctx)
	name := fmt.Sprintf("t%d", s.dbs.Add(1))
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	return s.DSN(name)
}

// Stop stops the server (a fast shutdown, then SIGKILL after 20 s) and
// removes its directory.
func (s *Server) Stop() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return os.RemoveAll(s.Dir)
	}
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	}
	s.cmd = nil
	return os.RemoveAll(s.Dir)
}
