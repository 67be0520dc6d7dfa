package collector

// Dialled-in links (dialin and gdw3761 channels) under shared channels:
// the field end dials whichever head-end the network sends it to, so the
// node that should poll such a channel is the one holding its link. A
// LinkWatcher hears when a link arrived or went; LinkUp and HangUp let it
// ask and act (daemon/cluster_dialin.go).

import (
	"errors"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/protocol/gdw3761"
)

// LinkWatcher is told when the link of a channel whose field end dials in
// (kinds dialin and gdw3761) may have come up or gone down at this
// collector, whether or not the collector polls the channel. It runs on
// the link's goroutine and must not block; ask LinkUp for the state.
type LinkWatcher interface {
	LinkChanged(channel string)
}

// ErrNewerLinkElsewhere is why HangUp closes a link: the field end has a
// newer one to another head-end.
var ErrNewerLinkElsewhere = errors.New("a newer link of this concentrator is held by another head-end")

// Dialled reports whether channel is one whose field end dials in.
func Dialled(ch *archive.Channel) bool {
	return ch.Kind == archive.KindDialIn || ch.Kind == archive.KindGDW3761
}

// LinkUp reports whether the field end of dial-in channel is connected
// to this collector now; false for any other channel.
func (c *Collector) LinkUp(channel string) bool {
	ch, ok := c.index().Channel(channel)
	if !ok {
		return false
	}
	switch ch.Kind {
	case archive.KindDialIn:
		c.mu.Lock()
		l := c.dialin
		c.mu.Unlock()
		return l != nil && l.Connected(ch.DialInID)
	case archive.KindGDW3761:
		g := c.Terminals()
		if g == nil {
			return false
		}
		s, ok := g.Terminal(ch.Terminal)
		return ok && s.Status().Online
	}
	return false
}

// HangUp closes the connection of dial-in channel's field end to this
// collector, if it has one, for why; the field end may dial again.
func (c *Collector) HangUp(channel string, why error) {
	ch, ok := c.index().Channel(channel)
	if !ok {
		return
	}
	switch ch.Kind {
	case archive.KindDialIn:
		c.mu.Lock()
		l := c.dialin
		c.mu.Unlock()
		if l != nil {
			l.HangUp(ch.DialInID, why)
		}
	case archive.KindGDW3761:
		if g := c.Terminals(); g != nil {
			if s, ok := g.Terminal(ch.Terminal); ok {
				s.HangUp(why)
			}
		}
	}
}

// dialInChanged tells the LinkWatcher of a DTU's connection event.
func (c *Collector) dialInChanged(e link.DialInEvent) {
	w := c.opts.Links
	if w == nil || e.Kind == link.EventHeartbeat || e.ID == "" {
		return
	}
	for _, ch := range c.config().Archive.Channels {
		if ch.Kind == archive.KindDialIn && ch.DialInID == e.ID {
			w.LinkChanged(ch.ID)
		}
	}
}

// terminalChanged tells the LinkWatcher of a terminal's login or loss.
func (c *Collector) terminalChanged(id string) {
	w := c.opts.Links
	if w == nil || id == "" {
		return
	}
	a, err := gdw3761.ParseAddress(id)
	if err != nil {
		return
	}
	if ch, ok := c.terminalOf(a.String()); ok {
		w.LinkChanged(ch.ID)
	}
}
