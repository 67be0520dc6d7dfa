package terminal

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/headend/headend/protocol/gdw3761"
)

// Config configures a Listener. The zero Config accepts no terminal.
type Config struct {
	// Known reports whether a terminal (in the address string form,
	// "4401 0001") is in the archive, and its heartbeat interval (0: 60
	// s). It is called from the connections' goroutines.
	Known func(id string) (heartbeat time.Duration, ok bool)
	// Missed is how many heartbeat intervals of silence make a terminal
	// offline; 0 is 3.
	Missed int
	// LoginTimeout is how long a new connection has to log in; 0 is 30 s.
	LoginTimeout time.Duration
	// WriteTimeout bounds writing one frame; 0 is 10 s.
	WriteTimeout time.Duration
	// Timeout bounds an Exchange whose context has no deadline; 0 is 30 s.
	Timeout time.Duration
	// Now is the clock of statuses and of the silence check; nil is
	// time.Now. Location is the zone of the terminals' clocks; nil is
	// time.Local.
	Now      func() time.Time
	Location *time.Location
	// OnEvent, if set, is told of logins, logouts, refusals, replaced
	// connections and terminals going offline; it must not block.
	OnEvent func(Event)
	// OnUplink, if set, gets the uplink frames that are not replies nor
	// link frames (events a terminal reports by itself); it runs on the
	// connection's goroutine and must not keep f.
	OnUplink func(id string, f *gdw3761.Frame)
	// OnEC, if set, gets the event counters of every uplink frame that
	// carries them (ACD set), the login's included; it runs on the
	// connection's goroutine and must not block ([Events.Seen] does not).
	OnEC   func(id string, ec gdw3761.EC)
	Logger *slog.Logger
}

// EventKind says what happened to a terminal.
type EventKind string

// The events.
const (
	EventLogin    EventKind = "login"
	EventLogout   EventKind = "logout"
	EventRefused  EventKind = "refused"  // not in the archive, or no login first
	EventReplaced EventKind = "replaced" // logged in again; the older connection was closed
	EventOffline  EventKind = "offline"  // connection ended or silent too long
)

// Event is one change of a terminal's connection.
type Event struct {
	Kind   EventKind
	ID     string
	Remote string
	Err    error
}

// Stats count what the listener saw, over all terminals.
type Stats struct {
	Online     int   `json:"online"`
	Logins     int64 `json:"logins"`
	Refused    int64 `json:"refused"`
	Heartbeats int64 `json:"heartbeats"`
	BadFrames  int64 `json:"bad_frames"`
}

// Listener accepts terminals dialling in and keeps their sessions.
type Listener struct {
	cfg Config
	ln  net.Listener
	log *slog.Logger

	mu       sync.Mutex
	sessions map[string]*Session
	conns    map[net.Conn]struct{} // not yet logged in
	closed   bool

	stop  chan struct{} // closed by Close: the sweep ends
	swept chan struct{} // closed when the sweep has ended

	logins, refused, heartbeats, bad atomic.Int64
	wg                               sync.WaitGroup
}

// Listen serves terminals on ln until ctx is done or Close is called.
func Listen(ctx context.Context, ln net.Listener, cfg Config) *Listener {
	l := &Listener{cfg: cfg, ln: ln, log: cfg.Logger, sessions: map[string]*Session{}, conns: map[net.Conn]struct{}{},
		stop: make(chan struct{}), swept: make(chan struct{})}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.wg.Add(2)
	go func() { defer l.wg.Done(); l.accept() }()
	go func() { defer l.wg.Done(); defer close(l.swept); l.sweepLoop(ctx) }()
	return l
}

// sweepLoop runs Sweep every 5 s until Close, or until ctx is done
// (which closes the listener).
func (l *Listener) sweepLoop(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.Sweep()
		case <-l.stop:
			return
		case <-ctx.Done():
			l.shut()
			return
		}
	}
}

// Addr is the address listened on.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

func (l *Listener) now() time.Time {
	if l.cfg.Now != nil {
		return l.cfg.Now()
	}
	return time.Now()
}

func (l *Listener) known(id string) (time.Duration, bool) {
	if l.cfg.Known == nil {
		return 0, false
	}
	hb, ok := l.cfg.Known(id)
	if hb <= 0 {
		hb = 60 * time.Second
	}
	return hb, ok
}

func (l *Listener) event(e Event) {
	l.log.Info("terminal", "event", e.Kind, "terminal", e.ID, "remote", e.Remote, "err", e.Err)
	if l.cfg.OnEvent != nil {
		l.cfg.OnEvent(e)
	}
}

// Terminal returns the session of terminal id ("4401 0001", or any form
// gdw3761.ParseAddress reads), online or not; false if the archive does
// not know it.
func (l *Listener) Terminal(id string) (*Session, bool) {
	a, err := gdw3761.ParseAddress(id)
	if err != nil {
		return nil, false
	}
	return l.session(a)
}

