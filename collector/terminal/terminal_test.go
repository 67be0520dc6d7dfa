package terminal

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/protocol/gdw3761"
)

// fakeClock is an injected clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeTerminal is a 376.1 terminal built from the codec, for this
// package's tests only.
type fakeTerminal struct {
	t    *testing.T
	addr gdw3761.Address
	nc   net.Conn
	r    *gdw3761.Reader
	seq  uint8
}

func dialTerminal(t *testing.T, l *Listener, id string) *fakeTerminal {
	t.Helper()
	a, err := gdw3761.ParseAddress(id)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &fakeTerminal{t: t, addr: a, nc: nc, r: gdw3761.NewReader(nc)}
}

func (ft *fakeTerminal) send(f *gdw3761.Frame) {
	ft.t.Helper()
	b, err := f.MarshalBinary()
	if err != nil {
		ft.t.Fatal(err)
	}
	ft.sendRaw(b)
}

func (ft *fakeTerminal) sendRaw(b []byte) {
	ft.t.Helper()
	if _, err := ft.nc.Write(b); err != nil {
		ft.t.Fatal(err)
	}
}

// linkFrame sends AFN 02 Fn fn and returns the answer.
func (ft *fakeTerminal) linkFrame(fn uint8, clock gdw3761.DateTime) (*gdw3761.Frame, error) {
	ft.t.Helper()
	f, err := gdw3761.Link(ft.addr, ft.seq, fn, clock)
	if err != nil {
		ft.t.Fatal(err)
	}
	ft.seq = (ft.seq + 1) & 0x0F
	ft.send(&f)
	return ft.read()
}

func (ft *fakeTerminal) read() (*gdw3761.Frame, error) {
	ft.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	return ft.r.ReadFrame()
}

func (ft *fakeTerminal) login() {
	ft.t.Helper()
	a, err := ft.linkFrame(1, gdw3761.DateTime{})
	if err != nil {
		ft.t.Fatalf("login: %v", err)
	}
	if err := gdw3761.Acknowledged(a); err != nil {
		ft.t.Fatalf("login answer: %v", err)
	}
}

// closed reports whether a read ended because the head-end closed the
// connection (not by the test's read deadline).
func closed(err error) bool { return err != nil && !errors.Is(err, os.ErrDeadlineExceeded) }

// waitFor waits, bounded, for cond on real I/O.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func listen(t testing.TB, clk *fakeClock, known ...string) *Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, k := range known {
		set[k] = true
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg := Config{Known: func(id string) (time.Duration, bool) { return time.Minute, set[id] }, Location: time.UTC}
	if clk != nil {
		cfg.Now = clk.Now
	}
	l := Listen(ctx, ln, cfg)
	t.Cleanup(func() { cancel(); l.Close(); l.wg.Wait() })
	return l
}

func TestLoginAndHeartbeat(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	l := listen(t, clk, "4401 0001")
	ft := dialTerminal(t, l, "4401 0001")
	ft.login()
	s, ok := l.Terminal("4401-0001")
	if !ok {
		t.Fatal("terminal 4401 0001 not found")
	}
	waitFor(t, "online", func() bool { return s.Status().Online })
	clk.Add(time.Minute)
	tc := gdw3761.DateTime{Year: 2026, Month: 12, Day: 7, Hour: 9, Minute: 59, Second: 30, Weekday: 1}
	a, err := ft.linkFrame(3, tc)
	if err != nil {
		t.Fatal(err)
	}
	if err := gdw3761.Acknowledged(a); err != nil || a.AFN != gdw3761.AFNConfirm {
		t.Fatalf("heartbeat answer %v: %v", a.AFN, err)
	}
	st := s.Status()
	if !st.Online || !st.LastHeartbeat.Equal(clk.Now()) || !st.Clock.Equal(tc.Time(time.UTC)) {
		t.Fatalf("status %+v", st)
	}
	if got := l.Stats(); got.Logins != 1 || got.Heartbeats != 1 || got.Online != 1 {
		t.Fatalf("stats %+v", got)
	}
	// logout: confirmed, offline
	if _, err := ft.linkFrame(2, gdw3761.DateTime{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline after logout", func() bool { return !s.Status().Online })
}

func TestUnknownTerminalRefused(t *testing.T) {
	l := listen(t, nil, "4401 0001")
	ft := dialTerminal(t, l, "4401 0002")
	a, err := ft.linkFrame(1, gdw3761.DateTime{})
	if err != nil {
		t.Fatal(err)
	}
	if gdw3761.Acknowledged(a) == nil {
		t.Fatal("unknown terminal's login confirmed")
	}
	if _, err := ft.read(); !closed(err) {
		t.Fatalf("connection of an unknown terminal left open: %v", err)
	}
	waitFor(t, "refusal counted", func() bool { return l.Stats().Refused == 1 })
	if _, ok := l.Terminal("4401 0002"); ok {
		t.Fatal("unknown terminal has a session")
	}
}

func TestSecondLoginReplaces(t *testing.T) {
	l := listen(t, nil, "4401 0001")
	first := dialTerminal(t, l, "4401 0001")
	first.login()
	second := dialTerminal(t, l, "4401 0001")
	second.login()
	if _, err := first.read(); !closed(err) {
		t.Fatalf("first connection still open after the second login: %v", err)
	}
	s, _ := l.Terminal("4401 0001")
	if st := s.Status(); !st.Online || st.Remote != second.nc.LocalAddr().String() {
		t.Fatalf("status %+v, want online on %s", st, second.nc.LocalAddr())
	}
	if a, err := second.linkFrame(3, gdw3761.DateTime{}); err != nil || gdw3761.Acknowledged(a) != nil {
		t.Fatalf("heartbeat on the second connection: %v", err)
	}
}

func TestSilenceIsOffline(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	l := listen(t, clk, "4401 0001")
	ft := dialTerminal(t, l, "4401 0001")
	ft.login()
	s, _ := l.Terminal("4401 0001")
	clk.Add(3 * time.Minute) // three intervals: still allowed
	l.Sweep()
	if !s.Status().Online {
		t.Fatal("offline after exactly 3 heartbeat intervals")
	}
	clk.Add(time.Second)
	l.Sweep()
	if s.Status().Online {
		t.Fatal("still online after more than 3 silent heartbeat intervals")
	}
	if _, err := ft.read(); !closed(err) {
		t.Fatalf("silent terminal's connection left open: %v", err)
	}
	if _, err := s.Exchange(context.Background(), &gdw3761.Frame{}); !errors.Is(err, ErrOffline) {
		t.Fatalf("Exchange offline: %v", err)
	}
}

// TestCloseStopsTheSweep: Close ends the offline sweep (its goroutine,
// of a context never cancelled) before it returns.
func TestCloseStopsTheSweep(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Listen(context.Background(), ln, Config{})
	select {
	case <-l.swept:
		t.Fatal("the sweep ended before Close")
	default:
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.swept:
	default:
		t.Fatal("Close returned with the sweep still running")
	}
	if err := l.Close(); err != nil { // a second Close returns at once
		t.Fatal(err)
	}
	l.wg.Wait() // the accept loop ended too
}
