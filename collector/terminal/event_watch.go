package terminal

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/headend/headend/collector/ledger"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/gdw3761"
)

// MaxEvents is the most event records one AFN 0E request asks for.
const MaxEvents = 32

// Events reads a terminal's event logs as their counters move: [Events.Seen]
// is given the counters (EC) of every uplink frame that carries them
// (ACD set: login, heartbeat, replies), and when a counter is ahead of
// the pointer the head-end has read up to, the new records are read (AFN
// 0E F1 or F2 from the pointer to the counter), handed to Sink, and only
// then the pointer is moved and saved in Pointers: a record is read once,
// across reconnects and restarts, and none is skipped. Records the
// terminal reports by itself ([Events.Reported]) move the pointer the
// same way when they follow on from it.
//
// The first time a log is read (no pointer kept), it is read from record
// 0: everything a terminal whose counter has not wrapped holds.
type Events struct {
	Reader   *Reader
	Pointers *ledger.Pointers // nil: pointers kept in memory only
	// Points are the terminal's measuring points; Self is whom the
	// terminal's own events are filed under.
	Points func() []Point
	Self   Point
	// Sink gets each request's event reads; the pointer moves when it
	// returns.
	Sink func([]meter.Read)
	Log  *slog.Logger

	mu      sync.Mutex
	running bool
	again   bool
	latest  gdw3761.EC
	mem     map[bool]uint8
	recent  []meter.Read // the last MaxRecent handed on
	wg      sync.WaitGroup
	// reading is held while records are read and handed on, so that a
	// report and a read never hand on the same records
	reading sync.Mutex
}

// MaxRecent is how many of the event reads it handed on Events keeps for
// [Events.Recent].
const MaxRecent = 64

// Recent returns the event reads handed on since the watcher began
// (the last MaxRecent), oldest first.
func (w *Events) Recent() []meter.Read {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]meter.Read(nil), w.recent...)
}

// handOn gives rs to Sink and keeps them for Recent.
func (w *Events) handOn(rs []meter.Read) {
	if len(rs) == 0 {
		return
	}
	if w.Sink != nil {
		w.Sink(rs)
	}
	w.mu.Lock()
	w.recent = append(w.recent, rs...)
	if n := len(w.recent) - MaxRecent; n > 0 {
		w.recent = append(w.recent[:0], w.recent[n:]...)
	}
	w.mu.Unlock()
}

func (w *Events) id() string { return w.Reader.Session.ID() }

func (w *Events) points() []Point {
	if w.Points == nil {
		return nil
	}
	return w.Points()
}

