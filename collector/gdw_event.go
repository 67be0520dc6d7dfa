package collector

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector/ledger"
	"github.com/headend/headend/collector/terminal"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/gdw3761"
)

// Q/GDW 1376.1 terminals' events: each terminal's logs are read when its
// counters move (terminal.Events), from the pointers kept in the
// collector's state file, and the records are handed on as reads of
// class event, filed under the point's meter or, for the terminal's own
// events, under its area meter.

// gdwEvents are the terminals' event watchers.
type gdwEvents struct {
	mu       sync.Mutex
	pointers *ledger.Pointers
	byID     map[string]*terminal.Events
}

// openEventPointers opens the event pointers in the collector's state
// file and closes them when ctx ends.
func (c *Collector) openEventPointers(ctx context.Context) error {
	p, err := ledger.OpenPointers(filepath.Join(c.config().Collector.DataDir, "collector-state.db"))
	if err != nil {
		return err
	}
	c.gdwEv.mu.Lock()
	c.gdwEv.pointers = p
	c.gdwEv.mu.Unlock()
	go func() {
		<-ctx.Done()
		c.gdwEv.mu.Lock()
		ws := make([]*terminal.Events, 0, len(c.gdwEv.byID))
		for _, w := range c.gdwEv.byID {
			ws = append(ws, w)
		}
		c.gdwEv.mu.Unlock()
		for _, w := range ws {
			w.Wait()
		}
		p.Close()
	}()
	return nil
}

// terminalEvents returns the event watcher of terminal id.
func (c *Collector) terminalEvents(id string) (*terminal.Events, error) {
	ch, ok := c.terminalOf(id)
	if !ok {
		return nil, fmt.Errorf("terminal %q: not on a gdw3761 channel of the archive", id)
	}
	s, err := c.terminalSession(ch)
	if err != nil {
		return nil, err
	}
	c.gdwEv.mu.Lock()
	defer c.gdwEv.mu.Unlock()
	if w, ok := c.gdwEv.byID[s.ID()]; ok {
		return w, nil
	}
	chID := ch.ID
	w := &terminal.Events{
		Reader:   &terminal.Reader{Session: s, Location: c.config().Collector.Location(), Now: c.opts.Clock.Now},
		Pointers: c.gdwEv.pointers,
		Points:   func() []terminal.Point { return c.terminalPoints(chID) },
		Self:     c.terminalSelf(ch),
		Sink: func(rs []meter.Read) {
			if c.opts.Sink != nil {
				c.opts.Sink(rs)
			}
		},
		Log: c.log.With("terminal", s.ID()),
	}
	if c.gdwEv.byID == nil {
		c.gdwEv.byID = map[string]*terminal.Events{}
	}
	c.gdwEv.byID[s.ID()] = w
	return w, nil
}

// terminalSelf is whom a terminal's own events are filed under: the area
// meter among its channel's meters, else the first of them.
func (c *Collector) terminalSelf(ch *archive.Channel) terminal.Point {
	ms := c.index().MetersOnChannel(ch.ID)
	for _, m := range ms {
		if m.Role == archive.RoleArea {
			return terminal.Point{Pn: uint16(m.Point), Meter: m.Address, Area: m.Area, Channel: ch.ID}
		}
	}
	if len(ms) > 0 {
		return terminal.Point{Pn: uint16(ms[0].Point), Meter: ms[0].Address, Area: ms[0].Area, Channel: ch.ID}
	}
	return terminal.Point{Channel: ch.ID}
}

func (c *Collector) terminalEventsSeen(ctx context.Context, id string, ec gdw3761.EC) {
	w, err := c.terminalEvents(id)
	if err != nil {
		c.log.Warn("terminal events", "terminal", id, "err", err)
		return
	}
	w.Seen(ctx, ec)
}

// terminalReport takes a frame a terminal sent by itself: events (AFN 0E)
// are read into reads; anything else is logged.
func (c *Collector) terminalReport(ctx context.Context, id string, f *gdw3761.Frame) {
	if f.AFN != gdw3761.AFNClass3 {
		c.log.Info("terminal report", "terminal", id, "afn", f.AFN.String(), "ec1", f.EC.Important, "ec2", f.EC.Normal)
		return
	}
	w, err := c.terminalEvents(id)
	if err == nil {
		err = w.Reported(ctx, f)
	}
	if err != nil {
		c.log.Warn("terminal event report not taken", "terminal", id, "err", err)
	}
}

// ReadTerminalEvents reads terminal id's new event records now (asking
// it for its counters) and returns them; they are handed on as the
// counters' reads are.
func (c *Collector) ReadTerminalEvents(ctx context.Context, id string) ([]meter.Read, error) {
	w, err := c.terminalEvents(id)
	if err != nil {
		return nil, err
	}
	return w.ReadNow(ctx)
}

// TerminalEventsRead returns the event reads of terminal id handed on
// since the collector began (the last terminal.MaxRecent), oldest first.
func (c *Collector) TerminalEventsRead(id string) ([]meter.Read, error) {
	w, err := c.terminalEvents(id)
	if err != nil {
		return nil, err
	}
	return w.Recent(), nil
}
