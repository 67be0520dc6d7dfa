package fieldops

import (
	"context"
	"fmt"
	"slices"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector"
	"github.com/headend/headend/collector/terminal"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/gdw3761"
)

// The concentrator configuration metering staff do through the running
// collector's 376.1 listener: the meter archive (AFN 04 F10 push, AFN 0A
// F10 read-back and its diff with the head-end's archive) and the clock
// (AFN 0C F2, AFN 05 F31). The PW field is 16 zero bytes: the
// configuration has no terminal password key yet.

// ArchivePort is the terminal port the archive's meters are on in a
// terminal's meter archive (port 1 is the terminal's own AC sampling,
// port 2 the first RS-485 meter bus).
const ArchivePort = 2

// TerminalEntries builds the meter archive terminal id should hold from
// the head-end's archive: every meter with a measuring point on the
// terminal's gdw3761 channels, by point (entry serial = point number),
// on ArchivePort at the channel's baud (none: 0, the port's default), protocol 1 for DL/T
// 645-1997 and 30 for 2007, 4 tariffs, 6 integer and 2 decimal digits,
// user class 0. Meters without a point (read by forwarding only) are
// left out.
func TerminalEntries(ix *archive.Index, id string) ([]gdw3761.MeterEntry, error) {
	chs := terminalChannels(ix, id)
	if len(chs) == 0 {
		return nil, fmt.Errorf("%w: terminal %q is on no gdw3761 channel of the archive", ErrUnknownChannel, id)
	}
	var out []gdw3761.MeterEntry
	for _, ch := range chs {
		baud := ch.Baud // 0: the port's default
		if _, err := gdw3761.BaudCode(baud); err != nil && baud != 0 {
			return nil, fmt.Errorf("channel %s: baud %d: %w", ch.ID, baud, err)
		}
		for _, m := range ix.MetersOnChannel(ch.ID) {
			if m.Point <= 0 {
				continue
			}
			if m.Point > 2040 {
				return nil, fmt.Errorf("meter %s: point %d: a terminal has points 1..2040", m.Address, m.Point)
			}
			addr, err := dlt645.ParseAddress(m.Address)
			if err != nil {
				return nil, fmt.Errorf("meter %s: %w", m.Address, err)
			}
			proto := uint8(gdw3761.MeterDLT2007)
			switch ed, ok := m.Edition.DLT645(); {
			case !ok:
				return nil, fmt.Errorf("%w: meter %s on terminal %s is read over Modbus", ErrUnsupported, m.Address, id)
			case ed == dlt645.DLT1997:
				proto = gdw3761.MeterDLT1997
			}
			out = append(out, gdw3761.MeterEntry{Serial: uint16(m.Point), Point: uint16(m.Point), Port: ArchivePort,
				Baud: baud, Protocol: proto, Address: addr, Tariffs: 4, IntDigits: 6, DecDigits: 2})
		}
	}
	slices.SortFunc(out, func(a, b gdw3761.MeterEntry) int { return int(a.Point) - int(b.Point) })
	for i := 1; i < len(out); i++ {
		if out[i].Point == out[i-1].Point {
			return nil, fmt.Errorf("terminal %s: point %d is given to meters %s and %s", id, out[i].Point, out[i-1].Address, out[i].Address)
		}
	}
	return out, nil
}

// terminalChannels are the gdw3761 channels of terminal id.
func terminalChannels(ix *archive.Index, id string) []*archive.Channel {
	want, err := gdw3761.ParseAddress(id)
	if err != nil {
		return nil
	}
	var out []*archive.Channel
	a := ix.Archive()
	for i := range a.Channels {
		ch := &a.Channels[i]
		if ch.Kind != archive.KindGDW3761 {
			continue
		}
		if ta, err := gdw3761.ParseAddress(ch.Terminal); err == nil && ta.String() == want.String() {
			out = append(out, ch)
		}
	}
	return out
}

// terminalPW is the PW field of the commands that carry one: 16 zero
// bytes, the configuration having no terminal password yet. Never logged.
func (d *Daemon) terminalPW() [16]byte { return [16]byte{} }

