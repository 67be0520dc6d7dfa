package field

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headend/headend/protocol/dlt645"
)

var (
	liveMeter = dlt645.MustParseAddress("000012345678")
	deadMeter = dlt645.MustParseAddress("000087654321")
	readDI    = dlt645.DI(0x00010000)
	value     = []byte{0x67, 0x45, 0x23, 0x01} // 12345.67 kWh, low byte first
)

// fakeBus answers 2007 reads with value, leaves deadMeter silent, records
// the addresses asked in order and notes overlapping Exchanges.
type fakeBus struct {
	mu      sync.Mutex
	asked   []dlt645.Address
	active  atomic.Int32
	overlap atomic.Bool
	hold    chan struct{} // when set, the first Exchange signals entered and waits
	entered chan struct{}
}

func (b *fakeBus) Exchange(ctx context.Context, req []byte) []byte {
	if b.active.Add(1) > 1 {
		b.overlap.Store(true)
	}
	defer b.active.Add(-1)
	var f dlt645.Frame
	if err := f.UnmarshalBinary(req); err != nil {
		panic("bus got a bad frame: " + err.Error())
	}
	b.mu.Lock()
	b.asked = append(b.asked, f.Address)
	first := len(b.asked) == 1
	b.mu.Unlock()
	if first && b.hold != nil {
		close(b.entered)
		<-b.hold
	}
	if f.Address == deadMeter {
		return nil
	}
	m, err := dlt645.DLT2007.Decode(&f)
	if err != nil {
		panic(err)
	}
	return wire(dlt645.DLT2007.ReadReply(f.Address, m.DI, value, false))
}

func (b *fakeBus) order() []dlt645.Address {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.asked)
}

func wire(f dlt645.Frame, err error) []byte {
	if err != nil {
		panic(err)
	}
	b, err := f.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return b
}

func readReq(a dlt645.Address) []byte { return wire(dlt645.DLT2007.ReadRequest(a, readDI)) }

// sleeps records what a transport asked to wait, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

// waitFor spins until cond holds; it fails the test after 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

// startTCP runs a Concentrator on a loopback port. stop cancels it, waits
// for Serve and returns its error; cleanup calls it and wants nil.
func startTCP(t *testing.T, bus Bus, opts Options) (c *Concentrator, addr string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c = NewConcentrator(bus, opts)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx, ln) }()
	stop = sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Serve = %v, want nil after cancel", err)
		}
	})
	return c, ln.Addr().String(), stop
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	return conn
}

// readReply reads one frame and checks it is the read reply of meter a.
func readReply(t *testing.T, r *dlt645.Reader, a dlt645.Address) {
	t.Helper()
	f, err := r.ReadFrame()
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	m, err := dlt645.DLT2007.Decode(f)
	if err != nil || !f.Control.Reply() || m.Address != a || m.DI != readDI || !bytes.Equal(m.Payload, value) {
		t.Fatalf("reply %+v, %v; want %v's %v = % X", m, err, a, readDI, value)
	}
}

func TestTCPRead(t *testing.T) {
	bus := &fakeBus{}
	sl := &sleeps{}
	c, addr, _ := startTCP(t, bus, Options{Baud: 2400, Sleep: sl.sleep})
	conn := dial(t, addr)
	r := dlt645.NewReader(conn)

	// A dead meter first: no reply, and the next read is not confused by it.
	req := append(slices.Clone(dlt645.Preamble), readReq(deadMeter)...)
	req = append(req, readReq(liveMeter)...)
	if _, err := conn.Write(req); err != nil {
		t.Fatal(err)
	}
	readReply(t, r, liveMeter)
	if got := bus.order(); !slices.Equal(got, []dlt645.Address{deadMeter, liveMeter}) {
		t.Errorf("bus asked %v, want dead then live", got)
	}
	// 16-byte request + 20-byte reply at 2400 bit/s 8E1: 36*11/2400 s.
	want := []time.Duration{LineTime(2400, 16), 165 * time.Millisecond}
	if got := sl.got(); !slices.Equal(got, want) {
		t.Errorf("slept %v, want %v (dead meter: request only; live: request+reply)", got, want)
	}
	st := c.Stats()
	if st.Transactions.Load() != 2 || st.Unanswered.Load() != 1 || st.BytesIn.Load() != 32 || st.BytesOut.Load() != 20 || st.Connections.Load() != 1 {
		t.Errorf("stats: %d transactions, %d unanswered, %d in, %d out, %d connections",
			st.Transactions.Load(), st.Unanswered.Load(), st.BytesIn.Load(), st.BytesOut.Load(), st.Connections.Load())
	}
}

