package link

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/dtu"
)

// DialInConfig configures a Listener for concentrators that dial in.
type DialInConfig struct {
	// Known reports whether a concentrator id is in the archive; a
	// connection registering with another id is refused. nil accepts
	// every id. It is called from the connections' goroutines, so it
	// must be safe for concurrent use.
	Known func(id string) bool
	// Registry, if set, gives the configured registration and heartbeat
	// packets of the DTUs (see dtu.ConfigPackets); it is called once per
	// new connection, so a reloaded archive takes effect for the next
	// one. nil knows the default "REG <id>" and "HB <id>" packets only.
	Registry func() *dtu.Registry
	// RegisterTimeout is how long a new connection has to send its
	// registration packet; 0 is 30 s.
	RegisterTimeout time.Duration
	// Heartbeat is the interval the concentrators send heartbeats at;
	// 0 is 60 s.
	Heartbeat time.Duration
	// Silence is how long a connection may carry nothing before the
	// concentrator counts as offline and the connection is closed; 0 is
	// three heartbeat intervals.
	Silence time.Duration
	// WriteTimeout bounds writing one request; 0 is 10 s.
	WriteTimeout time.Duration
	// Queue is how many received frames a concentrator's link holds for
	// Receive; the oldest goes when it is full. 0 is 16.
	Queue int
	// OnEvent, if set, is told of every registration, heartbeat, refusal
	// and disconnection, in order per connection. It runs on the
	// connection's goroutine and must not block.
	OnEvent func(DialInEvent)
	// Logger gets connection events; nil discards them.
	Logger *slog.Logger
}

// DialInEventKind says what happened to a dial-in connection.
type DialInEventKind uint8

// The events of a dial-in connection.
const (
	EventRegistered   DialInEventKind = iota + 1 // a known concentrator registered; it is online
	EventHeartbeat                               // a heartbeat arrived
	EventRefused                                 // the id is not known; the connection was closed
	EventDropped                                 // no valid registration first; the connection was closed
	EventReplaced                                // the concentrator connected again; this older connection was closed
	EventDisconnected                            // the connection ended (closed, failed, silent); the concentrator is offline
)

func (k DialInEventKind) String() string {
	switch k {
	case EventRegistered:
		return "registered"
	case EventHeartbeat:
		return "heartbeat"
	case EventRefused:
		return "refused"
	case EventDropped:
		return "dropped"
	case EventReplaced:
		return "replaced"
	case EventDisconnected:
		return "disconnected"
	}
	return fmt.Sprintf("DialInEventKind(%d)", uint8(k))
}

// DialInEvent is one event of a dial-in connection.
type DialInEvent struct {
	Kind   DialInEventKind
	ID     string // concentrator id; "" when none was read
	Remote string // remote address of the connection
	Err    error  // why, for Refused, Dropped and Disconnected
}

// Listener accepts the connections of concentrators that dial in: each
// must register first with a known id; it then stays online while it
// sends heartbeats, and a new connection with the same id replaces the
// old one. Link gives the collector one stable Link per concentrator.
type Listener struct {
	ln  net.Listener
	cfg DialInConfig
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	links   map[string]*dialLink
	pending map[net.Conn]struct{} // connections not registered yet

	dropped atomic.Int64 // connections closed for a missing or wrong registration
	refused atomic.Int64 // connections of DTUs not in the archive
}

// Dropped returns how many connections were closed because they did not
// open with a registration packet the Listener knows.
func (l *Listener) Dropped() int64 { return l.dropped.Load() }

// Refused returns how many connections registered with an id not in the
// archive.
func (l *Listener) Refused() int64 { return l.refused.Load() }

