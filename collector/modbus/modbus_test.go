package modbus

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/internal/testenv"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/field"
)

var readings = field.ThreePhaseReadings{
	Voltage: [3]float64{230.1, 229.9, 231}, Current: [3]float64{1.25, 0, 2.5},
	TotalPower: 1234.5, PowerFactor: 0.98, Frequency: 50.01, ImportKWh: 12345.67, ExportKWh: 8.5,
}

// listen returns a loopback listener closed at the end of the test.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// serve runs serve on a new loopback listener until the test ends, and
// returns the address.
func serve(t *testing.T, serve func(context.Context, net.Listener) error) string {
	t.Helper()
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

func open(t *testing.T, c Config) *Protocol {
	t.Helper()
	p, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// waitFor polls cond until it holds, for real I/O the test is not told
// of; it fails the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 10 s", what)
		}
	}
}

// readAll reads every DI of the map from unit 3 and checks the values;
// gateway, an MBAP gateway's exception for a unit it does not have.
func readAll(t *testing.T, p *Protocol, gateway bool) {
	t.Helper()
	ctx := context.Background()
	target := poll.Target{Address: "000004000003", Unit: 3}
	want := map[string]string{
		"forward active energy total": "12345.67", "reverse active energy total": "8.50",
		"phase A voltage": "230.1", "phase C voltage": "231.0", "phase A current": "1.250",
		"active power total": "1.2345", "power factor total": "0.980", "grid frequency": "50.01",
	}
	got := map[string]string{}
	for _, di := range []uint32{0x00010000, 0x00020000, 0x0201FF00, 0x0202FF00, 0x02030000, 0x02060000, 0x02800002} {
		rs, err := p.Do(ctx, target, poll.Request{DI: dlt645.DI(di)}, meter.Read{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			got[r.Quantity] = r.Value.String()
		}
	}
	for q, v := range want {
		if got[q] != v {
			t.Errorf("%s = %s, want %s", q, got[q], v)
		}
	}
	// a DI the map lacks is "no data"; an unknown unit is an error to retry
	rs, err := p.Do(ctx, target, poll.Request{DI: 0x05060101}, meter.Read{})
	if err != nil || rs[0].Status != meter.NoData {
		t.Fatalf("daily freeze over Modbus: %+v %v", rs, err)
	}
	if gateway {
		_, err := p.Do(ctx, poll.Target{Address: "000004000009", Unit: 9}, poll.Request{DI: 0x00010000}, meter.Read{})
		if err == nil || !strings.Contains(err.Error(), "meter 000004000009 (unit 9)") || !strings.Contains(err.Error(), "gateway target") {
			t.Fatalf("unknown unit: %v", err)
		}
	}
	if !p.State().Online {
		t.Errorf("state %+v, want online", p.State())
	}
}

func sdm630Server() *field.ModbusServer {
	srv := field.NewModbusServer()
	srv.SetUnit(3, field.NewSDM630(readings))
	return srv
}

// An SDM630 read through each transport: the simulator's Modbus TCP
// gateway, its serial server (RTU over TCP), and its RS-485 line on a
// pseudo-terminal (RTU).
func TestReadsSDM630(t *testing.T) {
	t.Run("tcp", func(t *testing.T) {
		addr := serve(t, sdm630Server().ServeTCP)
		readAll(t, open(t, Config{Channel: "C1", Transport: TCP, Address: addr, Timeout: 5 * time.Second}), true)
	})
	t.Run("rtu-over-tcp", func(t *testing.T) {
		addr := serve(t, sdm630Server().ServeRTUOverTCP)
		readAll(t, open(t, Config{Channel: "C1", Transport: RTUOverTCP, Address: addr, Timeout: 5 * time.Second}), false)
	})
	t.Run("rtu", func(t *testing.T) {
		ptmx, tty, err := pty.Open()
		if err != nil {
			testenv.Skip(t, "no pseudo-terminal: %v", err)
		}
		defer ptmx.Close()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- sdm630Server().ServeRTU(ctx, ptmx) }()
		p := open(t, Config{Channel: "C1", Transport: RTU, Device: tty.Name(), Baud: 9600, Timeout: 5 * time.Second})
		readAll(t, p, false)
		if err := p.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		cancel()
		tty.Close() // ends the server's read (a pty master is not pollable)
		if err := <-done; err != nil {
			t.Errorf("ServeRTU: %v", err)
		}
	})
}

