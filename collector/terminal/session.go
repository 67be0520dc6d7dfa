package terminal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/headend/headend/protocol/gdw3761"
)

// Errors of an Exchange.
var (
	ErrOffline = errors.New("terminal: not connected")
	ErrTimeout = errors.New("terminal: no reply before the deadline")
)

// Session is one terminal known to the archive, online or not. Its
// methods are safe for concurrent use; Exchanges are one at a time.
type Session struct {
	l         *Listener
	id        string
	addr      gdw3761.Address
	heartbeat atomic.Int64 // interval, ns
	sem       chan struct{}

	mu       sync.Mutex
	c        *conn
	pseq     uint8
	pending  *pending
	st       Status
	clockAt  time.Time
	framesIn atomic.Int64
	out, bad atomic.Int64
	stray    atomic.Int64
	requests atomic.Int64
}

// conn is one connection of a terminal.
type conn struct {
	nc     net.Conn
	r      *gdw3761.Reader
	remote string
	wmu    sync.Mutex
	heard  atomic.Int64 // last frame received, Config.Now in ns
	done   chan struct{}
	once   sync.Once
}

func (c *conn) lastHeard() time.Time { return time.Unix(0, c.heard.Load()) }

func (c *conn) close() { c.once.Do(func() { close(c.done); c.nc.Close() }) }

// pending is the Exchange waiting for its reply.
type pending struct {
	pseq  uint8
	asm   gdw3761.Assembler
	reply chan []gdw3761.Frame
}

// ID returns the terminal's address in string form, "4401 0001".
func (s *Session) ID() string { return s.id }

// Address returns the terminal's address.
func (s *Session) Address() gdw3761.Address { return s.addr }

func (s *Session) current() *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c
}

// attach makes c the terminal's connection after its login f, closing
// the one before.
func (s *Session) attach(c *conn, login *gdw3761.Frame) {
	l := s.l
	now := l.now()
	s.mu.Lock()
	old := s.c
	s.c = c
	s.st.Online, s.st.Since, s.st.Remote, s.st.Err = true, now, c.remote, ""
	s.mu.Unlock()
	if old != nil {
		old.close()
		l.event(Event{Kind: EventReplaced, ID: s.id, Remote: old.remote})
	}
	l.logins.Add(1)
	s.framesIn.Add(1)
	s.confirm(c, login)
	l.event(Event{Kind: EventLogin, ID: s.id, Remote: c.remote})
	if login.HasEC() {
		s.sawEC(login.EC)
	}
}

// sawEC keeps the event counters of an uplink frame and tells OnEC.
func (s *Session) sawEC(ec gdw3761.EC) {
	s.mu.Lock()
	s.st.EC = ec
	s.mu.Unlock()
	if s.l.cfg.OnEC != nil {
		s.l.cfg.OnEC(s.id, ec)
	}
}

// drop ends connection c if it is still the terminal's.
func (s *Session) drop(c *conn, why error) {
	c.close()
	s.mu.Lock()
	if s.c != c {
		s.mu.Unlock()
		return
	}
	s.c = nil
	s.st.Online, s.st.Since = false, s.l.now()
	if why != nil {
		s.st.Err = why.Error()
	}
	s.mu.Unlock()
	s.l.event(Event{Kind: EventOffline, ID: s.id, Remote: c.remote, Err: why})
}

// HangUp closes the terminal's connection, if it has one, for why: the
// terminal goes offline (EventOffline) and may log in again.
func (s *Session) HangUp(why error) {
	if c := s.current(); c != nil {
		s.drop(c, why)
	}
}

func (s *Session) write(c *conn, f *gdw3761.Frame) error {
	b, err := f.MarshalBinary()
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(s.l.timeout(s.l.cfg.WriteTimeout, 10*time.Second)))
	if _, err := c.nc.Write(b); err != nil {
		return fmt.Errorf("terminal %s: %w", s.id, err)
	}
	s.out.Add(1)
	return nil
}

func (s *Session) confirm(c *conn, f *gdw3761.Frame) {
	a := gdw3761.Confirm(f)
	a.Address.Master = f.Address.Master
	s.write(c, &a)
}

