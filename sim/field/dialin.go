package field

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/headend/headend/protocol/dtu"
)

// DialInOptions configure a DialIn concentrator.
type DialInOptions struct {
	Options
	// Heartbeat is the interval between heartbeats; 0 is 60 s.
	Heartbeat time.Duration
	// Packets are the registration and heartbeat packets the DTU is
	// configured to send (dtu.ConfigPackets); zero sends "REG <id>" and
	// "HB <id>". A nil Heartbeat packet sends no heartbeats.
	Packets dtu.Packets
	// NewTicker starts the heartbeat ticker; nil uses time.NewTicker.
	NewTicker func(d time.Duration) (c <-chan time.Time, stop func())
	// Dial connects to the head-end; nil uses a net.Dialer over TCP.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// Backoff is how long to wait before reconnect attempt n (1, 2, ...);
	// nil is ExpBackoff(time.Second, 5*time.Minute). The wait goes through
	// Options.Sleep.
	Backoff func(attempt int) time.Duration
}

// ExpBackoff returns a back-off that doubles from base up to max, each
// wait drawn uniformly from its upper half (jitter), so that a fleet of
// concentrators cut off together does not dial back all at once.
func ExpBackoff(base, max time.Duration) func(attempt int) time.Duration {
	return func(attempt int) time.Duration {
		d := base
		for i := 1; i < attempt && d < max; i++ {
			d *= 2
		}
		d = min(d, max)
		return d/2 + rand.N(d/2+1)
	}
}

// DialIn is a concentrator that dials in to the head-end (GPRS DTU style):
// it connects, registers with its id, sends heartbeats, and answers the
// DL/T 645 requests arriving on the connection from the meters on its Bus.
// When the connection drops it dials again, backing off.
type DialIn struct {
	id   string
	addr string
	opts DialInOptions
	line *line
}

// NewDialIn returns a concentrator with the given id that dials addr. The id
// must be a valid dtu id.
func NewDialIn(id, addr string, bus Bus, opts DialInOptions) (*DialIn, error) {
	if err := dtu.CheckID(id); err != nil {
		return nil, fmt.Errorf("dial-in concentrator %q: %w", id, err)
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
	d := &DialIn{id: id, addr: addr, opts: opts, line: newLine(bus, opts.Options)}
	d.line.log = d.line.log.With("concentrator", id, "headend", addr)
	return d, nil
}

// Stats returns the concentrator's live counters.
func (d *DialIn) Stats() *Stats { return &d.line.stats }

// Run keeps the concentrator connected until ctx is done, then closes the
// connection and returns nil.
func (d *DialIn) Run(ctx context.Context) error {
	attempt := 0
	for {
		conn, err := d.opts.Dial(ctx, d.addr)
		if err == nil {
			d.line.stats.Connections.Add(1)
			d.line.log.Info("connected", "local", conn.LocalAddr().String())
			var healthy bool
			healthy, err = d.session(ctx, conn)
			if healthy {
				attempt = 0
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		attempt++
		wait := d.opts.Backoff(attempt)
		d.line.log.Info("disconnected", "err", err, "attempt", attempt, "retry_in", wait)
		if d.opts.Sleep(ctx, wait) != nil {
			return nil
		}
	}
}

// session registers on conn, then serves it and sends heartbeats until it
// drops or ctx is done. healthy reports that the connection carried a
// heartbeat or a transaction, which resets the back-off.
func (d *DialIn) session(ctx context.Context, conn net.Conn) (healthy bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer conn.Close()
	context.AfterFunc(ctx, func() { conn.Close() })
	w := &lockedWriter{conn: conn}

	pk := d.opts.Packets
	if len(pk.Register) == 0 {
		pk, _ = dtu.DefaultPackets(d.id) // id checked in NewDialIn
	}
	reg := pk.Register
	if _, err := w.Write(reg); err != nil {
		return false, fmt.Errorf("register: %w", err)
	}
	before := d.line.stats.Transactions.Load()

	var wg sync.WaitGroup
	var beats int
	var hbErr error
	wg.Go(func() {
		tick, stop := d.opts.NewTicker(d.opts.Heartbeat)
		defer stop()
		hb := pk.Heartbeat
		if len(hb) == 0 {
			return
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick:
				if _, err := w.Write(hb); err != nil {
					hbErr = fmt.Errorf("heartbeat: %w", err)
					cancel()
					return
				}
				beats++
			}
		}
	})
	err = d.line.serve(ctx, conn, w)
	cancel()
	wg.Wait()
	if err == nil {
		err = hbErr
	}
	if err == nil {
		err = io.EOF // the head-end closed the connection
	}
	return beats > 0 || d.line.stats.Transactions.Load() > before, err
}

// lockedWriter keeps heartbeats from landing inside a reply, and bounds
// every write.
type lockedWriter struct {
	mu   sync.Mutex
	conn net.Conn
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	return l.conn.Write(b)
}
