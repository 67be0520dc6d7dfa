package field

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"sync"
	"time"

	"github.com/headend/headend/protocol/gdw3761"
)

// TerminalOptions configure a Q/GDW 1376.1 terminal.
type TerminalOptions struct {
	Options
	// Address is the terminal's address: area code A1 and terminal A2.
	Address gdw3761.Address
	// Archive is the meter archive it starts with (AFN 04 F10 replaces
	// entries by serial number).
	Archive []gdw3761.MeterEntry
	// Now is the simulated instant (the model's clock); nil is time.Now.
	Now func() time.Time
	// Drift is how far the terminal's own clock runs off, in seconds per
	// simulated day (positive: fast).
	Drift float64
	// Heartbeat is the real interval between heartbeats (AFN 02 F3); 0
	// is 60 s.
	Heartbeat time.Duration
	// NewTicker, Dial and Backoff are as in DialInOptions.
	NewTicker func(d time.Duration) (c <-chan time.Time, stop func())
	Dial      func(ctx context.Context, addr string) (net.Conn, error)
	Backoff   func(attempt int) time.Duration
	// LoginTimeout is how long it waits for the login confirmation
	// (real time); 0 is 30 s.
	LoginTimeout time.Duration
	// MissedBeats is how many unconfirmed heartbeats in a row make it
	// drop the connection and log in again; 0 is 3.
	MissedBeats int
	// Poll is the meters behind the terminal's port as its own
	// collection reaches them; Forward the same meters for AFN 10
	// forwarding. Keeping them apart lets the simulator count the
	// meters' answers to the head-end only. Forward nil uses Poll.
	Poll, Forward Bus
	// PollEvery is the real interval at which Run checks whether a
	// collection is due in simulated time; 0 is 1 s, < 0 never (tests
	// call Collect).
	PollEvery time.Duration
	// MaxFrameData is the most data bytes in one reply frame before it
	// is split (FIR/FIN); 0 is 2048.
	MaxFrameData int
	// ReportEvents makes it report each important event as it records
	// it (AFN 0E F1 with PRM set, confirmation asked) while logged in,
	// besides ACD and the counter on its frames.
	ReportEvents bool
}

// Terminal is a simulated Q/GDW 1376.1 concentrator: it dials the
// head-end, logs in (AFN 02 F1) and keeps a heartbeat (F3, with its
// clock), collects its meters on its own schedule (current data every 15
// simulated minutes, the daily freezes after midnight), keeps daily and
// monthly freezes, curves and an event log, and answers the master
// station's reads (AFN 0C, 0D, 0E, 0A), settings (AFN 04 F10, AFN 05
// F31) and transparent forwarding (AFN 10 F1); anything else is denied
// (AFN 00 F2).
//
// Daily freezes are labelled as the codec's users read them: F161 for
// td_d D is the reading the meter froze at the end of D (00:00 of D+1);
// F177 for month M the reading at the end of M.
type Terminal struct {
	addr string
	opts TerminalOptions
	line *line // the port: one transaction at a time, own polls and forwards

	mu       sync.Mutex
	archive  map[uint16]gdw3761.MeterEntry // by serial
	points   map[uint16]*pointData         // by point number
	offset   time.Duration                 // clock set by AFN 05 F31
	epoch    time.Time                     // simulated instant drift counts from
	events   eventLog
	found    map[gdw3761.MeterAddress]bool // unknown meters filed (ERC35)
	reports  chan struct{}                 // an event to report (ReportEvents)
	answers  map[string][]TerminalAnswer
	lastPoll time.Time // simulated instant of the last current-data collection
	lastDay  time.Time // last day whose freezes were collected
	retried  time.Time // simulated instant the missing freezes were last asked again
	lastSeen time.Time // terminal clock when it last ran (for power off/on)
	ran      bool
	pseq     uint8
	online   bool
	stats    TerminalStats
	comm     commState // gdw_comm.go
}

// TerminalStats counts a terminal's link.
type TerminalStats struct {
	Logins, Heartbeats, Requests, Denied, BadFrames, Polls int64
}

// TerminalAnswer is one answer a terminal gave the head-end about one
// meter: the simulated time, the unit (e.g. "AFN 0D F161") and the
// FNV-64a hash of the 376.1 reply frame that carried it.
type TerminalAnswer struct {
	At   time.Time
	Sim  time.Time
	Unit string
	Hash uint64
}

