package fieldops

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/headend/headend/collector/terminal"
	"github.com/headend/headend/meter"
)

// TerminalEvent is one event record a terminal kept, as the head-end read
// it (AFN 0E F1/F2) or the terminal reported it, with the 376.1 frames
// it came in.
type TerminalEvent struct {
	Meter    string    `json:"meter"` // the point's meter; the terminal's area meter for its own events
	Area     string    `json:"area,omitempty"`
	ERC      int       `json:"erc"`
	Event    string    `json:"event"`            // the read's quantity, "event ERC37 meter cover opened"
	Began    bool      `json:"began"`            // false: the record says the condition ended
	At       time.Time `json:"at,omitzero"`      // the terminal's time of the event
	ReadAt   time.Time `json:"read_at"`          // when the head-end got it
	Detail   string    `json:"detail,omitempty"` // its log and number, and what it says
	Request  string    `json:"request,omitempty"`
	Reply    []string  `json:"reply,omitempty"` // hex frames
	Terminal string    `json:"terminal"`
}

// TerminalEvents is a terminal's event records read so far.
type TerminalEvents struct {
	Terminal string          `json:"terminal"`
	Read     int             `json:"read"` // how many of them this call read
	Events   []TerminalEvent `json:"events"`
}

// TerminalEvents returns the event records of terminal id the collector
// has read since it began; with now, it first asks the terminal for its
// counters and reads what is new (handed on to the store as the
// counters' reads are).
func (d *Daemon) TerminalEvents(ctx context.Context, id string, now bool) (*TerminalEvents, error) {
	s, _, err := d.terminal(id)
	if err != nil {
		return nil, err
	}
	c, _, err := d.current()
	if err != nil {
		return nil, err
	}
	out := &TerminalEvents{Terminal: s.ID(), Events: []TerminalEvent{}}
	if now {
		rs, err := c.ReadTerminalEvents(ctx, s.ID())
		out.Read = len(rs)
		if err != nil {
			return nil, err
		}
	}
	rs, err := c.TerminalEventsRead(s.ID())
	if err != nil {
		return nil, err
	}
	for i := range rs {
		out.Events = append(out.Events, eventOf(s.ID(), &rs[i]))
	}
	return out, nil
}

func eventOf(id string, r *meter.Read) TerminalEvent {
	erc, _ := terminal.EventERC(r.Quantity)
	e := TerminalEvent{Terminal: id, Meter: r.Meter, Area: r.Area, ERC: int(erc), Event: r.Quantity, Began: r.Value.Units != 0,
		At: r.MeterTime, ReadAt: r.ReadAt, Detail: r.Text}
	if len(r.Frame.Request) > 0 {
		e.Request = hex.EncodeToString(r.Frame.Request)
	}
	for _, b := range r.Frame.Reply {
		e.Reply = append(e.Reply, hex.EncodeToString(b))
	}
	return e
}
