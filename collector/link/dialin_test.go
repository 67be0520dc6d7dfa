package link

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/dtu"
	"github.com/headend/headend/sim/field"
)

// dialInRig is a Listener on 127.0.0.1 with its events and log.
type dialInRig struct {
	l      *Listener
	events chan DialInEvent
	log    *logBuffer
}

func startListener(t *testing.T, cfg DialInConfig) *dialInRig {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &dialInRig{events: make(chan DialInEvent, 256), log: &logBuffer{}}
	cfg.OnEvent = func(e DialInEvent) {
		select {
		case r.events <- e:
		default:
			t.Errorf("event channel full; lost %+v", e)
		}
	}
	cfg.Logger = slog.New(slog.NewTextHandler(r.log, nil))
	if cfg.Known == nil {
		cfg.Known = func(id string) bool { return id == "C1" || id == "C2" }
	}
	r.l = Listen(t.Context(), ln, cfg)
	t.Cleanup(func() { r.l.Close() })
	return r
}

// next returns the next event of the given kind, skipping others.
func (r *dialInRig) next(t *testing.T, kind DialInEventKind) DialInEvent {
	t.Helper()
	fail := time.After(10 * time.Second) // only if the event never comes
	for {
		select {
		case e := <-r.events:
			if e.Kind == kind {
				return e
			}
		case <-fail:
			t.Fatalf("no %s event", kind)
		}
	}
}

// concentratorDialIn is a field.DialIn whose heartbeats the test sends
// through tick, and which does not redial after losing its connection
// (it reports that on gone instead).
type concentratorDialIn struct {
	tick   chan time.Time
	gone   chan int // reconnect attempt numbers
	cancel context.CancelFunc
	done   chan struct{}
}

func dialIn(t *testing.T, id, addr string, bus field.Bus) *concentratorDialIn {
	t.Helper()
	return dialInPackets(t, id, addr, bus, dtu.Packets{})
}