// Listen accepts dial-in concentrators on ln until ctx is done or Close,
// which close ln.
func Listen(ctx context.Context, ln net.Listener, cfg DialInConfig) *Listener {
	if cfg.RegisterTimeout <= 0 {
		cfg.RegisterTimeout = 30 * time.Second
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 60 * time.Second
	}
	if cfg.Silence <= 0 {
		cfg.Silence = 3 * cfg.Heartbeat
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.OnEvent == nil {
		cfg.OnEvent = func(DialInEvent) {}
	}
	l := &Listener{
		ln:      ln,
		cfg:     cfg,
		log:     discardLogger(cfg.Logger).With("link", "dialin", "listen", ln.Addr().String()),
		links:   make(map[string]*dialLink),
		pending: make(map[net.Conn]struct{}),
	}
	l.ctx, l.cancel = context.WithCancel(ctx)
	context.AfterFunc(l.ctx, func() {
		l.ln.Close()
		l.Close()
	})
	l.wg.Go(l.accept)
	return l
}

// Addr returns the address the listener accepts on.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Link returns the link to concentrator id. It is the same Link for as
// long as the Listener runs (until the link's Close), whether or not the
// concentrator is connected and however often it reconnects: Send and
// Receive fail with ErrOffline while it is not connected.
func (l *Listener) Link(id string) Link {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		d := newDialLink(l, id)
		d.closeLocked()
		return d
	}
	return l.linkLocked(id)
}

func (l *Listener) linkLocked(id string) *dialLink {
	d := l.links[id]
	if d == nil {
		d = newDialLink(l, id)
		l.links[id] = d
	}
	return d
}

// Connected reports whether concentrator id has a registered connection
// to this listener now.
func (l *Listener) Connected(id string) bool {
	l.mu.Lock()
	d := l.links[id]
	l.mu.Unlock()
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sess != nil
}

// HangUp closes concentrator id's connection, if it has one, for why
// (its link goes offline with why and an EventDisconnected); the link
// stays, and the concentrator may dial again.
func (l *Listener) HangUp(id string, why error) {
	l.mu.Lock()
	d := l.links[id]
	l.mu.Unlock()
	if d == nil {
		return
	}
	d.mu.Lock()
	s := d.sess
	d.mu.Unlock()
	if s != nil {
		d.drop(s, why)
	}
}

// Close stops accepting, closes every connection and waits for their
// goroutines. Links then fail with ErrClosed.
func (l *Listener) Close() error {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		l.cancel()
		l.ln.Close()
		for c := range l.pending {
			c.Close()
		}
		for id, d := range l.links {
			d.mu.Lock()
			d.closeLocked()
			d.mu.Unlock()
			delete(l.links, id)
		}
	}
	l.mu.Unlock()
	l.wg.Wait()
	return nil
}

func (l *Listener) accept() {
	var delay time.Duration
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			if l.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait and go on, as
			// net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			l.log.Error("accept failed", "err", err, "retry_in", delay)
			select {
			case <-time.After(delay):
				continue
			case <-l.ctx.Done():
				return
			}
		}
		delay = 0
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			conn.Close()
			return
		}
		l.pending[conn] = struct{}{}
		l.wg.Go(func() { l.serve(conn) })
		l.mu.Unlock()
	}
}

// serve registers conn and then reads it until it ends.
func (l *Listener) serve(conn net.Conn) {
	remote := conn.RemoteAddr().String()
	log := l.log.With("remote", remote)
	var reg *dtu.Registry
	if l.cfg.Registry != nil {
		reg = l.cfg.Registry()
	}
	p, rest, err := l.register(conn, reg)

	l.mu.Lock()
	delete(l.pending, conn)
	closed := l.closed
	l.mu.Unlock()
	if closed {
		conn.Close()
		return
	}
	if err != nil {
		conn.Close()
		l.dropped.Add(1)
		log.Warn("connection dropped: no registration", "err", err)
		l.cfg.OnEvent(DialInEvent{Kind: EventDropped, Remote: remote, Err: err})
		return
	}
	if l.cfg.Known != nil && !l.cfg.Known(p.ID) {
		conn.Close()
		l.refused.Add(1)
		err := fmt.Errorf("concentrator %s is not in the archive", p.ID)
		log.Warn("connection refused: unknown concentrator", "concentrator", p.ID)
		l.cfg.OnEvent(DialInEvent{Kind: EventRefused, ID: p.ID, Remote: remote, Err: err})
		return
	}

	s := &session{
		conn:   conn,
		remote: remote,
		q:      newFrameQueue(l.cfg.Queue),
		done:   make(chan struct{}),
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		conn.Close()
		return
	}
	d := l.linkLocked(p.ID)
	d.mu.Lock()
	old := d.sess
	d.sess = s
	d.h.up()
	d.h.seen()
	d.mu.Unlock()
	l.mu.Unlock()

	log = log.With("concentrator", p.ID)
	if old != nil {
		old.replaced.Store(true)
		old.conn.Close()
		log.Info("concentrator reconnected; older connection closed", "old_remote", old.remote)
		l.cfg.OnEvent(DialInEvent{Kind: EventReplaced, ID: p.ID, Remote: old.remote})
	}
	log.Info("concentrator registered")
	l.cfg.OnEvent(DialInEvent{Kind: EventRegistered, ID: p.ID, Remote: remote})

	pk, _ := reg.Packets(p.ID)
	err = l.read(d, s, io.MultiReader(bytes.NewReader(rest), conn), pk, log)

	d.mu.Lock()
	current := d.sess == s
	if current {
		d.sess = nil
		d.h.down(err)
	}
	if s.failed != nil {
		current, err = true, s.failed
	}
	d.mu.Unlock()
	conn.Close()
	close(s.done)
	if current && !l.isClosed() {
		log.Warn("concentrator offline", "err", err)
		l.cfg.OnEvent(DialInEvent{Kind: EventDisconnected, ID: p.ID, Remote: remote, Err: err})
	}
}

