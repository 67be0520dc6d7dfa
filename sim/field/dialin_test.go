package field

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/dtu"
)

// headEnd is the test's side of a dial-in connection.
type headEnd struct {
	conn net.Conn
	sc   *dtu.Scanner
}

func accept(t *testing.T, ln net.Listener) *headEnd {
	t.Helper()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	return &headEnd{conn: conn, sc: dtu.NewScanner(conn)}
}

func (h *headEnd) packet(t *testing.T, want dtu.Packet) {
	t.Helper()
	p, fr, err := h.sc.Next()
	if err != nil || p != want {
		t.Fatalf("got packet %v, frame % X, %v; want %v", p, fr, err, want)
	}
}

func TestDialIn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	tick := make(chan time.Time)
	var mu sync.Mutex
	var intervals []time.Duration
	var attempts []int
	sl := &sleeps{}
	d, err := NewDialIn("TA-0001", ln.Addr().String(), &fakeBus{}, DialInOptions{
		Options:   Options{Baud: 2400, Sleep: sl.sleep},
		Heartbeat: 30 * time.Second,
		NewTicker: func(d time.Duration) (<-chan time.Time, func()) {
			mu.Lock()
			intervals = append(intervals, d)
			mu.Unlock()
			return tick, func() {}
		},
		Backoff: func(n int) time.Duration {
			mu.Lock()
			attempts = append(attempts, n)
			mu.Unlock()
			return 7 * time.Second
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	reg := dtu.Packet{Kind: dtu.Registration, ID: "TA-0001"}
	hb := dtu.Packet{Kind: dtu.Heartbeat, ID: "TA-0001"}

	h := accept(t, ln)
	h.packet(t, reg)
	tick <- time.Now()
	h.packet(t, hb)
	h.conn.Write(readReq(liveMeter))
	p, fr, err := h.sc.Next()
	if err != nil || p.Kind != 0 {
		t.Fatalf("want a reply frame, got %v, %v", p, err)
	}
	var f dlt645.Frame
	if err := f.UnmarshalBinary(fr); err != nil || f.Address != liveMeter || !f.Control.Reply() {
		t.Fatalf("reply %+v, %v", f, err)
	}
	tick <- time.Now()
	h.packet(t, hb)

	h.conn.Close() // the head-end drops the concentrator
	h = accept(t, ln)
	h.packet(t, reg)
	tick <- time.Now()
	h.packet(t, hb)

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(intervals, []time.Duration{30 * time.Second, 30 * time.Second}) {
		t.Errorf("tickers %v", intervals)
	}
	if !slices.Equal(attempts, []int{1}) {
		t.Errorf("back-off attempts %v, want [1] (the first session was healthy)", attempts)
	}
	if got, want := sl.got(), []time.Duration{165 * time.Millisecond, 7 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("slept %v, want line time then back-off %v", got, want)
	}
	if n := d.Stats().Connections.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestDialInBacksOff(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var attempts []int
	dials := 0
	d, err := NewDialIn("C1", "headend:9000", &fakeBus{}, DialInOptions{
		Options: Options{Sleep: func(ctx context.Context, _ time.Duration) error {
			if len(attempts) == 3 {
				cancel()
			}
			return ctx.Err()
		}},
		Dial: func(ctx context.Context, addr string) (net.Conn, error) {
			dials++
			return nil, errors.New("no route to " + addr)
		},
		Backoff: func(n int) time.Duration { attempts = append(attempts, n); return time.Duration(n) * time.Second },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(ctx); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if !slices.Equal(attempts, []int{1, 2, 3}) || dials != 3 {
		t.Errorf("attempts %v after %d dials, want [1 2 3] after 3", attempts, dials)
	}
}

func TestDialInBadID(t *testing.T) {
	if _, err := NewDialIn("c1 ", "x:1", &fakeBus{}, DialInOptions{}); !errors.Is(err, dtu.ErrBadID) {
		t.Errorf("NewDialIn with a bad id: %v", err)
	}
}

func TestExpBackoff(t *testing.T) {
	b := ExpBackoff(time.Second, time.Minute)
	for range 100 {
		for n, lo := range map[int]time.Duration{1: time.Second / 2, 2: time.Second, 4: 4 * time.Second, 7: 30 * time.Second, 50: 30 * time.Second} {
			if d := b(n); d < lo || d > 2*lo {
				t.Fatalf("attempt %d waits %v, want %v..%v", n, d, lo, 2*lo)
			}
		}
	}
}