// dialInPackets is dialIn with the DTU's configured packets.
func dialInPackets(t *testing.T, id, addr string, bus field.Bus, pk dtu.Packets) *concentratorDialIn {
	t.Helper()
	c := &concentratorDialIn{tick: make(chan time.Time), gone: make(chan int, 16), done: make(chan struct{})}
	d, err := field.NewDialIn(id, addr, bus, field.DialInOptions{
		Packets:   pk,
		NewTicker: func(time.Duration) (<-chan time.Time, func()) { return c.tick, func() {} },
		Backoff: func(n int) time.Duration {
			c.gone <- n
			return time.Hour
		},
		Options: field.Options{Sleep: func(ctx context.Context, d time.Duration) error {
			if d <= 0 {
				return nil
			}
			<-ctx.Done() // no redialling
			return ctx.Err()
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	c.cancel = cancel
	go func() {
		defer close(c.done)
		d.Run(ctx)
	}()
	t.Cleanup(c.stop)
	return c
}

func (c *concentratorDialIn) stop() {
	c.cancel()
	<-c.done
}

// heartbeat makes the concentrator send one heartbeat.
func (c *concentratorDialIn) heartbeat(t *testing.T) {
	select {
	case c.tick <- time.Now():
	case <-time.After(10 * time.Second):
		t.Fatal("concentrator not sending heartbeats")
	}
}

func TestDialInReadsAndHeartbeats(t *testing.T) {
	r := startListener(t, DialInConfig{})
	link := r.l.Link("C1")
	if link != r.l.Link("C1") {
		t.Fatal("Link gives different links for one id")
	}
	if st := link.State(); st.Online {
		t.Fatalf("online before the concentrator dialled in: %+v", st)
	}
	if err := link.Send(t.Context(), readRequest(t, meterA)); !errors.Is(err, ErrOffline) || !strings.Contains(err.Error(), "C1") {
		t.Fatalf("send before the concentrator dialled in: %v", err)
	}

	bus := newMeters(map[string][]byte{meterA: value1, meterB: value2}).gate()
	c := dialIn(t, "C1", r.l.Addr().String(), bus)
	e := r.next(t, EventRegistered)
	if e.ID != "C1" || e.Remote == "" {
		t.Fatalf("registration event %+v", e)
	}
	st := link.State()
	if !st.Online || st.Err != "" || st.LastSeen.IsZero() {
		t.Fatalf("state after registration: %+v", st)
	}
	bus.release <- struct{}{}
	transact(t, link, meterA, value1)
	<-bus.arrived

	// A heartbeat between transactions moves LastSeen and is not a frame.
	before := link.State().LastSeen
	c.heartbeat(t)
	if e := r.next(t, EventHeartbeat); e.ID != "C1" {
		t.Fatalf("heartbeat event %+v", e)
	}
	if after := link.State().LastSeen; !after.After(before) {
		t.Fatalf("LastSeen %v after a heartbeat, was %v", after, before)
	}

	// A heartbeat during a transaction: Receive still gets the reply.
	if err := link.Send(t.Context(), readRequest(t, meterB)); err != nil {
		t.Fatal(err)
	}
	<-bus.arrived
	c.heartbeat(t)
	r.next(t, EventHeartbeat)
	bus.release <- struct{}{}
	raw, err := link.Receive(t.Context(), time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	checkReply(t, raw, meterB, value2)

	// Only heartbeats arrive: Receive waits them out.
	c.heartbeat(t)
	r.next(t, EventHeartbeat)
	if raw, err := link.Receive(t.Context(), time.Now().Add(100*time.Millisecond)); !errors.Is(err, ErrTimeout) {
		t.Fatalf("receive with only heartbeats on the line: % X, %v", raw, err)
	}
	bus.release <- struct{}{}
	expectTimeout(t, link, dead)
	<-bus.arrived

	// The concentrator hangs up: offline, and Send says so.
	c.stop()
	e = r.next(t, EventDisconnected)
	if e.ID != "C1" || e.Err == nil {
		t.Fatalf("disconnection event %+v", e)
	}
	if st := link.State(); st.Online || st.Err == "" {
		t.Fatalf("state after the concentrator hung up: %+v", st)
	}
	if err := link.Send(t.Context(), readRequest(t, meterA)); !errors.Is(err, ErrOffline) {
		t.Fatalf("send after the concentrator hung up: %v", err)
	}
	if _, err := link.Receive(t.Context(), time.Now().Add(time.Second)); !errors.Is(err, ErrOffline) {
		t.Fatalf("receive after the concentrator hung up: %v", err)
	}
}

func TestDialInRefusesUnknownID(t *testing.T) {
	r := startListener(t, DialInConfig{})
	conn, err := net.Dial("tcp", r.l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("REG X9\r\n")); err != nil {
		t.Fatal(err)
	}
	if n, err := conn.Read(make([]byte, 16)); err == nil {
		t.Fatalf("read %d bytes from a refused connection", n)
	}
	e := r.next(t, EventRefused)
	if e.ID != "X9" || e.Remote != conn.LocalAddr().String() || e.Err == nil {
		t.Fatalf("refusal event %+v (client %s)", e, conn.LocalAddr())
	}
	log := r.log.String()
	if !strings.Contains(log, "X9") || !strings.Contains(log, conn.LocalAddr().String()) {
		t.Fatalf("refusal not logged with id and remote address:\n%s", log)
	}
	if st := r.l.Link("X9").State(); st.Online {
		t.Fatalf("unknown concentrator online: %+v", st)
	}
}

func TestDialInDropsWithoutRegistration(t *testing.T) {
	r := startListener(t, DialInConfig{RegisterTimeout: 100 * time.Millisecond})
	for _, first := range []string{
		"GET / HTTP/1.1\r\n\r\n",
		"HB C1\r\n",                            // a heartbeat is not a registration
		"\xFE\xFE\x68\x01\x00\x00\x00\x00\x00", // a frame neither
		"REG c1\r\n",                           // a malformed id
		"",                                     // nothing at all, until the timeout
	} {
		conn, err := net.Dial("tcp", r.l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write([]byte(first)); err != nil {
			t.Fatal(err)
		}
		if n, err := conn.Read(make([]byte, 16)); err == nil {
			t.Fatalf("%q first: read %d bytes; want the connection closed", first, n)
		}
		e := r.next(t, EventDropped)
		if e.Remote != conn.LocalAddr().String() || e.Err == nil {
			t.Fatalf("%q first: event %+v", first, e)
		}
		conn.Close()
	}
	if st := r.l.Link("C1").State(); st.Online {
		t.Fatalf("C1 online without registering: %+v", st)
	}
	// A registration split over several writes is fine, and a frame may
	// follow it in the same segment.
	conn, err := net.Dial("tcp", r.l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	f, err := dlt645.DLT2007.ReadReply(dlt645.MustParseAddress(meterA), testDI, value1, false)
	if err != nil {
		t.Fatal(err)
	}
	frame, _ := f.AppendBinary([]byte("\n"))
	conn.Write([]byte("RE"))
	conn.Write([]byte("G C2\r"))
	conn.Write(frame)
	if e := r.next(t, EventRegistered); e.ID != "C2" {
		t.Fatalf("registration event %+v", e)
	}
	raw, err := r.l.Link("C2").Receive(t.Context(), time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	checkReply(t, raw, meterA, value1)
}

func TestDialInTakeOver(t *testing.T) {
	r := startListener(t, DialInConfig{})
	link := r.l.Link("C1")
	first := dialIn(t, "C1", r.l.Addr().String(), newMeters(map[string][]byte{meterA: value1}))
	e1 := r.next(t, EventRegistered)
	transact(t, link, meterA, value1)
	since := link.State().Since

	dialIn(t, "C1", r.l.Addr().String(), newMeters(map[string][]byte{meterA: value2}))
	if e := r.next(t, EventReplaced); e.ID != "C1" || e.Remote != e1.Remote {
		t.Fatalf("replacement event %+v; want the first connection %s", e, e1.Remote)
	}
	e2 := r.next(t, EventRegistered)
	if e2.Remote == e1.Remote {
		t.Fatalf("second registration from the first connection: %+v", e2)
	}
	select {
	case <-first.gone: // the first concentrator lost its connection
	case <-time.After(10 * time.Second):
		t.Fatal("first connection not closed")
	}
	transact(t, link, meterA, value2)
	if st := link.State(); !st.Online || !st.Since.Equal(since) {
		t.Fatalf("state after the take-over: %+v; want online since %v", st, since)
	}
	select {
	case e := <-r.events:
		t.Fatalf("unexpected event %+v", e)
	default:
	}
}

func TestDialInSilence(t *testing.T) {
	r := startListener(t, DialInConfig{Heartbeat: 50 * time.Millisecond})
	c := dialIn(t, "C1", r.l.Addr().String(), newMeters(nil))
	r.next(t, EventRegistered)
	start := time.Now()
	e := r.next(t, EventDisconnected) // no heartbeat comes
	if e.Err == nil || !strings.Contains(e.Err.Error(), "silent for 150ms") {
		t.Fatalf("disconnection event %+v", e)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("offline after %s of silence; want 3 heartbeat intervals", d)
	}
	if st := r.l.Link("C1").State(); st.Online || !strings.Contains(st.Err, "silent") {
		t.Fatalf("state after silence: %+v", st)
	}
	<-c.gone // and the connection was closed
}

func TestDialInClose(t *testing.T) {
	r := startListener(t, DialInConfig{})
	link := r.l.Link("C1")
	c := dialIn(t, "C1", r.l.Addr().String(), newMeters(map[string][]byte{meterA: value1}))
	r.next(t, EventRegistered)

	errc := make(chan error, 1)
	go func() {
		_, err := link.Receive(t.Context(), time.Now().Add(time.Minute))
		errc <- err
	}()
	link.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("receive interrupted by Close: %v", err)
	}
	if err := link.Send(t.Context(), readRequest(t, meterA)); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after Close: %v", err)
	}
	<-c.gone // the connection was closed

	// The listener hands out a fresh link for the id.
	if r.l.Link("C1") == link {
		t.Fatal("closed link handed out again")
	}
	r.l.Close()
	if err := r.l.Link("C2").Send(t.Context(), readRequest(t, meterA)); !errors.Is(err, ErrClosed) {
		t.Fatalf("send on a closed listener: %v", err)
	}
}

// FuzzDialInRegister feeds arbitrary first bytes to the registration
// reader: it never panics, accepts exactly a leading REG packet, and hands
// on every byte behind it.
func FuzzDialInRegister(f *testing.F) {
	for _, s := range []string{"REG C1\r\n", "REG C1\r\nHB C1\r\n", "RE", "HB C1\r\n", "GET /", "REG c1\r\n", "REG " + strings.Repeat("A", 40) + "\r\n", "\xFE\x68"} {
		f.Add([]byte(s))
	}
	l := &Listener{cfg: DialInConfig{RegisterTimeout: time.Second}}
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		go func() {
			client.Write(data)
			client.Close()
		}()
		p, rest, err := l.register(server, nil)
		server.Close()
		if err != nil {
			return
		}
		want, _ := dtu.AppendRegistration(nil, p.ID)
		if !bytes.HasPrefix(data, want) {
			t.Fatalf("registered %q from %q", p, data)
		}
		if len(rest) > len(data)-len(want) || !bytes.HasPrefix(data[len(want):], rest) {
			t.Fatalf("rest %q of %q", rest, data)
		}
	})
}
