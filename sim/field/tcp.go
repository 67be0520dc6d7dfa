package field

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/headend/headend/protocol/dlt645"
)

// Options configure how a transport carries transactions to its Bus.
type Options struct {
	// Baud is the line speed of the meters' bus: each transaction takes
	// LineTime(Baud, request+reply bytes). 0 is an ideal line (no delay).
	Baud int
	// Latency is a fixed extra time per transaction (the meter thinking,
	// the concentrator forwarding).
	Latency time.Duration
	// Sleep waits out the line time; nil is Sleep.
	Sleep Sleeper
	// Logger gets connection and transaction events; nil discards them.
	Logger *slog.Logger
}

// Stats counts what a transport carried. Read the fields with Load.
type Stats struct {
	Transactions atomic.Int64 // requests passed to the Bus
	Queued       atomic.Int64 // requests received and not yet done (waiting for the line or on it)
	Unanswered   atomic.Int64 // of those, the ones the Bus did not answer
	BadFrames    atomic.Int64 // malformed frames received and ignored
	BytesIn      atomic.Int64 // request frame bytes received (from 68 to 16)
	BytesOut     atomic.Int64 // reply bytes sent
	Connections  atomic.Int64 // connections accepted or made
}

// writeTimeout bounds a reply write, so a peer that stops reading cannot
// hold the line for ever.
const writeTimeout = 30 * time.Second

// line is a Bus behind one port: it serves requests arriving on any
// number of streams, one transaction at a time.
type line struct {
	bus   Bus
	opts  Options
	log   *slog.Logger
	mu    sync.Mutex // held for a whole transaction
	stats Stats
}

func newLine(bus Bus, opts Options) *line {
	l := &line{bus: bus, opts: opts, log: opts.Logger}
	if l.opts.Sleep == nil {
		l.opts.Sleep = Sleep
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	return l
}

// serve answers the requests read from r, writing replies to w, until r
// ends or fails or ctx is done. Malformed frames and noise are skipped, as
// a concentrator does. It returns nil at the end of the stream.
func (l *line) serve(ctx context.Context, r io.Reader, w io.Writer) error {
	fr := dlt645.NewReader(r)
	for {
		if _, err := fr.ReadFrame(); err != nil {
			var fe *dlt645.FrameError
			if errors.As(err, &fe) {
				l.stats.BadFrames.Add(1)
				l.log.Debug("bad frame ignored", "err", err)
				continue
			}
			if err == io.EOF || ctx.Err() != nil {
				return nil
			}
			return err
		}
		l.stats.Queued.Add(1)
		err := l.transact(ctx, bytes.Clone(fr.Raw()), w)
		l.stats.Queued.Add(-1)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// transact passes one request to the Bus, waits the line time and writes
// the reply, holding the line throughout.
func (l *line) transact(ctx context.Context, req []byte, w io.Writer) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stats.Transactions.Add(1)
	l.stats.BytesIn.Add(int64(len(req)))
	reply := l.bus.Exchange(ctx, req)
	d := LineTime(l.opts.Baud, len(req)+len(reply)) + l.opts.Latency
	if err := l.opts.Sleep(ctx, d); err != nil {
		return err
	}
	if len(reply) == 0 {
		l.stats.Unanswered.Add(1)
		l.log.Debug("no reply", "req", fmt.Sprintf("% X", req))
		return nil
	}
	if dw, ok := w.(interface{ SetWriteDeadline(time.Time) error }); ok {
		dw.SetWriteDeadline(time.Now().Add(writeTimeout))
	}
	// counted before the write, so that whoever has read the reply sees
	// it counted
	l.stats.BytesOut.Add(int64(len(reply)))
	if _, err := w.Write(reply); err != nil {
		return fmt.Errorf("write reply: %w", err)
	}
	l.log.Debug("transaction", "req", fmt.Sprintf("% X", req), "reply", fmt.Sprintf("% X", reply), "line", d)
	return nil
}

// Concentrator is a TCP concentrator port or serial server that the
// head-end dials: it forwards each DL/T 645 request arriving on any of its
// connections to the meters on its Bus and returns their reply, one
// transaction at a time across all connections.
type Concentrator struct {
	line *line
}

// NewConcentrator returns a Concentrator for the meters on bus.
func NewConcentrator(bus Bus, opts Options) *Concentrator {
	return &Concentrator{line: newLine(bus, opts)}
}

// Stats returns the Concentrator's live counters.
func (c *Concentrator) Stats() *Stats { return &c.line.stats }

// Serve accepts connections on ln and serves each until the peer closes
// it. When ctx is done it closes ln and every connection, waits for them
// and returns nil; if Accept fails otherwise it does the same and returns
// that error.
func (c *Concentrator) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	log := c.line.log.With("listen", ln.Addr().String())
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			cancel() // closes ln and the connections
			return fmt.Errorf("concentrator %v: %w", ln.Addr(), err)
		}
		c.line.stats.Connections.Add(1)
		wg.Go(func() {
			defer conn.Close()
			stop := context.AfterFunc(ctx, func() { conn.Close() })
			defer stop()
			log := log.With("peer", conn.RemoteAddr().String())
			log.Info("connected")
			if err := c.line.serve(ctx, conn, conn); err != nil && ctx.Err() == nil {
				log.Info("connection lost", "err", err)
				return
			}
			log.Info("disconnected")
		})
	}
}

// ServeTCP serves bus on ln as a Concentrator until ctx is done.
func ServeTCP(ctx context.Context, ln net.Listener, bus Bus, opts Options) error {
	return NewConcentrator(bus, opts).Serve(ctx, ln)
}