// NewTerminal returns a terminal that dials addr.
func NewTerminal(addr string, opts TerminalOptions) (*Terminal, error) {
	if opts.Address.Terminal == 0 {
		return nil, fmt.Errorf("376.1 terminal %v: terminal address A2 is 0", opts.Address)
	}
	if opts.Address.Area > 9999 {
		return nil, fmt.Errorf("376.1 terminal: area code %d has more than 4 digits", opts.Address.Area)
	}
	if opts.Poll == nil {
		return nil, fmt.Errorf("376.1 terminal %v: no meter bus", opts.Address)
	}
	if opts.Forward == nil {
		opts.Forward = opts.Poll
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 60 * time.Second
	}
	if opts.NewTicker == nil {
		opts.NewTicker = func(d time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(d)
			return t.C, t.Stop
		}
	}
	if opts.Dial == nil {
		opts.Dial = func(ctx context.Context, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		}
	}
	if opts.Backoff == nil {
		opts.Backoff = ExpBackoff(time.Second, 5*time.Minute)
	}
	if opts.LoginTimeout <= 0 {
		opts.LoginTimeout = 30 * time.Second
	}
	if opts.MissedBeats <= 0 {
		opts.MissedBeats = 3
	}
	if opts.MaxFrameData <= 0 {
		opts.MaxFrameData = 2048
	}
	t := &Terminal{addr: addr, opts: opts, line: newLine(opts.Poll, opts.Options),
		archive: map[uint16]gdw3761.MeterEntry{}, points: map[uint16]*pointData{},
		answers: map[string][]TerminalAnswer{}, epoch: opts.Now(), reports: make(chan struct{}, 1)}
	t.line.log = t.line.log.With("terminal", opts.Address.String(), "headend", addr)
	for _, e := range opts.Archive {
		t.archive[e.Serial] = e
	}
	if opts.ReportEvents {
		t.events.notify = t.reports
	}
	return t, nil
}

// Address returns the terminal's address.
func (t *Terminal) Address() gdw3761.Address { return t.opts.Address }

// Stats returns the port's counters (transactions on the meter line).
func (t *Terminal) Stats() *Stats { return &t.line.stats }

// LinkStats returns the terminal's link counters.
func (t *Terminal) LinkStats() TerminalStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// Online reports whether the head-end confirmed the current login.
func (t *Terminal) Online() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.online
}

// Clock returns the terminal's own clock: the simulated time plus its
// drift and any clock set.
func (t *Terminal) Clock() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.clockLocked(t.opts.Now())
}

func (t *Terminal) clockLocked(now time.Time) time.Time {
	drift := time.Duration(t.opts.Drift * float64(now.Sub(t.epoch)) / 86400)
	return now.Add(t.offset + drift)
}

// Answers returns what the terminal answered the head-end, by meter
// address, oldest first.
func (t *Terminal) Answers() map[string][]TerminalAnswer {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string][]TerminalAnswer, len(t.answers))
	for k, v := range t.answers {
		out[k] = append([]TerminalAnswer(nil), v...)
	}
	return out
}

// Run keeps the terminal logged in until ctx is done, then returns nil.
// Each start after a stop is a power off and on (ERC14).
func (t *Terminal) Run(ctx context.Context) error {
	t.powerOn()
	defer t.powerOff()
	if t.opts.PollEvery >= 0 {
		every := t.opts.PollEvery
		if every == 0 {
			every = time.Second
		}
		ctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		defer wg.Wait()
		defer cancel()
		wg.Go(func() {
			tk := time.NewTicker(every)
			defer tk.Stop()
			for {
				t.Collect(ctx)
				select {
				case <-ctx.Done():
					return
				case <-tk.C:
				}
			}
		})
		return t.connect(ctx)
	}
	return t.connect(ctx)
}

func (t *Terminal) connect(ctx context.Context) error {
	attempt := 0
	for {
		conn, err := t.opts.Dial(ctx, t.addr)
		if err == nil {
			t.line.stats.Connections.Add(1)
			t.line.log.Info("connected", "local", conn.LocalAddr().String())
			var healthy bool
			healthy, err = t.session(ctx, conn)
			if healthy {
				attempt = 0
			}
		}
		t.mu.Lock()
		t.online = false
		t.mu.Unlock()
		if ctx.Err() != nil {
			return nil
		}
		attempt++
		wait := t.opts.Backoff(attempt)
		t.line.log.Info("disconnected", "err", err, "attempt", attempt, "retry_in", wait)
		if t.line.opts.Sleep(ctx, wait) != nil {
			return nil
		}
	}
}