func (l *Listener) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// register reads the registration packet that must open a connection,
// one of reg's (the default "REG <id>" when reg is nil or empty). It
// returns the bytes that came behind it. The bytes of a wrong packet are
// never logged whole: they may be a modem's IMEI.
func (l *Listener) register(conn net.Conn, reg *dtu.Registry) (dtu.Packet, []byte, error) {
	conn.SetReadDeadline(time.Now().Add(l.cfg.RegisterTimeout))
	buf := make([]byte, max(dtu.MaxPacketLen, dtu.MaxConfiguredLen))
	n := 0
	for {
		m, rerr := conn.Read(buf[n:])
		n += m
		if n > 0 {
			id, k, err := reg.Register(buf[:n])
			switch {
			case err == nil:
				return dtu.Packet{Kind: dtu.Registration, ID: id}, bytes.Clone(buf[k:n]), nil
			case err == dtu.ErrShort && n < len(buf):
				// wait for the rest
			case err == dtu.ErrNotPacket || err == dtu.ErrShort:
				return dtu.Packet{}, nil, fmt.Errorf("% X... is not a registration packet", buf[:min(n, 4)])
			default:
				return dtu.Packet{}, nil, err
			}
		}
		if rerr != nil {
			if errors.Is(rerr, os.ErrDeadlineExceeded) {
				rerr = fmt.Errorf("no registration within %s", l.cfg.RegisterTimeout)
			}
			return dtu.Packet{}, nil, rerr
		}
	}
}

// read takes packets and frames from a registered connection until it
// ends or stays silent too long; it returns why it ended.
func (l *Listener) read(d *dialLink, s *session, r io.Reader, pk dtu.Packets, log *slog.Logger) error {
	sc := dtu.NewScanner(r)
	sc.SetPackets(d.id, pk)
	for {
		s.conn.SetReadDeadline(time.Now().Add(l.cfg.Silence))
		p, frame, err := sc.Next()
		var fe *dlt645.FrameError
		var pe *dtu.PacketError
		switch {
		case err == nil && p.Kind == dtu.Heartbeat:
			d.h.seen()
			if p.ID != d.id {
				log.Warn("heartbeat with another id", "packet", p.String())
			}
			l.cfg.OnEvent(DialInEvent{Kind: EventHeartbeat, ID: d.id, Remote: s.remote})
		case err == nil && p.Kind == dtu.Registration:
			d.h.seen()
			log.Info("registration repeated", "packet", p.String())
		case err == nil:
			d.h.seen()
			if s.q.push(item{frame: bytes.Clone(frame)}) {
				log.Warn("frame queue full; oldest frame dropped")
			}
		case errors.As(err, &fe):
			d.h.seen()
			s.q.push(item{err: err})
		case errors.As(err, &pe):
			d.h.seen()
			log.Warn("malformed packet ignored", "err", err)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return fmt.Errorf("silent for %s", l.cfg.Silence)
		case s.replaced.Load():
			return errors.New("replaced by a newer connection")
		case err == io.EOF:
			return errors.New("connection closed by the concentrator")
		default:
			return err
		}
	}
}

// session is one registered connection of a concentrator.
type session struct {
	conn     net.Conn
	remote   string
	q        *frameQueue
	done     chan struct{} // closed when the connection has ended
	replaced atomic.Bool
	failed   error // why Send dropped the connection; guarded by the link's mu
}