// readLoop reads c's frames until it ends.
func (s *Session) readLoop(c *conn) {
	var why error
	for {
		f, err := c.r.ReadFrame()
		if err != nil {
			var fe *gdw3761.FrameError
			if errors.As(err, &fe) {
				s.bad.Add(1)
				s.l.bad.Add(1)
				continue
			}
			why = err
			break
		}
		s.framesIn.Add(1)
		c.heard.Store(s.l.now().UnixNano())
		if f.Address.Area != s.addr.Area || f.Address.Terminal != s.addr.Terminal || !f.Control.Up() {
			s.stray.Add(1)
			continue
		}
		if f.HasEC() {
			s.sawEC(f.EC)
		}
		switch {
		case !f.Control.PRM():
			s.reply(f)
		case f.AFN == gdw3761.AFNLink:
			if s.link(c, f) {
				why = errors.New("logged out")
				c.close()
				break
			}
		default:
			if f.Seq.CON() {
				s.confirm(c, f)
			}
			if s.l.cfg.OnUplink != nil {
				s.l.cfg.OnUplink(s.id, f)
			}
		}
		if why != nil {
			break
		}
	}
	s.drop(c, why)
}

// link handles a login, heartbeat or logout on an open connection and
// reports whether it was a logout.
func (s *Session) link(c *conn, f *gdw3761.Frame) (logout bool) {
	switch {
	case isLink(f, 3):
		s.l.heartbeats.Add(1)
		now := s.l.now()
		s.mu.Lock()
		s.st.LastHeartbeat = now
		if len(f.Data) >= 10 {
			if t, err := gdw3761.A1.Decode(f.Data[4:]); err == nil && !t.IsZero() {
				s.st.Clock, s.clockAt = t.Time(s.l.cfg.Location), now
			}
		}
		s.mu.Unlock()
		s.confirm(c, f)
	case isLink(f, 2):
		s.confirm(c, f)
		s.l.event(Event{Kind: EventLogout, ID: s.id, Remote: c.remote})
		return true
	case isLink(f, 1):
		s.l.logins.Add(1)
		s.confirm(c, f)
	}
	return false
}

// reply gives a response frame to the Exchange waiting for it.
func (s *Session) reply(f *gdw3761.Frame) {
	s.mu.Lock()
	p := s.pending
	s.mu.Unlock()
	if p == nil {
		s.stray.Add(1)
		return
	}
	if f.Seq.FIR() && f.Seq.Num() != p.pseq {
		s.stray.Add(1) // a late reply to an earlier request
		return
	}
	done, err := p.asm.Add(f)
	if err != nil {
		s.stray.Add(1)
		return
	}
	if done {
		frames := append([]gdw3761.Frame(nil), p.asm.Frames()...)
		s.mu.Lock()
		if s.pending == p {
			s.pending = nil
		}
		s.mu.Unlock()
		p.reply <- frames
	}
}

// Exchange sends req to the terminal and returns the frames of its reply
// (one, or FIR..FIN of a multi-frame reply, in order). The session sets
// the request's PSEQ and, when zero, its address; the reply is the
// frames with RSEQ from PSEQ up. One Exchange runs at a time per
// terminal; the others wait. ctx bounds the wait (Config.Timeout when it
// has no deadline). The frames are the caller's.
func (s *Session) Exchange(ctx context.Context, req *gdw3761.Frame) ([]gdw3761.Frame, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.l.timeout(s.l.cfg.Timeout, 30*time.Second))
		defer cancel()
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("terminal %s: waiting for the previous request: %w", s.id, ctx.Err())
	}
	defer func() { <-s.sem }()
	f := *req
	if f.Address.Area == 0 && f.Address.Terminal == 0 {
		f.Address.Area, f.Address.Terminal = s.addr.Area, s.addr.Terminal
	}
	s.mu.Lock()
	c := s.c
	if c == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("terminal %s: %w", s.id, ErrOffline)
	}
	pseq := s.pseq
	s.pseq = (s.pseq + 1) & 0x0F
	f.Seq = gdw3761.MakeSeq(f.Seq.TpV(), true, true, f.Seq.CON(), pseq)
	p := &pending{pseq: pseq, reply: make(chan []gdw3761.Frame, 1)}
	s.pending = p
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.pending == p {
			s.pending = nil
		}
		s.mu.Unlock()
	}()
	s.requests.Add(1)
	if err := s.write(c, &f); err != nil {
		return nil, err
	}
	select {
	case frames := <-p.reply:
		return frames, nil
	case <-c.done:
		return nil, fmt.Errorf("terminal %s: connection closed while waiting for %v: %w", s.id, f.AFN, ErrOffline)
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, fmt.Errorf("terminal %s: %v PSEQ %d: %w", s.id, f.AFN, pseq, ErrTimeout)
		}
		return nil, ctx.Err()
	}
}

// Requests returns how many requests the session has sent.
func (s *Session) Requests() int64 { return s.requests.Load() }