func (l *Listener) session(a gdw3761.Address) (*Session, bool) {
	a.Master, a.Group = 0, false
	id := a.String()
	hb, ok := l.known(id)
	if !ok {
		return nil, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sessions[id]
	if s == nil {
		s = &Session{l: l, id: id, addr: a, sem: make(chan struct{}, 1)}
		l.sessions[id] = s
	}
	s.heartbeat.Store(int64(hb))
	return s, true
}

// Statuses returns every terminal that has a session, in no set order.
func (l *Listener) Statuses() []Status {
	l.mu.Lock()
	ss := make([]*Session, 0, len(l.sessions))
	for _, s := range l.sessions {
		ss = append(ss, s)
	}
	l.mu.Unlock()
	out := make([]Status, len(ss))
	for i, s := range ss {
		out[i] = s.Status()
	}
	return out
}

// Stats returns the listener's counters.
func (l *Listener) Stats() Stats {
	st := Stats{Logins: l.logins.Load(), Refused: l.refused.Load(), Heartbeats: l.heartbeats.Load(), BadFrames: l.bad.Load()}
	for _, s := range l.Statuses() {
		if s.Online {
			st.Online++
		}
	}
	return st
}

// Sweep closes the connections of terminals silent for more than Missed
// heartbeat intervals (on Config.Now). Listen runs it every 5 s; tests
// with an injected clock call it.
func (l *Listener) Sweep() {
	missed := l.cfg.Missed
	if missed <= 0 {
		missed = 3
	}
	now := l.now()
	l.mu.Lock()
	ss := make([]*Session, 0, len(l.sessions))
	for _, s := range l.sessions {
		ss = append(ss, s)
	}
	l.mu.Unlock()
	for _, s := range ss {
		c := s.current()
		if c == nil {
			continue
		}
		limit := time.Duration(missed) * time.Duration(s.heartbeat.Load())
		if last := c.lastHeard(); now.Sub(last) > limit {
			s.drop(c, errSilent)
		}
	}
}

var errSilent = errors.New("terminal: silent past its heartbeats")

// Close stops listening, closes every connection, and stops the sweep,
// returning once it has ended.
func (l *Listener) Close() error {
	err := l.shut()
	<-l.swept
	return err
}

// shut is Close without waiting for the sweep (which calls it when its
// context ends).
func (l *Listener) shut() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.stop)
	err := l.ln.Close()
	for c := range l.conns {
		c.Close()
	}
	ss := make([]*Session, 0, len(l.sessions))
	for _, s := range l.sessions {
		ss = append(ss, s)
	}
	l.mu.Unlock()
	for _, s := range ss {
		if c := s.current(); c != nil {
			s.drop(c, net.ErrClosed)
		}
	}
	return err
}

func (l *Listener) accept() {
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			nc.Close()
			return
		}
		l.conns[nc] = struct{}{}
		l.mu.Unlock()
		l.wg.Add(1)
		go func() { defer l.wg.Done(); l.serve(nc) }()
	}
}

func (l *Listener) timeout(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// serve waits for the login, then hands the connection to its session.
func (l *Listener) serve(nc net.Conn) {
	remote := nc.RemoteAddr().String()
	forget := func() { l.mu.Lock(); delete(l.conns, nc); l.mu.Unlock() }
	r := gdw3761.NewReader(nc)
	nc.SetReadDeadline(time.Now().Add(l.timeout(l.cfg.LoginTimeout, 30*time.Second)))
	var f *gdw3761.Frame
	for {
		var err error
		f, err = r.ReadFrame()
		var fe *gdw3761.FrameError
		if errors.As(err, &fe) {
			l.bad.Add(1)
			continue
		}
		if err != nil {
			forget()
			nc.Close()
			l.refused.Add(1)
			l.event(Event{Kind: EventRefused, Remote: remote, Err: err})
			return
		}
		break
	}
	if !isLink(f, 1) {
		forget()
		nc.Close()
		l.refused.Add(1)
		l.event(Event{Kind: EventRefused, ID: f.Address.String(), Remote: remote, Err: errors.New("first frame is not a login (AFN 02 F1)")})
		return
	}
	s, ok := l.session(f.Address)
	if !ok {
		deny := gdw3761.Deny(f)
		if b, err := deny.MarshalBinary(); err == nil {
			nc.SetWriteDeadline(time.Now().Add(l.timeout(l.cfg.WriteTimeout, 10*time.Second)))
			nc.Write(b)
		}
		forget()
		nc.Close()
		l.refused.Add(1)
		l.event(Event{Kind: EventRefused, ID: f.Address.String(), Remote: remote, Err: errors.New("terminal not in the archive")})
		return
	}
	nc.SetReadDeadline(time.Time{})
	forget()
	c := &conn{nc: nc, r: r, remote: remote, done: make(chan struct{})}
	c.heard.Store(l.now().UnixNano())
	s.attach(c, f)
	s.readLoop(c)
}

// isLink reports whether f is an uplink AFN 02 frame of Fn fn from the
// initiating station.
func isLink(f *gdw3761.Frame, fn uint8) bool {
	if f.AFN != gdw3761.AFNLink || !f.Control.Up() || !f.Control.PRM() || len(f.Data) < 4 {
		return false
	}
	fns, err := gdw3761.DADT(f.Data[:4]).Fns(nil)
	return err == nil && len(fns) == 1 && fns[0] == fn
}
