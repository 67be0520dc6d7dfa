package link

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/sim/field"
)

// concentrator serves bus on addr ("127.0.0.1:0" for any port) until stop
// is called; stop waits until it has closed every connection.
func concentrator(t *testing.T, addr string, bus field.Bus) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- field.NewConcentrator(bus, field.Options{}).Serve(ctx, ln) }()
	var stopped bool
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("concentrator: %v", err)
		}
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

func noBackoff(int) time.Duration { return 0 }

func TestTCPReadReconnect(t *testing.T) {
	addr, stop := concentrator(t, "127.0.0.1:0", newMeters(map[string][]byte{meterA: value1}))
	l := DialTCP(TCPConfig{Addr: addr, Backoff: noBackoff})
	defer l.Close()

	if st := l.State(); st.Online {
		t.Fatalf("online before the first Send: %+v", st)
	}
	if _, err := l.Receive(t.Context(), time.Now().Add(time.Second)); !errors.Is(err, ErrOffline) {
		t.Fatalf("receive before connecting: %v", err)
	}
	transact(t, l, meterA, value1)
	st := l.State()
	if !st.Online || st.LastSeen.IsZero() || st.Err != "" {
		t.Fatalf("state after a read: %+v", st)
	}
	expectTimeout(t, l, dead)
	transact(t, l, meterA, value1)

	// The concentrator goes away: the link notices on the next
	// transaction, at the latest, and goes offline with the reason.
	stop()
	err := l.Send(t.Context(), readRequest(t, meterA))
	if err == nil {
		_, err = l.Receive(t.Context(), time.Now().Add(5*time.Second))
	}
	if !errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("transaction with the concentrator gone: %v; want ErrOffline naming %s", err, addr)
	}
	down := l.State()
	if down.Online || down.Err == "" || !down.Since.After(st.Since) {
		t.Fatalf("state with the concentrator gone: %+v (was %+v)", down, st)
	}
	if err := l.Send(t.Context(), readRequest(t, meterA)); !errors.Is(err, ErrOffline) {
		t.Fatalf("send with nobody listening: %v", err)
	}

	// A concentrator comes back on the same address: the next Send
	// reconnects.
	concentrator(t, addr, newMeters(map[string][]byte{meterA: value2}))
	transact(t, l, meterA, value2)
	if st := l.State(); !st.Online || st.Err != "" {
		t.Fatalf("state after reconnecting: %+v", st)
	}

	l.Close()
	if err := l.Send(t.Context(), readRequest(t, meterA)); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
	if _, err := l.Receive(t.Context(), time.Now().Add(time.Second)); !errors.Is(err, ErrClosed) {
		t.Fatalf("receive after close: %v", err)
	}
	if st := l.State(); st.Online {
		t.Fatalf("online after close: %+v", st)
	}
}

// A reply that comes after its transaction gave up sits in the socket;
// Discard drops it, so the next transaction gets its own reply.
func TestTCPDiscardLateReply(t *testing.T) {
	bus := newMeters(map[string][]byte{meterA: value1, meterB: value2}).gate()
	addr, _ := concentrator(t, "127.0.0.1:0", bus)
	l := DialTCP(TCPConfig{Addr: addr})
	defer l.Close()
	ctx := t.Context()

	if err := l.Send(ctx, readRequest(t, meterA)); err != nil {
		t.Fatal(err)
	}
	<-bus.arrived
	if _, err := l.Receive(ctx, time.Now().Add(50*time.Millisecond)); !errors.Is(err, ErrTimeout) {
		t.Fatalf("receive while the meter thinks: %v", err)
	}
	bus.release <- struct{}{} // A's reply is late

	if err := l.Send(ctx, readRequest(t, meterB)); err != nil {
		t.Fatal(err)
	}
	// The concentrator takes B only once it has written A's reply.
	<-bus.arrived
	l.Discard()
	bus.release <- struct{}{}
	raw, err := l.Receive(ctx, time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	checkReply(t, raw, meterB, value2)
}

func TestTCPBacksOff(t *testing.T) {
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	var attempts []int
	dials := 0
	l := DialTCP(TCPConfig{
		Addr: addr,
		Backoff: func(n int) time.Duration {
			attempts = append(attempts, n)
			return time.Hour
		},
		Dial: func(ctx context.Context, addr string) (net.Conn, error) {
			dials++
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		},
	})
	defer l.Close()
	for range 3 {
		err := l.Send(t.Context(), readRequest(t, meterA))
		if !errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), addr) {
			t.Fatalf("send: %v", err)
		}
	}
	if dials != 1 || len(attempts) != 1 {
		t.Fatalf("%d dials, back-off attempts %v; want one of each", dials, attempts)
	}
	if st := l.State(); st.Online || !strings.Contains(st.Err, "refused") {
		t.Fatalf("state: %+v", st)
	}
}

func TestTCPContextEndsReceive(t *testing.T) {
	bus := newMeters(map[string][]byte{meterA: value1}).gate()
	addr, _ := concentrator(t, "127.0.0.1:0", bus)
	l := DialTCP(TCPConfig{Addr: addr})
	defer l.Close()
	if err := l.Send(t.Context(), readRequest(t, meterA)); err != nil {
		t.Fatal(err)
	}
	<-bus.arrived
	// The context ends long before the deadline, while Receive waits.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Receive(ctx, time.Now().Add(time.Minute)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("receive with an ended context: %v", err)
	}
	// The connection survives, and the reply is still there.
	bus.release <- struct{}{}
	raw, err := l.Receive(t.Context(), time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	checkReply(t, raw, meterA, value1)
	if !l.State().Online {
		t.Fatal("offline after a cancelled Receive")
	}
}