// terminal finds terminal id's session on the running collector.
func (d *Daemon) terminal(id string) (*terminal.Session, *archive.Index, error) {
	if _, err := gdw3761.ParseAddress(id); err != nil {
		return nil, nil, badParam("terminal", "%q: want the area code and terminal address, e.g. \"4401 0001\"", id)
	}
	c, ix, err := d.current()
	if err != nil {
		return nil, nil, err
	}
	if len(terminalChannels(ix, id)) == 0 {
		return nil, nil, fmt.Errorf("%w: terminal %q is on no gdw3761 channel of the archive", ErrUnknownChannel, id)
	}
	l := c.Terminals()
	if l == nil {
		return nil, nil, fmt.Errorf("%w: no 376.1 listener (collector.gdw3761_listen)", ErrUnavailable)
	}
	s, ok := l.Terminal(id)
	if !ok {
		return nil, nil, fmt.Errorf("%w: terminal %q is not known to the listener", ErrUnknownChannel, id)
	}
	return s, ix, nil
}

// TerminalStatus is the collector's terminals, sorted by id.
func (d *Daemon) TerminalStatus(context.Context) ([]terminal.Status, error) {
	c, _, err := d.current()
	if err != nil {
		return nil, err
	}
	return collectorTerminals(c), nil
}

func collectorTerminals(c *collector.Collector) []terminal.Status {
	st := c.Status()
	if st.Terminals == nil {
		return []terminal.Status{}
	}
	return st.Terminals
}

// TerminalArchiveDiff reads terminal id's meter archive back (AFN 0A
// F10) and compares it with the head-end's. It reads the serials the
// head-end's archive gives and the DefaultArchiveChunk after the last
// of them, so that entries beyond the archive's end show too.
func (d *Daemon) TerminalArchiveDiff(ctx context.Context, id string) (*ArchiveDiff, error) {
	s, ix, err := d.terminal(id)
	if err != nil {
		return nil, err
	}
	want, err := TerminalEntries(ix, id)
	if err != nil {
		return nil, err
	}
	got, err := PullArchive(ctx, s, s.Address(), archiveSerials(want), 0)
	if err != nil {
		return nil, err
	}
	diff := DiffArchive(s.ID(), want, got)
	return &diff, nil
}

// ArchivePush is what an archive push did.
type ArchivePush struct {
	Terminal  string        `json:"terminal"`
	Entries   int           `json:"entries"`   // the head-end's archive for the terminal
	Confirmed int           `json:"confirmed"` // entries the terminal confirmed
	Diff      *ArchiveDiff  `json:"-"`
	After     string        `json:"after,omitempty"` // the read-back's diff, for a person
	Agrees    bool          `json:"agrees"`
	Points    []PointReport `json:"points,omitempty"` // what still differs after the push
}

// PointReport is one point of a diff in JSON.
type PointReport struct {
	Point  uint16   `json:"point"`
	Fields []string `json:"fields"`
}

// TerminalArchivePush downloads the head-end's archive for terminal id
// into it (AFN 04 F10), then reads it back and diffs. Audited as
// terminal.archive.push; the PW is never recorded.
func (d *Daemon) TerminalArchivePush(ctx context.Context, id string) (res *ArchivePush, err error) {
	s, ix, err := d.terminal(id)
	if err != nil {
		return nil, err
	}
	want, err := TerminalEntries(ix, id)
	if err != nil {
		return nil, err
	}
	const action = "terminal.archive.push"
	detail := map[string]any{"entries": len(want)}
	defer func() {
		dd := map[string]any{"entries": len(want)}
		if res != nil {
			dd["confirmed"] = res.Confirmed
			dd["agrees"] = res.Agrees
		}
		d.audit(ctx, action, s.ID(), dd, err)
	}()
	if err := d.guard(ctx, action, s.ID(), detail); err != nil {
		return nil, err
	}
	n, err := PushArchive(ctx, s, s.Address(), d.terminalPW(), want, 0)
	res = &ArchivePush{Terminal: s.ID(), Entries: len(want), Confirmed: n}
	if err != nil {
		return res, err
	}
	diff, err := d.TerminalArchiveDiff(ctx, id)
	if err != nil {
		return res, fmt.Errorf("reading the archive back: %w", err)
	}
	res.Diff, res.After, res.Agrees = diff, diff.String(), diff.Agrees()
	res.Points = pointReports(diff)
	return res, nil
}

