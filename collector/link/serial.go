package link

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.bug.st/serial"
)

// SerialConfig configures an RS-485 line on a serial port (a USB adapter,
// an on-board UART).
type SerialConfig struct {
	Device   string // e.g. /dev/ttyUSB0, COM3
	Baud     int    // bit/s; 0 is 2400, the DL/T 645-2007 default
	DataBits int    // 5..8; 0 is 8
	Parity   string // "E" (even, the default), "N" (none), "O" (odd)
	StopBits int    // 1 or 2; 0 is 1

	// ReadSlice is how long one read of the port waits before Receive
	// looks at its context and the deadline again; 0 is 50 ms.
	ReadSlice time.Duration
	// Backoff is how long to wait after failed reopen attempt n (1, 2,
	// ...) before trying again; Send fails at once with ErrOffline until
	// then. nil is ExpBackoff(time.Second, time.Minute).
	Backoff func(attempt int) time.Duration
	// Open opens the port; nil is serial.Open. Tests swap the device.
	Open func(device string, mode *serial.Mode) (serial.Port, error)
	// Logger gets port events; nil discards them.
	Logger *slog.Logger
	// RetryOpen makes OpenSerial return a link even when the port cannot
	// be opened now (a USB adapter not plugged in yet): the link starts
	// down and each Send tries again, backing off. The collector sets it,
	// so that one missing device stops no other channel; a field tool
	// leaves it off and is told at once.
	RetryOpen bool
}

// Serial is a Link over a local serial port. After an I/O error (the USB
// adapter was unplugged, say) it closes the port and reopens it on the
// next Send, backing off while that fails.
type Serial struct {
	cfg  SerialConfig
	mode *serial.Mode
	log  *slog.Logger
	h    *health

	mu       sync.Mutex
	port     serial.Port
	st       *stream
	closed   bool
	attempts int       // failed opens since the port was last open
	retryAt  time.Time // no opening before this
	lastErr  error     // why the port is closed
}

var _ Link = (*Serial)(nil)

// OpenSerial opens the port cfg names.
func OpenSerial(cfg SerialConfig) (*Serial, error) {
	mode, err := cfg.mode()
	if err != nil {
		return nil, fmt.Errorf("link serial %s: %w", cfg.Device, err)
	}
	if cfg.ReadSlice <= 0 {
		cfg.ReadSlice = 50 * time.Millisecond
	}
	if cfg.Backoff == nil {
		cfg.Backoff = ExpBackoff(time.Second, time.Minute)
	}
	if cfg.Open == nil {
		cfg.Open = serial.Open
	}
	s := &Serial{cfg: cfg, mode: mode, h: newHealth()}
	s.log = discardLogger(cfg.Logger).With("link", "serial", "device", cfg.Device,
		"mode", fmt.Sprintf("%d %d%s%d", mode.BaudRate, mode.DataBits, cfg.Parity, cfg.StopBits))
	if err := s.open(); err != nil && !cfg.RetryOpen {
		return nil, s.errorf("open: %w", err)
	}
	return s, nil
}

// mode checks cfg and fills in the defaults.
func (cfg *SerialConfig) mode() (*serial.Mode, error) {
	if cfg.Device == "" {
		return nil, fmt.Errorf("no device")
	}
	if cfg.Baud == 0 {
		cfg.Baud = 2400
	}
	if cfg.DataBits == 0 {
		cfg.DataBits = 8
	}
	if cfg.StopBits == 0 {
		cfg.StopBits = 1
	}
	m := &serial.Mode{BaudRate: cfg.Baud, DataBits: cfg.DataBits}
	if cfg.Baud < 0 {
		return nil, fmt.Errorf("baud rate %d", cfg.Baud)
	}
	if cfg.DataBits < 5 || cfg.DataBits > 8 {
		return nil, fmt.Errorf("%d data bits", cfg.DataBits)
	}
	switch strings.ToUpper(cfg.Parity) {
	case "", "E", "EVEN":
		cfg.Parity, m.Parity = "E", serial.EvenParity
	case "N", "NONE":
		cfg.Parity, m.Parity = "N", serial.NoParity
	case "O", "ODD":
		cfg.Parity, m.Parity = "O", serial.OddParity
	default:
		return nil, fmt.Errorf("parity %q (want E, N or O)", cfg.Parity)
	}
	switch cfg.StopBits {
	case 1:
		m.StopBits = serial.OneStopBit
	case 2:
		m.StopBits = serial.TwoStopBits
	default:
		return nil, fmt.Errorf("%d stop bits", cfg.StopBits)
	}
	return m, nil
}