func TestTCPLatency(t *testing.T) {
	sl := &sleeps{}
	_, addr, _ := startTCP(t, &fakeBus{}, Options{Baud: 1200, Latency: 20 * time.Millisecond, Sleep: sl.sleep})
	conn := dial(t, addr)
	conn.Write(readReq(liveMeter))
	readReply(t, dlt645.NewReader(conn), liveMeter)
	if got, want := sl.got(), []time.Duration{330*time.Millisecond + 20*time.Millisecond}; !slices.Equal(got, want) {
		t.Errorf("slept %v, want %v", got, want)
	}
}

func TestTCPGarbage(t *testing.T) {
	bus := &fakeBus{}
	c, addr, _ := startTCP(t, bus, Options{Sleep: (&sleeps{}).sleep})
	conn := dial(t, addr)
	bad := readReq(liveMeter)
	bad[len(bad)-2]++ // checksum
	cut := readReq(deadMeter)[:11]
	var in []byte
	in = append(in, "\x00\x16\x68garbage\xfe\xfe"...)
	in = append(in, bad...)
	in = append(in, cut...)
	in = append(in, readReq(liveMeter)...)
	conn.Write(in)
	readReply(t, dlt645.NewReader(conn), liveMeter)
	if got := bus.order(); !slices.Equal(got, []dlt645.Address{liveMeter}) {
		t.Errorf("bus asked %v, want only the good request", got)
	}
	if n := c.Stats().BadFrames.Load(); n != 2 {
		t.Errorf("%d bad frames counted, want 2 (bad checksum, cut off)", n)
	}
}

func TestTCPSerialisesConnections(t *testing.T) {
	bus := &fakeBus{hold: make(chan struct{}), entered: make(chan struct{})}
	c, addr, _ := startTCP(t, bus, Options{Sleep: (&sleeps{}).sleep})
	a, b := dial(t, addr), dial(t, addr)

	a.Write(readReq(liveMeter))
	<-bus.entered // a's transaction is on the line
	b.Write(readReq(deadMeter))
	b.Write(readReq(liveMeter))
	waitFor(t, "b's request to queue", func() bool { return c.Stats().Queued.Load() == 2 })
	if got := bus.order(); len(got) != 1 {
		t.Fatalf("bus saw %v while the line was busy", got)
	}
	close(bus.hold)
	readReply(t, dlt645.NewReader(a), liveMeter)
	readReply(t, dlt645.NewReader(b), liveMeter)
	if bus.overlap.Load() {
		t.Error("the bus saw two exchanges at once")
	}
	if got := bus.order(); !slices.Equal(got, []dlt645.Address{liveMeter, deadMeter, liveMeter}) {
		t.Errorf("bus asked %v", got)
	}
}

func TestTCPPeerCloseAndCancel(t *testing.T) {
	_, addr, stop := startTCP(t, &fakeBus{}, Options{})
	a := dial(t, addr)
	a.Write(readReq(liveMeter)[:5]) // half a frame, then gone
	a.Close()
	b := dial(t, addr)
	b.Write(readReq(liveMeter))
	readReply(t, dlt645.NewReader(b), liveMeter)

	if err := stop(); err != nil {
		t.Fatalf("Serve = %v", err)
	}
	if _, err := b.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("connection after cancel: %v, want EOF", err)
	}
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Error("listener still open after Serve returned")
	}
}

func TestSleepCancelStopsTransaction(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	l := newLine(&fakeBus{}, Options{Baud: 2400})
	var out bytes.Buffer
	err := l.transact(ctx, readReq(liveMeter), &out)
	if !errors.Is(err, context.Canceled) || out.Len() != 0 {
		t.Errorf("transact on a cancelled ctx = %v, wrote %d bytes", err, out.Len())
	}
}
