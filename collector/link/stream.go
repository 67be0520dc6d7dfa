package link

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/headend/headend/protocol/dlt645"
)

// ExpBackoff returns a back-off that doubles from base up to max, each
// wait drawn uniformly from its upper half (jitter), so that links cut off
// together do not all retry at once. attempt counts from 1.
func ExpBackoff(base, max time.Duration) func(attempt int) time.Duration {
	return func(attempt int) time.Duration {
		d := base
		for i := 1; i < attempt && d < max; i++ {
			d *= 2
		}
		d = min(d, max)
		if d <= 0 {
			return 0
		}
		return d/2 + rand.N(d/2+1)
	}
}

// health is a link's State behind a lock.
type health struct {
	mu      sync.Mutex
	s       State
	changed chan struct{} // closed (and replaced) when Online changes
}

func newHealth() *health {
	return &health{s: State{Since: time.Now(), Err: "not connected yet"}, changed: make(chan struct{})}
}

// watch returns the state and a channel closed when Online next changes.
func (h *health) watch() (State, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.s, h.changed
}

// flipLocked changes Online.
func (h *health) flipLocked(online bool) {
	h.s.Online = online
	h.s.Since = time.Now()
	close(h.changed)
	h.changed = make(chan struct{})
}

func (h *health) get() State {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.s
}

// up marks the link online; Since moves only if it was offline.
func (h *health) up() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.s.Online {
		h.flipLocked(true)
	}
	h.s.Err = ""
}

// down marks the link offline because of err.
func (h *health) down(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.s.Online {
		h.flipLocked(false)
	}
	if err != nil {
		h.s.Err = err.Error()
	}
}

// seen records that bytes arrived from the bus.
func (h *health) seen() {
	now := time.Now()
	h.mu.Lock()
	h.s.LastSeen = now
	h.mu.Unlock()
}

// seenReader stamps LastSeen whenever bytes arrive.
type seenReader struct {
	r io.Reader
	h *health
}

func (s seenReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.h.seen()
	}
	return n, err
}

// deadlineRW is a byte stream with a read deadline: a net.Conn, or a
// serial port behind portRW.
type deadlineRW interface {
	io.ReadWriter
	SetReadDeadline(t time.Time) error
}

// stream carries frames over one deadlineRW, keeping a dlt645.Reader (and
// so a partly received frame) across Receives. It is the body of the TCP
// and serial links; they own the reconnecting around it.
type stream struct {
	rw           deadlineRW
	rd           *dlt645.Reader
	writeTimeout time.Duration
}

func newStream(rw deadlineRW, h *health, writeTimeout time.Duration) *stream {
	return &stream{rw: rw, rd: dlt645.NewReader(seenReader{rw, h}), writeTimeout: writeTimeout}
}

// send writes frame, bounded by ctx and the write timeout when the stream
// has a write deadline.
func (s *stream) send(ctx context.Context, frame []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	wd, ok := s.rw.(interface{ SetWriteDeadline(time.Time) error })
	if ok {
		d := time.Now().Add(s.writeTimeout)
		if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
			d = cd
		}
		wd.SetWriteDeadline(d)
		defer onDone(ctx, func() { wd.SetWriteDeadline(time.Now()) })()
	}
	n, err := s.rw.Write(frame)
	if err != nil && ctx.Err() != nil {
		if n == 0 {
			return ctx.Err() // nothing went out: the stream is intact
		}
		return fmt.Errorf("%w after %d of %d bytes", ctx.Err(), n, len(frame))
	}
	return err
}

// receive reads the next frame until deadline. It returns ErrTimeout when
// the deadline passes, ctx's error when ctx ends first, a *FrameError for
// a malformed frame, and any other error as an I/O failure.
func (s *stream) receive(ctx context.Context, deadline time.Time) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.rw.SetReadDeadline(deadline); err != nil {
		return nil, err
	}
	defer onDone(ctx, func() { s.rw.SetReadDeadline(time.Now()) })()
	_, err := s.rd.ReadFrame()
	switch {
	case err == nil:
		return s.rd.Raw(), nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, ErrTimeout
	}
	return nil, err
}

// discard drops buffered bytes, and what already waits in the socket or
// the serial driver.
func (s *stream) discard() {
	s.rd.Discard()
	switch rw := s.rw.(type) {
	case interface{ ResetInputBuffer() error }:
		rw.ResetInputBuffer()
	default:
		drainConn(s.rw)
	}
}

// onDone calls f if ctx ends before the returned stop is called; stop
// waits for a call of f already under way, so f never runs after stop
// has returned.
func onDone(ctx context.Context, f func()) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	done := make(chan struct{})
	unregister := context.AfterFunc(ctx, func() {
		defer close(done)
		f()
	})
	return func() {
		if !unregister() {
			<-done
		}
	}
}

// item is one frame (or malformed frame) waiting for Receive.
type item struct {
	frame []byte
	err   error
}

// frameQueue holds the frames a background reader (a dial-in connection,
// an MQTT subscription) received for Receive to take. When it is full the
// oldest frame goes: it is the stalest reply.
type frameQueue struct {
	ch chan item
}

func newFrameQueue(n int) *frameQueue {
	if n <= 0 {
		n = 16
	}
	return &frameQueue{ch: make(chan item, n)}
}

// push queues it without blocking; it reports whether an older item was
// dropped to make room.
func (q *frameQueue) push(it item) (dropped bool) {
	for {
		select {
		case q.ch <- it:
			return dropped
		default:
		}
		select {
		case <-q.ch:
			dropped = true
		default:
		}
	}
}

// drain drops every queued item.
func (q *frameQueue) drain() {
	for {
		select {
		case <-q.ch:
		default:
			return
		}
	}
}

// pop takes a queued item without waiting.
func (q *frameQueue) pop() (item, bool) {
	select {
	case it := <-q.ch:
		return it, true
	default:
		return item{}, false
	}
}

// discardLogger returns l, or a logger that drops everything.
func discardLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// timer returns a channel that fires at deadline and its stop function.
func timer(deadline time.Time) (<-chan time.Time, func() bool) {
	t := time.NewTimer(time.Until(deadline))
	return t.C, t.Stop
}