// session logs in on conn, then answers requests and sends heartbeats
// until the connection drops, a login or heartbeats go unconfirmed, or
// ctx is done. healthy reports that the login was confirmed.
func (t *Terminal) session(ctx context.Context, conn net.Conn) (healthy bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer conn.Close()
	context.AfterFunc(ctx, func() { conn.Close() })
	w := &lockedWriter{conn: conn}

	confirms := make(chan struct{}, 16)
	readErr := make(chan error, 1)
	go func() { readErr <- t.serve(ctx, conn, w, confirms) }()

	if err := t.sendLink(w, 1); err != nil {
		return false, fmt.Errorf("login: %w", err)
	}
	login := time.NewTimer(t.opts.LoginTimeout)
	defer login.Stop()
	select {
	case <-confirms:
	case <-login.C:
		return false, errors.New("login not confirmed")
	case err := <-readErr:
		return false, orEOF(err)
	case <-ctx.Done():
		return false, nil
	}
	t.mu.Lock()
	t.online = true
	t.stats.Logins++
	t.mu.Unlock()
	t.line.log.Info("logged in")

	tick, stop := t.opts.NewTicker(t.HeartbeatInterval())
	defer func() { stop() }()
	rebeat := t.heartbeatChanged()
	missed := 0
	for {
		select {
		case <-rebeat: // AFN 04 F1 set another heartbeat period
			stop()
			tick, stop = t.opts.NewTicker(t.HeartbeatInterval())
		case <-ctx.Done():
			return true, nil
		case err := <-readErr:
			return true, orEOF(err)
		case <-confirms:
			missed = 0
		case <-t.reports:
			if err := t.sendReport(w); err != nil {
				return true, fmt.Errorf("event report: %w", err)
			}
		case <-tick:
			if missed >= t.opts.MissedBeats {
				return true, fmt.Errorf("%d heartbeats unconfirmed", missed)
			}
			if err := t.sendLink(w, 3); err != nil {
				return true, fmt.Errorf("heartbeat: %w", err)
			}
			missed++
			t.mu.Lock()
			t.stats.Heartbeats++
			t.mu.Unlock()
		}
	}
}

func orEOF(err error) error {
	if err == nil {
		return io.EOF // the head-end closed the connection
	}
	return err
}

// sendLink sends AFN 02 fn (1 login, 3 heartbeat with the clock).
func (t *Terminal) sendLink(w io.Writer, fn uint8) error {
	t.mu.Lock()
	seq := t.pseq
	t.pseq = (t.pseq + 1) & 0x0F
	var clock gdw3761.DateTime
	if fn == 3 {
		clock = gdw3761.DateTimeOf(t.clockLocked(t.opts.Now()))
	}
	t.mu.Unlock()
	f, err := gdw3761.Link(t.opts.Address, seq, fn, clock)
	if err != nil {
		return err
	}
	t.withEC(&f)
	b, err := f.MarshalBinary()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// serve reads the head-end's frames from r: confirmations go to
// confirms, requests are answered one at a time on w.
func (t *Terminal) serve(ctx context.Context, r io.Reader, w io.Writer, confirms chan<- struct{}) error {
	fr := gdw3761.NewReader(r)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			var fe *gdw3761.FrameError
			if errors.As(err, &fe) {
				t.mu.Lock()
				t.stats.BadFrames++
				t.mu.Unlock()
				t.line.log.Debug("bad frame ignored", "err", err)
				continue
			}
			if err == io.EOF || ctx.Err() != nil {
				return nil
			}
			return err
		}
		if f.Control.Up() {
			continue // another terminal's frame echoed back: not for us
		}
		if f.AFN == gdw3761.AFNConfirm {
			select {
			case confirms <- struct{}{}:
			default:
			}
			continue
		}
		frames := t.Handle(ctx, f)
		for i := range frames {
			b, err := frames[i].MarshalBinary()
			if err != nil {
				t.line.log.Error("reply not encoded", "err", err)
				break
			}
			if _, err := w.Write(b); err != nil {
				return fmt.Errorf("write reply: %w", err)
			}
		}
	}
}

// frameHash identifies a reply frame by its bytes (FNV-64a), as
// meterbus.ReplyHash does for DL/T 645 frames.
func frameHash(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}