func pointReports(d *ArchiveDiff) []PointReport {
	var out []PointReport
	for _, p := range d.Points {
		out = append(out, PointReport{Point: p.Point, Fields: p.Fields})
	}
	return out
}

// TerminalTime reads terminal id's clock (AFN 0C F2).
func (d *Daemon) TerminalTime(ctx context.Context, id string) (*TerminalClock, error) {
	s, _, err := d.terminal(id)
	if err != nil {
		return nil, err
	}
	return ReadTerminalClock(ctx, s, s.ID(), s.Address(), d.now, d.loc())
}

// SetTerminalTime sets terminal id's clock to the head-end's (AFN 05
// F31) under SetTerminalClock's rules, force lifting the tolerance and
// the correction limit. Audited as terminal.time.set.
func (d *Daemon) SetTerminalTime(ctx context.Context, id string, force bool) (res *TerminalClockSet, err error) {
	s, _, err := d.terminal(id)
	if err != nil {
		return nil, err
	}
	const action = "terminal.time.set"
	detail := map[string]any{"force": force}
	defer func() {
		dd := map[string]any{"force": force}
		if res != nil {
			dd["before_error_s"] = res.Before.ErrorSeconds
			dd["set"] = res.Set
			if res.After != nil {
				dd["after_error_s"] = res.After.ErrorSeconds
			}
		}
		d.audit(ctx, action, s.ID(), dd, err)
	}()
	if err := d.guard(ctx, action, s.ID(), detail); err != nil {
		return nil, err
	}
	return SetTerminalClock(ctx, s, s.ID(), s.Address(), d.terminalPW(), d.now, d.loc(), d.ClockTolerance, 0, force)
}

// ArchiveEntry is one entry of a terminal's meter archive as a person
// reads it; the meter password it holds is never shown.
type ArchiveEntry struct {
	Serial    uint16 `json:"serial"`
	Point     uint16 `json:"point"`
	Port      uint8  `json:"port"`
	Baud      int    `json:"baud"`     // 0: the port's default
	Protocol  uint8  `json:"protocol"` // 1 DL/T 645-1997, 30 DL/T 645-2007
	Meter     string `json:"meter"`
	Tariffs   uint8  `json:"tariffs"`
	Collector string `json:"collector,omitempty"`
	Class     uint8  `json:"class"`
	Subclass  uint8  `json:"subclass"`
}

// TerminalArchivePull reads terminal id's meter archive back (AFN 0A
// F10): the serials the head-end's archive gives and the
// DefaultArchiveChunk after them, as TerminalArchiveDiff does.
func (d *Daemon) TerminalArchivePull(ctx context.Context, id string) ([]ArchiveEntry, error) {
	s, ix, err := d.terminal(id)
	if err != nil {
		return nil, err
	}
	want, err := TerminalEntries(ix, id)
	if err != nil {
		return nil, err
	}
	got, err := PullArchive(ctx, s, s.Address(), archiveSerials(want), 0)
	if err != nil {
		return nil, err
	}
	out := make([]ArchiveEntry, 0, len(got))
	for _, e := range got {
		ae := ArchiveEntry{Serial: e.Serial, Point: e.Point, Port: e.Port, Baud: e.Baud, Protocol: e.Protocol,
			Meter: e.Address.String(), Tariffs: e.Tariffs, Class: e.Class, Subclass: e.Subclass}
		if e.Collector != (gdw3761.MeterAddress{}) {
			ae.Collector = e.Collector.String()
		}
		out = append(out, ae)
	}
	return out, nil
}

// archiveSerials are the entry serials to read back for want: its own and
// the DefaultArchiveChunk after the last.
func archiveSerials(want []gdw3761.MeterEntry) []uint16 {
	var serials []uint16
	last := uint16(0)
	for _, e := range want {
		serials = append(serials, e.Serial)
		last = max(last, e.Serial)
	}
	for n := last + 1; n <= min(last+DefaultArchiveChunk, 2040); n++ {
		serials = append(serials, n)
	}
	return serials
}
