// Package proctest runs the child processes of the system tests
// (sim/faults, sim/failover): a binary built from the module, started
// with its output appended to a log file of its own, waited for until
// its HTTP server answers, and stopped with a signal.
//
//	bin := proctest.Build(t, root, filepath.Join(work, "bin", "headend"), "./cmd/headend")
//	p := proctest.Start(t, work, "he1", proctest.Options{}, bin, "serve", "--config", cfg)
//	proctest.WaitHTTP(t, "http://"+addr+"/healthz", 30*time.Second, p)
//	p.Stop(t, syscall.SIGKILL)
package proctest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Build builds the module's package pkg ("./cmd/headend") in root into
// the binary out and returns out.
func Build(t testing.TB, root, out, pkg string) string {
	t.Helper()
	build := exec.Command("go", "build", "-o", out, pkg)
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// Options are how a process is tied to the test.
type Options struct {
	// Context, when not nil, kills the process when it is done
	// (exec.CommandContext).
	Context context.Context
	// DieWithTest has the kernel SIGKILL the process when the test's
	// process dies (Pdeathsig), so that a test killed by its timeout
	// leaves nothing running.
	DieWithTest bool
}

// Proc is a running child process, its output in dir/<name>.log.
type Proc struct {
	Name string
	Cmd  *exec.Cmd
	done chan struct{} // closed when it exited
	err  error         // how, once done is closed
}

// Start starts bin with args, its stdout and stderr appended to
// dir/name.log after a line "=== bin args".
func Start(t testing.TB, dir, name string, o Options, bin string, args ...string) *Proc {
	t.Helper()
	log, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(log, "=== %s %s\n", bin, strings.Join(args, " "))
	var cmd *exec.Cmd
	if o.Context != nil {
		cmd = exec.CommandContext(o.Context, bin, args...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if o.DieWithTest {
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		log.Close()
		t.Fatal(err)
	}
	p := &Proc{Name: name, Cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); log.Close(); close(p.done) }()
	return p
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is how the process exited (cmd.Wait's error), once Done is closed.
func (p *Proc) Err() error {
	<-p.done
	return p.err
}

// Stop sends sig and waits for the process to end (a minute at most,
// then SIGKILL). An exit with an error is a test error unless sig is
// SIGKILL.
func (p *Proc) Stop(t testing.TB, sig syscall.Signal) {
	t.Helper()
	p.Cmd.Process.Signal(sig)
	select {
	case <-p.done:
		if sig != syscall.SIGKILL && p.err != nil {
			t.Errorf("%s stopped with %v on %v", p.Name, p.err, sig)
		}
	case <-time.After(time.Minute):
		t.Errorf("%s did not stop within a minute of %v", p.Name, sig)
		p.Cmd.Process.Kill()
		<-p.done
	}
}

// WaitHTTP waits until url answers (any status), within at most. With
// p not nil it fails at once if p exits first.
func WaitHTTP(t testing.TB, url string, within time.Duration, p *Proc) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if p != nil {
			select {
			case <-p.done:
				t.Fatalf("%s exited before it answered %s: %v (see %s.log)", p.Name, url, p.err, p.Name)
			default:
			}
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer within %v: %v", url, within, err)
		}
		time.Sleep(100 * time.Millisecond) // a starting process: nothing to wait on
	}
}

// FreePorts returns n loopback addresses ("127.0.0.1:port") free at the
// time of the call, distinct from each other.
func FreePorts(t testing.TB, n int) []string {
	t.Helper()
	var out []string
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}
