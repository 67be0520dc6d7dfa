package collector

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/collector/terminal"
	"github.com/headend/headend/protocol/gdw3761"
)

// Q/GDW 1376.1 terminals (gdw3761 channels): a listener on
// collector.gdw3761_listen logs them in; a channel in forward mode is a
// link carrying the 645 frames by AFN 10, one in current or frozen mode
// reads the terminal's own data for all its points at once
// (terminal.Protocol), forwarding the rest.

// terminalOf returns the gdw3761 channel of terminal id, if any.
func (c *Collector) terminalOf(id string) (*archive.Channel, bool) {
	a := c.config().Archive
	for i := range a.Channels {
		ch := &a.Channels[i]
		if ch.Kind != archive.KindGDW3761 {
			continue
		}
		if ta, err := gdw3761.ParseAddress(ch.Terminal); err == nil && ta.String() == id {
			return ch, true
		}
	}
	return nil, false
}

func (c *Collector) hasTerminals() bool {
	for _, ch := range c.config().Archive.Channels {
		if ch.Kind == archive.KindGDW3761 {
			return true
		}
	}
	return false
}

// listenTerminals listens on collector.gdw3761_listen when the archive
// has gdw3761 channels.
func (c *Collector) listenTerminals(ctx context.Context) error {
	if !c.hasTerminals() {
		return nil
	}
	addr := c.config().Collector.GDW3761Listen
	if addr == "" {
		return fmt.Errorf("collector.gdw3761_listen: must be set for the gdw3761 channels")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("collector.gdw3761_listen %s: %w", addr, err)
	}
	if err := c.openEventPointers(ctx); err != nil {
		c.log.Warn("terminal event pointers not opened: kept in memory, events read again after a restart", "err", err)
	}
	l := terminal.Listen(ctx, ln, terminal.Config{
		Known: func(id string) (time.Duration, bool) {
			ch, ok := c.terminalOf(id)
			if !ok {
				return 0, false
			}
			return ch.Heartbeat, true
		},
		// events: read on the counters, and taken when reported (gdw_event.go)
		OnEC:     func(id string, ec gdw3761.EC) { c.terminalEventsSeen(ctx, id, ec) },
		OnUplink: func(id string, f *gdw3761.Frame) { c.terminalReport(ctx, id, f) },
		OnEvent:  func(e terminal.Event) { c.terminalChanged(e.ID) },
		Now:      c.opts.Clock.Now, Location: c.config().Collector.Location(),
		Logger: c.log.With("listener", ln.Addr().String())})
	c.mu.Lock()
	c.gdw = l
	c.mu.Unlock()
	c.log.Info("listening for Q/GDW 1376.1 terminals", "address", ln.Addr().String())
	return nil
}

// Terminals returns the 376.1 listener, nil when the archive has no
// gdw3761 channel or Run has not opened it.
func (c *Collector) Terminals() *terminal.Listener {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gdw
}

func (c *Collector) terminalSession(ch *archive.Channel) (*terminal.Session, error) {
	g := c.Terminals()
	if g == nil {
		return nil, fmt.Errorf("no collector.gdw3761_listen listener")
	}
	s, ok := g.Terminal(ch.Terminal)
	if !ok {
		return nil, fmt.Errorf("terminal %q: not a known terminal address", ch.Terminal)
	}
	return s, nil
}

// terminalLink is the AFN 10 forwarding link of a gdw3761 channel.
func (c *Collector) terminalLink(ch *archive.Channel) (link.Link, error) {
	s, err := c.terminalSession(ch)
	if err != nil {
		return nil, err
	}
	return &terminal.Link{Session: s, FrameTimeout: ch.Timeout}, nil
}

// terminalProtocol puts the terminal's own data in front of forwarding
// for a gdw3761 channel in current or frozen mode; other channels keep
// proto.
func (c *Collector) terminalProtocol(ch *archive.Channel, proto poll.Protocol) poll.Protocol {
	if ch.Kind != archive.KindGDW3761 || ch.TerminalMode() == archive.ModeForward {
		return proto
	}
	s, err := c.terminalSession(ch)
	if err != nil {
		return proto
	}
	id := ch.ID
	return &terminal.Protocol{Reader: &terminal.Reader{Session: s, Location: c.config().Collector.Location(), Now: c.opts.Clock.Now},
		Mode: ch.TerminalMode(), Forward: proto, Points: func() []terminal.Point { return c.terminalPoints(id) }}
}

// terminalPoints are the measuring points of the meters on channel id.
func (c *Collector) terminalPoints(id string) []terminal.Point {
	var out []terminal.Point
	for _, m := range c.index().MetersOnChannel(id) {
		// a 1997 meter's reads are named in 1997 DIs: forwarded (AFN 10),
		// so its points are not asked for
		if m.Point > 0 && m.Edition != archive.Edition1997 {
			out = append(out, terminal.Point{Pn: uint16(m.Point), Meter: m.Address, Area: m.Area, Channel: id})
		}
	}
	return out
}

// terminalStatus adds the terminals to s, sorted by id.
func (c *Collector) terminalStatus(s *Status) {
	g := c.Terminals()
	if g == nil {
		return
	}
	s.Terminals = g.Statuses()
	slices.SortFunc(s.Terminals, func(a, b terminal.Status) int { return strings.Compare(a.ID, b.ID) })
	st := g.Stats()
	s.TerminalCounts = &st
}

// handOverBatches hands on, once the buses have stopped, what the 376.1
// terminals' freeze batches hold that no meter's task asked for yet (see
// terminal.Protocol.Unserved): read from the terminal, they are as good
// as any task's reads, and they go the same way (stamped, stored, marked
// held in the freeze ledger).
func (c *Collector) handOverBatches() {
	n := 0
	for _, ch := range c.channelList() {
		fi, ok := ch.proto.(freezeIndex)
		if !ok {
			continue
		}
		tp, ok := fi.Protocol.(*terminal.Protocol)
		if !ok {
			continue
		}
		for _, reads := range tp.Unserved() {
			c.sink(reads)
			n += len(reads)
		}
	}
	if n > 0 {
		c.log.Info("stopping: handed on the concentrators' freezes read for meters not yet asked", "reads", n)
	}
}