func (w *Events) next(log EventLog) (uint8, bool) {
	if w.Pointers != nil {
		return w.Pointers.Next(w.id(), ledgerLog(log))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	n, ok := w.mem[log.Important]
	return n, ok
}

func (w *Events) setNext(log EventLog, n uint8) error {
	if w.Pointers != nil {
		return w.Pointers.Set(w.id(), ledgerLog(log), n)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mem == nil {
		w.mem = map[bool]uint8{}
	}
	w.mem[log.Important] = n
	return nil
}

func ledgerLog(l EventLog) ledger.EventLog {
	if l.Important {
		return ledger.Important
	}
	return ledger.Normal
}

// Seen is told the counters of an uplink frame. It does not block: when
// a log has records past its pointer, a read starts in the background
// (one at a time; counters seen meanwhile are read after it).
func (w *Events) Seen(ctx context.Context, ec gdw3761.EC) {
	if ctx.Err() != nil {
		return // stopping: Wait may be waiting
	}
	w.mu.Lock()
	w.latest = ec
	if w.running {
		w.again = true
		w.mu.Unlock()
		return
	}
	w.running = true
	w.wg.Add(1)
	w.mu.Unlock()
	go func() {
		defer w.wg.Done()
		for {
			w.mu.Lock()
			ec := w.latest
			w.mu.Unlock()
			if _, err := w.ReadUpTo(ctx, ec); err != nil && w.Log != nil {
				w.Log.Warn("terminal events not read: read again at the next counters", "terminal", w.id(), "err", err)
			}
			w.mu.Lock()
			if !w.again || ctx.Err() != nil {
				w.running = false
				w.mu.Unlock()
				return
			}
			w.again = false
			w.mu.Unlock()
		}
	}()
}

// Wait waits for the background reads Seen started.
func (w *Events) Wait() { w.wg.Wait() }

// ReadUpTo reads both logs from their pointers up to the counters ec (and
// on, while the replies' counters move), returning the reads it handed
// to Sink.
func (w *Events) ReadUpTo(ctx context.Context, ec gdw3761.EC) ([]meter.Read, error) {
	var all []meter.Read
	for _, log := range []EventLog{{Important: true}, {Important: false}} {
		rs, err := w.readLog(ctx, log, log.counter(ec))
		all = append(all, rs...)
		if err != nil {
			return all, err
		}
	}
	return all, nil
}

// ReadNow asks the terminal for its counters (an AFN 0E F1 of no record
// from the pointer) and reads what is new in both logs.
func (w *Events) ReadNow(ctx context.Context) ([]meter.Read, error) {
	log := EventLog{Important: true}
	p, _ := w.next(log)
	b, err := w.Reader.ReadEvents(ctx, log, p, p, nil, w.Self)
	if err != nil {
		return nil, err
	}
	return w.ReadUpTo(ctx, b.EC)
}

func (w *Events) readLog(ctx context.Context, log EventLog, target uint8) ([]meter.Read, error) {
	w.reading.Lock()
	defer w.reading.Unlock()
	var all []meter.Read
	next, _ := w.next(log)
	for range 256/MaxEvents + 2 { // a counter running on while we read is caught up, within bounds
		n := recordsBetween(next, target)
		if n == 0 {
			return all, nil
		}
		pn := next + uint8(min(n, MaxEvents))
		b, err := w.Reader.ReadEvents(ctx, log, next, pn, w.points(), w.Self)
		if err != nil {
			return all, err
		}
		if b.Pm != next {
			return all, fmt.Errorf("terminal %s %s events: asked from record %d, sent from %d", w.id(), log, next, b.Pm)
		}
		if b.Pn == next {
			// the terminal holds none of them any more (overwritten on its
			// ring): nothing left to read up to its counter
			b.Pn = log.counter(b.EC)
			if w.Log != nil {
				w.Log.Warn("terminal events no longer held: skipped", "terminal", w.id(), "log", log.String(), "from", next, "to", b.Pn)
			}
		}
		w.handOn(b.Reads)
		all = append(all, b.Reads...)
		if err := w.setNext(log, b.Pn); err != nil {
			return all, err
		}
		next, target = b.Pn, log.counter(b.EC)
	}
	return all, nil
}

// Reported takes an AFN 0E frame the terminal sent by itself (PRM set):
// records that follow on from the pointer are handed on and move it; a
// report after a gap leaves the gap to the next read by the counters.
func (w *Events) Reported(ctx context.Context, f *gdw3761.Frame) error {
	ref := meter.FrameRef{Tries: 1}
	raw, _ := f.MarshalBinary()
	ref.Reply = [][]byte{raw}
	for _, log := range []EventLog{{Important: true}, {Important: false}} {
		b, err := w.Reader.eventsOf([]gdw3761.Frame{*f}, log, ref, w.points(), w.Self)
		if err != nil {
			continue // not this log's
		}
		// never wait here: a read in progress waits for its reply on
		// this goroutine; it, or the read after it, takes these records
		if !w.reading.TryLock() {
			w.Seen(ctx, b.EC)
			continue
		}
		next, _ := w.next(log)
		if b.Pm != next {
			w.reading.Unlock()
			w.Seen(ctx, b.EC)
			continue
		}
		w.handOn(b.Reads)
		err = w.setNext(log, b.Pn)
		w.reading.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

func recordsBetween(from, to uint8) int { return int(to - from) }