// A wrong CRC, then garbage on the line: each is an error naming the
// channel and the meter, counted as a bad answer, and the next
// transaction reads the meter.
func TestBadAnswers(t *testing.T) {
	srv := sdm630Server()
	var mangle atomic.Value // func([]byte) []byte, used once
	srv.Mangle = func(_ byte, frame []byte) []byte {
		if f, _ := mangle.Swap(func(b []byte) []byte { return b }).(func([]byte) []byte); f != nil {
			return f(frame)
		}
		return frame
	}
	addr := serve(t, srv.ServeRTUOverTCP)
	p := open(t, Config{Channel: "C0104-2", Transport: RTUOverTCP, Address: addr, Timeout: 5 * time.Second})
	target := poll.Target{Address: "000004000003", Unit: 3}
	read := func() error {
		rs, err := p.Do(context.Background(), target, poll.Request{DI: 0x00010000}, meter.Read{})
		if err == nil && rs[0].Value.String() != "12345.67" {
			t.Errorf("import %s, want 12345.67", rs[0].Value)
		}
		return err
	}
	if err := read(); err != nil {
		t.Fatal(err)
	}
	for i, c := range []struct {
		what   string
		mangle func([]byte) []byte
	}{
		{"wrong CRC", func(b []byte) []byte { b[len(b)-1] ^= 0xFF; return b }},
		{"garbage", func(b []byte) []byte { return []byte{0x03, 0x04, 0x04, 0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x00, 0x13, 0x37} }},
		{"another unit", func(b []byte) []byte { b[0] = 7; return b }},
	} {
		mangle.Store(c.mangle)
		err := read()
		if err == nil || !errors.Is(err, ErrBadAnswer) {
			t.Fatalf("%s: %v, want a bad answer", c.what, err)
		}
		for _, s := range []string{"channel C0104-2", "meter 000004000003", "unit 3"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q does not name %s", c.what, err, s)
			}
		}
		if n := p.BadAnswers(); n != int64(i+1) {
			t.Errorf("%s: %d bad answers counted, want %d", c.what, n, i+1)
		}
		if err := read(); err != nil {
			t.Fatalf("the transaction after the %s: %v", c.what, err)
		}
	}
	if !p.State().Online {
		t.Errorf("state %+v: a line that answers, if badly, is up", p.State())
	}
}

// mute accepts connections and reads what they send, never answering;
// every read is sent on got.
func mute(t *testing.T) (addr string, got chan []byte) {
	t.Helper()
	ln := listen(t)
	got = make(chan []byte, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := make([]byte, 256)
				for {
					n, err := c.Read(b)
					if err != nil {
						return
					}
					got <- append([]byte(nil), b[:n]...)
				}
			}()
		}
	}()
	return ln.Addr().String(), got
}

// The end of a transaction's context ends it, though the meter never
// answers and the timeout is an hour away: a poll cancelled (shutdown)
// or a channel closed by a reload does not wait out the timeout.
func TestContextCutsTheTransactionShort(t *testing.T) {
	for _, tr := range []Transport{TCP, RTUOverTCP} {
		t.Run(string(tr), func(t *testing.T) {
			addr, got := mute(t)
			p := open(t, Config{Channel: "C1", Transport: tr, Address: addr, Timeout: time.Hour})
			ctx, cancel := context.WithCancel(context.Background())
			errc := make(chan error, 1)
			go func() {
				_, err := p.Do(ctx, poll.Target{Address: "000004000003", Unit: 3}, poll.Request{DI: 0x00010000}, meter.Read{})
				errc <- err
			}()
			<-got // the request is on the wire
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled transaction: %v, want context.Canceled", err)
			}
			if !p.State().Since.IsZero() && !p.State().Online {
				t.Errorf("a cancelled transaction marked the line down: %+v", p.State())
			}
		})
	}
}

// A meter that does not answer is a timeout, not a line down: the
// connection to the serial server is up.
func TestSilentMeterLeavesTheLineUp(t *testing.T) {
	addr, got := mute(t)
	p := open(t, Config{Channel: "C1", Transport: RTUOverTCP, Address: addr, Timeout: 50 * time.Millisecond})
	_, err := p.Do(context.Background(), poll.Target{Address: "000004000003", Unit: 3}, poll.Request{DI: 0x00010000}, meter.Read{})
	if err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("silent meter: %v, want a timeout", err)
	}
	<-got
	if st := p.State(); st.LastErr != "" || p.BadAnswers() != 0 {
		t.Errorf("state %+v, %d bad answers: a silent meter is neither a line down nor a bad answer", st, p.BadAnswers())
	}
}