// open opens the port; the caller holds s.mu or owns s alone.
func (s *Serial) open() error {
	p, err := s.cfg.Open(s.cfg.Device, s.mode)
	if err != nil {
		s.attempts++
		wait := s.cfg.Backoff(s.attempts)
		s.retryAt = time.Now().Add(wait)
		s.lastErr = fmt.Errorf("open: %w", err)
		s.h.down(s.lastErr)
		s.log.Warn("open failed", "err", err, "attempt", s.attempts, "retry_in", wait)
		return err
	}
	s.attempts, s.retryAt, s.lastErr = 0, time.Time{}, nil
	s.port = p
	s.st = newStream(&portRW{port: p, slice: s.cfg.ReadSlice}, s.h, 0)
	s.h.up()
	s.log.Info("port open")
	return nil
}

// Send writes frame, reopening the port first if an error closed it.
func (s *Serial) Send(ctx context.Context, frame []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return s.errorf("send: %w", ErrClosed)
	}
	if s.st == nil {
		if wait := time.Until(s.retryAt); wait > 0 {
			err := s.lastErr
			s.mu.Unlock()
			return s.offline(fmt.Sprintf("send (next attempt in %s)", wait.Round(time.Millisecond)), err)
		}
		if err := s.open(); err != nil {
			err = s.lastErr
			s.mu.Unlock()
			return s.offline("send", err)
		}
	}
	st := s.st
	s.mu.Unlock()
	if err := st.send(ctx, frame); err != nil {
		if ctx.Err() != nil {
			// a serial write is not interrupted; the port is fine
			return s.errorf("send: %w", err)
		}
		return s.fail(st, "send", err)
	}
	return nil
}

// Receive returns the next frame, waiting until deadline at most.
func (s *Serial) Receive(ctx context.Context, deadline time.Time) ([]byte, error) {
	s.mu.Lock()
	st, closed, down := s.st, s.closed, s.lastErr
	s.mu.Unlock()
	switch {
	case closed:
		return nil, s.errorf("receive: %w", ErrClosed)
	case st == nil:
		return nil, s.offline("receive", down)
	}
	b, err := st.receive(ctx, deadline)
	if keepsLink(ctx, err) {
		return b, err
	}
	return nil, s.fail(st, "receive", err)
}

// Discard drops what was received and not yet read, in the link and in
// the driver's input buffer.
func (s *Serial) Discard() {
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	if st != nil {
		st.discard()
	}
}

// State reports the port's health; the link is online while the port is
// open.
func (s *Serial) State() State { return s.h.get() }

// Close closes the port; Send and Receive then fail with ErrClosed.
func (s *Serial) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.h.down(ErrClosed)
	if s.port == nil {
		return nil
	}
	err := s.port.Close()
	s.port, s.st = nil, nil
	if err != nil {
		return s.errorf("close: %w", err)
	}
	return nil
}

// fail closes the port after an I/O error on st, if st is still current.
func (s *Serial) fail(st *stream, op string, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.errorf("%s: %w", op, ErrClosed)
	}
	if s.st == st {
		s.port.Close()
		s.port, s.st = nil, nil
		s.lastErr = fmt.Errorf("%s: %w", op, err)
		s.h.down(s.lastErr)
		s.log.Warn("port closed after an I/O error", "err", err)
	}
	return s.offline(op, err)
}

func (s *Serial) offline(op string, cause error) error {
	if cause == nil {
		return s.errorf("%s: %w", op, ErrOffline)
	}
	return s.errorf("%s: %w: %w", op, ErrOffline, cause)
}

func (s *Serial) errorf(format string, args ...any) error {
	return fmt.Errorf("link serial %s: "+format, append([]any{s.cfg.Device}, args...)...)
}

// portRW gives a serial port the read deadline of a net.Conn: a Read waits
// in slices of the port's read timeout until bytes come or the deadline,
// which another goroutine may move, passes.
type portRW struct {
	port     serial.Port
	slice    time.Duration
	deadline atomic.Int64 // UnixNano; 0 is none
}

func (p *portRW) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		p.deadline.Store(0)
	} else {
		p.deadline.Store(t.UnixNano())
	}
	return nil
}

func (p *portRW) Read(b []byte) (int, error) {
	for {
		wait := p.slice
		if d := p.deadline.Load(); d != 0 {
			left := time.Until(time.Unix(0, d))
			if left <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			wait = min(wait, left)
		}
		if err := p.port.SetReadTimeout(wait); err != nil {
			return 0, err
		}
		n, err := p.port.Read(b)
		if n > 0 || err != nil {
			return n, err
		}
	}
}

func (p *portRW) Write(b []byte) (int, error) { return p.port.Write(b) }

func (p *portRW) ResetInputBuffer() error { return p.port.ResetInputBuffer() }