// dialLink is the stable Link of one dial-in concentrator.
type dialLink struct {
	l  *Listener
	id string
	h  *health

	mu      sync.Mutex
	sess    *session // the current connection, or nil
	closed  bool
	closing chan struct{} // closed by Close
}

var _ Link = (*dialLink)(nil)

func newDialLink(l *Listener, id string) *dialLink {
	return &dialLink{l: l, id: id, h: newHealth(), closing: make(chan struct{})}
}

// current returns the concentrator's connection.
func (d *dialLink) current(op string) (*session, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return nil, d.errorf("%s: %w", op, ErrClosed)
	case d.sess == nil:
		if e := d.h.get().Err; e != "" {
			return nil, d.errorf("%s: %w (%s)", op, ErrOffline, e)
		}
		return nil, d.errorf("%s: %w", op, ErrOffline)
	}
	return d.sess, nil
}

// Send writes frame to the concentrator's current connection.
func (d *dialLink) Send(ctx context.Context, frame []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s, err := d.current("send")
	if err != nil {
		return err
	}
	dl := time.Now().Add(d.l.cfg.WriteTimeout)
	if cd, ok := ctx.Deadline(); ok && cd.Before(dl) {
		dl = cd
	}
	s.conn.SetWriteDeadline(dl)
	stop := onDone(ctx, func() { s.conn.SetWriteDeadline(time.Now()) })
	n, err := s.conn.Write(frame)
	stop()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		if n == 0 {
			return ctx.Err() // nothing went out: the connection is intact
		}
		err = ctx.Err()
	}
	// The connection is unusable after a failed write, whatever the
	// cause; the concentrator will dial again.
	d.drop(s, fmt.Errorf("send: %w", err))
	if d.isClosed() {
		return d.errorf("send: %w", ErrClosed)
	}
	return d.errorf("send via %s: %w: %w", s.remote, ErrOffline, err)
}

// drop closes s after a failed write, marking the link offline at once.
func (d *dialLink) drop(s *session, err error) {
	d.mu.Lock()
	if d.sess == s {
		d.sess = nil
		d.h.down(err)
		s.failed = err
	}
	d.mu.Unlock()
	s.conn.Close()
}

// Receive returns the next frame from the concentrator, waiting until
// deadline at most. Heartbeats are never returned. If the concentrator
// reconnects meanwhile, Receive goes on waiting on the new connection.
func (d *dialLink) Receive(ctx context.Context, deadline time.Time) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	expired, stop := timer(deadline)
	defer stop()
	for {
		s, err := d.current("receive")
		if err != nil {
			return nil, err
		}
		select {
		case it := <-s.q.ch:
			return it.frame, it.err
		case <-s.done:
			if it, ok := s.q.pop(); ok {
				return it.frame, it.err
			}
			// the next round finds a newer connection, or none
		case <-expired:
			if it, ok := s.q.pop(); ok {
				return it.frame, it.err
			}
			return nil, ErrTimeout
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-d.closing:
			return nil, d.errorf("receive: %w", ErrClosed)
		}
	}
}

// Discard drops the frames received and not yet read.
func (d *dialLink) Discard() {
	d.mu.Lock()
	s := d.sess
	d.mu.Unlock()
	if s != nil {
		s.q.drain()
	}
}

// State reports whether the concentrator is connected; LastSeen moves
// with every heartbeat and frame.
func (d *dialLink) State() State { return d.h.get() }

// Close closes the concentrator's connection and retires the link: Send
// and Receive fail with ErrClosed. When the concentrator registers again,
// the Listener's Link gives a new link for it.
func (d *dialLink) Close() error {
	d.l.mu.Lock()
	if d.l.links[d.id] == d {
		delete(d.l.links, d.id)
	}
	d.mu.Lock()
	d.closeLocked()
	d.mu.Unlock()
	d.l.mu.Unlock()
	return nil
}

// closeLocked retires d; the caller holds d.mu (or owns d alone).
func (d *dialLink) closeLocked() {
	if d.closed {
		return
	}
	d.closed = true
	close(d.closing)
	if d.sess != nil {
		d.sess.conn.Close()
		d.sess = nil
	}
	d.h.down(ErrClosed)
}

func (d *dialLink) isClosed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

func (d *dialLink) errorf(format string, args ...any) error {
	return fmt.Errorf("link dial-in %s: "+format, append([]any{d.id}, args...)...)
}