// Close releases the connection, ends a transaction in flight, and
// nothing dials again after it.
func TestCloseReleasesTheConnection(t *testing.T) {
	srv := sdm630Server()
	addr := serve(t, srv.ServeRTUOverTCP)
	p, err := New(Config{Channel: "C1", Transport: RTUOverTCP, Address: addr, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	target := poll.Target{Address: "000004000003", Unit: 3}
	if _, err := p.Do(context.Background(), target, poll.Request{DI: 0x00010000}, meter.Read{}); err != nil {
		t.Fatal(err)
	}
	if n := srv.Connections(); n != 1 {
		t.Fatalf("%d connections open, want 1", n)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the serial server sees the connection closed", func() bool { return srv.Connections() == 0 })
	if _, err := p.Do(context.Background(), target, poll.Request{DI: 0x00010000}, meter.Read{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after Close: %v, want ErrClosed", err)
	}
	if n := srv.Connections(); n != 0 {
		t.Errorf("%d connections after a read on the closed channel", n)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// a transaction waiting on a silent line ends when Close is called
	addr, got := mute(t)
	p, err = New(Config{Channel: "C1", Transport: TCP, Address: addr, Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := p.Do(context.Background(), target, poll.Request{DI: 0x00010000}, meter.Read{})
		errc <- err
	}()
	<-got
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err == nil {
		t.Fatal("the transaction in flight answered after Close")
	}
}

// The far end stopped and started again at the same address: the reads
// fail while it is away (the line shown down), and come back by
// themselves.
func TestReconnectsAfterTheServerRestarts(t *testing.T) {
	srv := field.NewModbusServer()
	srv.SetUnit(1, field.NewSDM630(field.ThreePhaseReadings{ImportKWh: 42}))
	up := func(addr string) (context.CancelFunc, chan struct{}) {
		t.Helper()
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { srv.ServeTCP(ctx, ln); close(done) }()
		return func() { cancel(); ln.Close() }, done
	}
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port to come back on
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stop, done := up(addr)
	p := open(t, Config{Channel: "C1", Transport: TCP, Address: addr, Timeout: time.Second})
	target := poll.Target{Unit: 1}
	read1 := func() error {
		_, err := p.Do(ctx, target, poll.Request{DI: 0x00010000}, meter.Read{})
		return err
	}
	if err := read1(); err != nil || !p.State().Online {
		t.Fatalf("first read: %v, state %+v", err, p.State())
	}
	stop()
	<-done
	for i := 0; i < 3; i++ {
		if err := read1(); err == nil {
			t.Fatalf("read %d with the server stopped succeeded", i)
		}
	}
	if st := p.State(); st.Online || st.LastErr == "" {
		t.Fatalf("state with the server stopped: %+v", st)
	}
	stop, done = up(addr)
	defer func() { stop(); <-done }()
	if err := read1(); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	if !p.State().Online {
		t.Fatalf("state after the restart: %+v", p.State())
	}
}

// New refuses a transport it does not know and one without its address
// or device, naming the channel.
func TestNewRefuses(t *testing.T) {
	for _, c := range []Config{
		{Channel: "C9", Transport: "rtu-over-udp", Address: "127.0.0.1:1"},
		{Channel: "C9", Transport: RTUOverTCP},
		{Channel: "C9", Transport: RTU},
	} {
		if _, err := New(c); err == nil || !strings.Contains(err.Error(), "C9") {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// A float32 energy keeps the decimals it really has: 2 at 100 kWh, 1 at
// 200,000 kWh (its step there is 0.015625 kWh), none at 20,000,000.
func TestFloatEnergyResolution(t *testing.T) {
	for _, c := range []struct {
		v    float32
		want uint8
	}{{100.25, 2}, {131071.5, 2}, {200000.5, 1}, {20000000, 0}, {0, 2}} {
		if got := resolution(c.v, 1, 2); got != c.want {
			t.Errorf("%v kWh: %d decimals, want %d", c.v, got, c.want)
		}
	}
	if got := resolution(0.5, 0.001, 4); got != 4 { // W to kW
		t.Errorf("power: %d decimals", got)
	}
}

var _ io.Closer = (*Protocol)(nil)
