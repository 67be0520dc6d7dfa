package field

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"go.bug.st/serial"

	"github.com/headend/headend/protocol/dlt645"
)

// openPort opens the line's slave device as the head-end would open a USB
// RS-485 adapter.
func openPort(t *testing.T, path string) serial.Port {
	t.Helper()
	p, err := serial.Open(path, &serial.Mode{BaudRate: 2400, DataBits: 8, Parity: serial.EvenParity, StopBits: serial.OneStopBit})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.SetReadTimeout(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	return p
}

// timeoutReader turns the port's (0, nil) read timeout into an error.
type timeoutReader struct{ p serial.Port }

func (r timeoutReader) Read(b []byte) (int, error) {
	n, err := r.p.Read(b)
	if n == 0 && err == nil {
		return 0, errors.New("serial read timed out")
	}
	return n, err
}

func openLine(t *testing.T, bus Bus, opts Options) *SerialLine {
	t.Helper()
	l, err := OpenSerialLine(t.Context(), bus, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestSerialRead(t *testing.T) {
	bus := &fakeBus{}
	sl := &sleeps{}
	l := openLine(t, bus, Options{Baud: 2400, Sleep: sl.sleep})
	port := openPort(t, l.Path())
	r := dlt645.NewReader(timeoutReader{port})

	req, err := dlt645.DLT2007.ReadRequest(liveMeter, readDI)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := req.AppendBinary(bytes.Clone(dlt645.Preamble))
	if _, err := port.Write(b); err != nil {
		t.Fatal(err)
	}
	readReply(t, r, liveMeter)
	// The head-end closes and reopens the port: the line stays up.
	port.Close()
	port = openPort(t, l.Path())
	port.Write(readReq(liveMeter))
	readReply(t, dlt645.NewReader(timeoutReader{port}), liveMeter)

	if got := bus.order(); len(got) != 2 {
		t.Errorf("bus asked %v, want 2 reads (an echo would add more)", got)
	}
	if got := sl.got(); len(got) != 2 || got[0] != 165*time.Millisecond {
		t.Errorf("slept %v, want 165ms a read", got)
	}
}

// TestSerialTransparent sends and receives frames whose wire bytes include
// LF, CR, XON, XOFF, SYN and the signal characters: a cooked tty would
// translate, echo or swallow them. It runs once through go.bug.st/serial
// and once through a plain open, which leaves the line's own termios as
// they are.
func TestSerialTransparent(t *testing.T) {
	special := []byte{0x0A, 0x0D, 0x11, 0x13, 0x16, 0x0D, 0x0A, 0x03, 0x04, 0x1A, 0x7F}
	data := make([]byte, len(special))
	for i, c := range special {
		data[i] = c - dlt645.DataOffset
	}
	req := wire(dlt645.Frame{Address: liveMeter, Control: 0x11, Data: data}, nil)
	reply := wire(dlt645.Frame{Address: liveMeter, Control: 0x91, Data: data}, nil)
	for name, open := range map[string]func(t *testing.T, path string) io.ReadWriter{
		"serial": func(t *testing.T, path string) io.ReadWriter {
			p := openPort(t, path)
			return struct {
				io.Reader
				io.Writer
			}{timeoutReader{p}, p}
		},
		"plain": func(t *testing.T, path string) io.ReadWriter {
			f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			f.SetDeadline(time.Now().Add(5 * time.Second))
			return f
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := make(chan []byte, 2)
			l := openLine(t, BusFunc(func(_ context.Context, b []byte) []byte {
				got <- bytes.Clone(b)
				return reply
			}), Options{})
			port := open(t, l.Path())
			port.Write(req)
			r := dlt645.NewReader(port)
			if _, err := r.ReadFrame(); err != nil || !bytes.Equal(r.Raw(), reply) {
				t.Fatalf("reply % X, %v; want % X", r.Raw(), err, reply)
			}
			if b := <-got; !bytes.Equal(b, req) {
				t.Errorf("bus got % X, want % X", b, req)
			}
			if r.Skipped() != 0 {
				t.Errorf("%d stray bytes before the reply", r.Skipped())
			}
			l.Close()
			if n := len(got); n != 0 {
				t.Errorf("bus got %d more requests (echo?)", n)
			}
		})
	}
}

// TestSerialClose checks that Close stops a loop blocked reading the pty.
func TestSerialClose(t *testing.T) {
	l, err := OpenSerialLine(t.Context(), &fakeBus{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := l.Path()
	port := openPort(t, path)
	port.Write(readReq(liveMeter))
	readReply(t, dlt645.NewReader(timeoutReader{port}), liveMeter) // the loop is now blocked reading
	if err := l.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("%s still exists after Close", path)
	}
}

func TestSerialContextStops(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	l, err := OpenSerialLine(ctx, &fakeBus{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-l.done
	if err := l.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	var _ io.Closer = l
}
