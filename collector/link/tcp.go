package link

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/headend/headend/protocol/dlt645"
)

// TCPConfig configures a link to a concentrator port or serial server that
// the head-end dials.
type TCPConfig struct {
	Addr string // host:port

	// DialTimeout bounds one connection attempt; 0 is 10 s.
	DialTimeout time.Duration
	// WriteTimeout bounds writing one request; 0 is 10 s.
	WriteTimeout time.Duration
	// Backoff is how long to wait after failed attempt n (1, 2, ...)
	// before dialling again; Send fails at once with ErrOffline until
	// then. nil is ExpBackoff(time.Second, 2*time.Minute).
	Backoff func(attempt int) time.Duration
	// Dial connects; nil uses a net.Dialer over TCP.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// Logger gets connection events; nil discards them.
	Logger *slog.Logger
}

// TCP is a Link to a concentrator or serial server over a TCP connection
// the head-end opens. It connects on the first Send, and again on the Send
// after the connection dropped, backing off after failed attempts.
type TCP struct {
	cfg TCPConfig
	log *slog.Logger
	h   *health

	life   context.Context // ends at Close
	cancel context.CancelFunc

	mu       sync.Mutex
	conn     net.Conn
	st       *stream
	closed   bool
	attempts int       // failed dials since the last connection
	retryAt  time.Time // no dialling before this
	lastErr  error     // why the link is down
}

var _ Link = (*TCP)(nil)

// DialTCP returns a link to cfg.Addr. It does not connect yet.
func DialTCP(cfg TCPConfig) *TCP {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.Backoff == nil {
		cfg.Backoff = ExpBackoff(time.Second, 2*time.Minute)
	}
	if cfg.Dial == nil {
		cfg.Dial = func(ctx context.Context, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		}
	}
	t := &TCP{cfg: cfg, log: discardLogger(cfg.Logger).With("link", "tcp", "addr", cfg.Addr), h: newHealth()}
	t.life, t.cancel = context.WithCancel(context.Background())
	return t
}

// Send writes frame, connecting first if the link is down. A connection
// the peer closed while idle is replaced before the write.
func (t *TCP) Send(ctx context.Context, frame []byte) error {
	st, err := t.connected(ctx)
	if err != nil {
		return err
	}
	if err := st.send(ctx, frame); err != nil {
		if ctx.Err() != nil && err == ctx.Err() {
			return t.errorf("send: %w", err) // nothing went out
		}
		return t.fail(st, "send", err)
	}
	return nil
}

// Receive returns the next frame, waiting until deadline at most.
func (t *TCP) Receive(ctx context.Context, deadline time.Time) ([]byte, error) {
	t.mu.Lock()
	st, closed, down := t.st, t.closed, t.lastErr
	t.mu.Unlock()
	switch {
	case closed:
		return nil, t.errorf("receive: %w", ErrClosed)
	case st == nil:
		return nil, t.offline("receive", down)
	}
	b, err := st.receive(ctx, deadline)
	if keepsLink(ctx, err) {
		return b, err
	}
	return nil, t.fail(st, "receive", err)
}

// Discard drops what was received and not yet read.
func (t *TCP) Discard() {
	t.mu.Lock()
	st := t.st
	t.mu.Unlock()
	if st != nil {
		st.discard()
	}
}

// State reports the connection's health.
func (t *TCP) State() State { return t.h.get() }

// Close closes the connection; Send and Receive then fail with ErrClosed.
func (t *TCP) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	t.cancel()
	t.h.down(ErrClosed)
	if t.conn != nil {
		t.conn.Close()
		t.conn, t.st = nil, nil
	}
	return nil
}

// connected returns the stream of a live connection, dialling if need be.
func (t *TCP) connected(ctx context.Context) (*stream, error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, t.errorf("send: %w", ErrClosed)
	}
	if t.conn != nil && peerGone(t.conn) {
		t.dropLocked(t.st, errors.New("connection closed by the peer"))
	}
	if t.st != nil {
		st := t.st
		t.mu.Unlock()
		return st, nil
	}
	if wait := time.Until(t.retryAt); wait > 0 {
		err := t.lastErr
		t.mu.Unlock()
		return nil, t.offline(fmt.Sprintf("send (next attempt in %s)", wait.Round(time.Millisecond)), err)
	}
	t.mu.Unlock()

	// Dial without the lock, so that Close and State are not held up; one
	// goroutine uses Send at a time, so nobody else dials meanwhile.
	dctx, stop := context.WithTimeout(ctx, t.cfg.DialTimeout)
	defer stop()
	defer context.AfterFunc(t.life, stop)()
	conn, err := t.cfg.Dial(dctx, t.cfg.Addr)

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		if conn != nil {
			conn.Close()
		}
		return nil, t.errorf("send: %w", ErrClosed)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, t.errorf("dial: %w", ctx.Err())
		}
		t.attempts++
		wait := t.cfg.Backoff(t.attempts)
		t.retryAt = time.Now().Add(wait)
		t.lastErr = fmt.Errorf("dial: %w", err)
		t.h.down(t.lastErr)
		t.log.Warn("connect failed", "err", err, "attempt", t.attempts, "retry_in", wait)
		return nil, t.offline("send", t.lastErr)
	}
	t.attempts, t.retryAt, t.lastErr = 0, time.Time{}, nil
	t.conn = conn
	t.st = newStream(conn, t.h, t.cfg.WriteTimeout)
	t.h.up()
	t.log.Info("connected", "local", conn.LocalAddr().String())
	return t.st, nil
}

// fail drops the connection st belongs to after an I/O error.
func (t *TCP) fail(st *stream, op string, err error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return t.errorf("%s: %w", op, ErrClosed)
	}
	t.dropLocked(st, err)
	return t.offline(op, err)
}

// dropLocked closes st's connection if it is still the current one.
func (t *TCP) dropLocked(st *stream, err error) {
	if st == nil || t.st != st {
		return
	}
	t.conn.Close()
	t.conn, t.st = nil, nil
	t.lastErr = err
	t.h.down(err)
	t.log.Warn("disconnected", "err", err)
}

func (t *TCP) offline(op string, cause error) error {
	if cause == nil {
		return t.errorf("%s: %w", op, ErrOffline)
	}
	return t.errorf("%s: %w: %w", op, ErrOffline, cause)
}

func (t *TCP) errorf(format string, args ...any) error {
	return fmt.Errorf("link tcp %s: "+format, append([]any{t.cfg.Addr}, args...)...)
}

// isFrameError reports a malformed frame, which the caller counts and
// reads past; the connection stays.
func isFrameError(err error) bool {
	var fe *dlt645.FrameError
	return errors.As(err, &fe)
}

// keepsLink reports whether a receive error leaves the connection as it
// is: a frame, a malformed frame, a deadline, the caller giving up.
func keepsLink(ctx context.Context, err error) bool {
	return err == nil || err == ErrTimeout || isFrameError(err) || (ctx.Err() != nil && err == ctx.Err())
}
