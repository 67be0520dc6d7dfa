package fieldops

import (
	"context"
	"fmt"
	"time"

	"github.com/headend/headend/collector/terminal"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// TerminalReading is one measuring point's data as its terminal holds
// it: its current data (AFN 0C F25, F129, F131) or one day's freezes
// (AFN 0D F161, F163), named as the DL/T 645-2007 reads of the same
// registers, like an on-demand read of the meter.
type TerminalReading struct {
	Terminal string `json:"terminal"`
	Point    int    `json:"point"`
	Data     string `json:"data"`           // "current" or "frozen"
	Date     string `json:"date,omitempty"` // the frozen day, 2006-01-02
	Reading
}

// The data a terminal read asks for.
const (
	PointCurrent = "current"
	PointFrozen  = "frozen"
)

// TerminalRead reads measuring point pn (1..2040) of terminal id on
// demand: data PointCurrent, or PointFrozen for the day of date (zero:
// yesterday in the head-end's zone). The point need not be in the
// archive; when a meter of the terminal's channels has it, the reading
// names the meter, its channel and area.
func (d *Daemon) TerminalRead(ctx context.Context, id string, pn int, data string, date time.Time) (*TerminalReading, error) {
	if pn < 1 || pn > 2040 {
		return nil, badParam("point", "%d: a terminal has measuring points 1..2040", pn)
	}
	if data != PointCurrent && data != PointFrozen {
		return nil, badParam("data", "%q: want %q (AFN 0C) or %q (AFN 0D)", data, PointCurrent, PointFrozen)
	}
	s, ix, err := d.terminal(id)
	if err != nil {
		return nil, err
	}
	p := terminal.Point{Pn: uint16(pn)}
	for _, ch := range terminalChannels(ix, id) {
		for _, m := range ix.MetersOnChannel(ch.ID) {
			if m.Point == pn {
				p.Meter, p.Area, p.Channel = m.Address, m.Area, ch.ID
			}
		}
	}
	r := &terminal.Reader{Session: s, Location: d.loc(), Now: d.now}
	out := &TerminalReading{Terminal: s.ID(), Point: pn, Data: data,
		Reading: Reading{Meter: p.Meter, Edition: dlt645.DLT2007, Channel: p.Channel, Area: p.Area, Values: []Value{}}}
	var reads []meter.Read
	if data == PointCurrent {
		reads, _, err = r.ReadCurrent(ctx, []terminal.Point{p})
	} else {
		if date.IsZero() {
			date = d.now().In(d.loc()).AddDate(0, 0, -1)
		}
		date = time.Date(date.Year(), date.Month(), date.Day(), 0, 0, 0, 0, d.loc())
		out.Date = date.Format(time.DateOnly)
		reads, _, err = r.ReadDaily(ctx, date, []terminal.Point{p})
	}
	if err != nil {
		return nil, fmt.Errorf("terminal %s p%d %s data: %w", s.ID(), pn, data, err)
	}
	for i := range reads {
		out.Values = append(out.Values, valueOf(dlt645.DLT2007, &reads[i]))
		out.At = reads[i].ReadAt
	}
	return out, nil
}
