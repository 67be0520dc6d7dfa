package terminal

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/gdw3761"
)

// An event record becomes a meter.Read of class meter.Event, so that it
// is stored, traced and queried as every other read is (with the 376.1
// frames it came in, in Frame): Quantity "event ERC37 meter cover
// opened" ([EventQuantity]), Value 1 when the event began (or simply
// happened) and 0 when it ended, MeterTime the terminal's time of the
// event, Text the record's number in its log and what it says. A record
// with a measuring point is filed under that point's meter; a terminal's
// own (ERC14 power off/on, and points the archive does not hold) under
// the meter the collector names for the terminal; ERC35 under each
// meter it found, with the terminal's area.

// ercNames are the ERCs' names in the quantities.
var ercNames = map[uint8]string{
	gdw3761.ERCInit: "data initialisation", 2: "parameters lost", gdw3761.ERCParamChange: "parameter change",
	gdw3761.ERCMeterParam: "meter parameter change", gdw3761.ERCCurrentLoop: "current loop anomaly",
	gdw3761.ERCVoltageLoop: "voltage loop anomaly", 11: "phase sequence anomaly", gdw3761.ERCMeterClock: "meter clock out of tolerance",
	gdw3761.ERCMeterFault: "meter fault", gdw3761.ERCPowerOnOff: "terminal power off/on", 21: "terminal fault",
	24: "voltage out of limits", 25: "current out of limits", gdw3761.ERCEnergyDown: "energy reading went down",
	28: "energy out of tolerance", 29: "meter running fast", 30: "meter stopped", 31: "meter reading failed",
	33: "meter status word changed", gdw3761.ERCUnknownMeter: "unknown meter found", gdw3761.ERCMeterCoverOpen: "meter cover opened",
	38: "terminal box opened", 40: "magnetic field anomaly", 41: "clock set",
}

// EventQuantity is the quantity of an event read of erc.
func EventQuantity(erc uint8) string {
	if n, ok := ercNames[erc]; ok {
		return "event ERC" + strconv.Itoa(int(erc)) + " " + n
	}
	return "event ERC" + strconv.Itoa(int(erc))
}

// EventERC returns the ERC of an event read's quantity.
func EventERC(quantity string) (uint8, bool) {
	s, ok := strings.CutPrefix(quantity, "event ERC")
	if !ok {
		return 0, false
	}
	if i := strings.IndexByte(s, ' '); i >= 0 {
		s = s[:i]
	}
	n, err := strconv.ParseUint(s, 10, 8)
	return uint8(n), err == nil
}

// EventLog is one of a terminal's two event logs.
type EventLog struct {
	Important bool // EC1, AFN 0E F1; else EC2, F2
}

func (l EventLog) fn() uint8 {
	if l.Important {
		return 1
	}
	return 2
}

func (l EventLog) String() string {
	if l.Important {
		return "important"
	}
	return "normal"
}

// counter is the log's counter in ec.
func (l EventLog) counter(ec gdw3761.EC) uint8 {
	if l.Important {
		return ec.Important
	}
	return ec.Normal
}

// EventBatch is what one AFN 0E reply (or report) held.
type EventBatch struct {
	Log      EventLog
	EC       gdw3761.EC // the terminal's counters in the reply
	Pm, Pn   uint8      // the records sent: Pm up to, not including, Pn
	Reads    []meter.Read
	Requests int
}

// ReadEvents reads the records of log from pointer pm up to pn (AFN 0E
// F1 or F2; at most 255 records) in one request, as reads filed under
// points (by number) or, for the terminal's own, under self.
func (r *Reader) ReadEvents(ctx context.Context, log EventLog, pm, pn uint8, points []Point, self Point) (EventBatch, error) {
	req := gdw3761.ReadEvents(gdw3761.Address{}, 0, log.Important, pm, pn)
	frames, err := r.Session.Exchange(ctx, &req)
	b := EventBatch{Log: log, Requests: 1}
	if err != nil {
		return b, err
	}
	ref := meter.FrameRef{Tries: 1}
	ref.Request, _ = req.MarshalBinary()
	for i := range frames {
		raw, _ := frames[i].MarshalBinary()
		ref.Reply = append(ref.Reply, raw)
	}
	if len(frames) > 0 && frames[0].AFN == gdw3761.AFNConfirm {
		if err := gdw3761.Acknowledged(&frames[0]); err != nil {
			return b, fmt.Errorf("terminal %s: AFN 0E F%d: %w", r.Session.ID(), log.fn(), err)
		}
		return b, fmt.Errorf("terminal %s confirmed AFN 0E F%d without data", r.Session.ID(), log.fn())
	}
	return r.eventsOf(frames, log, ref, points, self)
}

// eventsOf decodes the AFN 0E unit of log in frames (a reply, or a
// report the terminal sent by itself).
func (r *Reader) eventsOf(frames []gdw3761.Frame, log EventLog, ref meter.FrameRef, points []Point, self Point) (EventBatch, error) {
	b := EventBatch{Log: log}
	var units []gdw3761.Unit
	for i := range frames {
		var err error
		if units, err = frames[i].Units(units); err != nil {
			return b, fmt.Errorf("terminal %s AFN 0E frame %d: %w", r.Session.ID(), i+1, err)
		}
	}
	var data []byte
	found := false
	for _, u := range units {
		if u.Pn == 0 && u.Fn == log.fn() && !u.Unknown {
			data = append(data, u.Data...)
			found = true
		}
	}
	if !found {
		return b, fmt.Errorf("terminal %s: AFN 0E reply without F%d", r.Session.ID(), log.fn())
	}
	var ev gdw3761.Events
	if err := ev.UnmarshalUnit(data); err != nil {
		return b, fmt.Errorf("terminal %s AFN 0E F%d: %w", r.Session.ID(), log.fn(), err)
	}
	b.EC = gdw3761.EC{Important: ev.EC1, Normal: ev.EC2}
	b.Pm, b.Pn = ev.Pm, ev.Pn
	byPn := make(map[uint16]Point, len(points))
	for _, p := range points {
		byPn[p.Pn] = p
	}
	at := r.now()
	for i := range ev.Records {
		b.Reads = append(b.Reads, eventReads(&ev.Records[i], ev.Pm+uint8(i), log, byPn, self, at, ref, r.loc())...)
	}
	return b, nil
}

// eventReads turns one record (number n of log) into reads.
func eventReads(e *gdw3761.Event, n uint8, log EventLog, byPn map[uint16]Point, self Point, at time.Time, ref meter.FrameRef, loc *time.Location) []meter.Read {
	who := self
	var note []string
	hasPn := e.Decoded && e.Pn != 0
	if hasPn {
		if p, ok := byPn[e.Pn]; ok {
			who = p
		} else {
			note = append(note, fmt.Sprintf("p%d, not in the archive", e.Pn))
		}
	}
	r := meter.Read{Meter: who.Meter, Area: who.Area, Channel: who.Channel, Class: meter.Event, Edition: dlt645.DLT2007,
		Quantity: EventQuantity(e.ERC), ReadAt: at, Status: meter.OK, Frame: ref, Value: dlt645.Decimal{Units: 1}}
	if e.Decoded && !e.Time.IsZero() {
		r.MeterTime = e.Time.Time(loc)
	}
	if hasPn && !e.Start && startStop(e.ERC) {
		r.Value = dlt645.Decimal{}
	}
	text := func(extra ...string) string {
		parts := append([]string{fmt.Sprintf("%s #%d", log, n)}, note...)
		return strings.Join(append(parts, extra...), "; ")
	}
	if !e.Decoded {
		r.Text = text(fmt.Sprintf("% X", e.Data))
		return []meter.Read{r}
	}
	switch e.ERC {
	case gdw3761.ERCPowerOnOff:
		on := "on " + e.End.Time(loc).Format("2006-01-02T15:04")
		if e.End.IsZero() {
			on = "not on yet"
		}
		r.Text = text("off "+e.Time.Time(loc).Format("2006-01-02T15:04"), on)
	case gdw3761.ERCVoltageLoop, gdw3761.ERCCurrentLoop:
		kind := [4]string{"", "phase break", "voltage loss", ""}[e.Flags>>6]
		if e.ERC == gdw3761.ERCCurrentLoop {
			kind = [4]string{"", "short", "open", "reverse"}[e.Flags>>6]
		}
		r.Text = text(strings.TrimSpace(kind+" phases "+phases(e.Flags&7)), fmt.Sprintf("U %v %v %v", e.U[0], e.U[1], e.U[2]),
			fmt.Sprintf("I %v %v %v", e.I[0], e.I[1], e.I[2]), "energy "+e.Energy.String())
	case gdw3761.ERCEnergyDown:
		r.Text = text("before "+e.Before.String(), "after "+e.After.String())
	case gdw3761.ERCUnknownMeter:
		if e.Found == 0 {
			r.Text = text("no address in the record")
			return []meter.Read{r}
		}
		var out []meter.Read
		for i := range int(e.Found) {
			addr, ph, q, _ := e.UnknownMeter(i)
			x := r
			x.Meter, x.Channel = addr.String(), self.Channel
			x.Text = text(fmt.Sprintf("port %d", e.Port), "found "+addr.String(), "phases "+phases(ph), fmt.Sprintf("signal %d", q))
			out = append(out, x)
		}
		return out
	default:
		r.Text = text()
	}
	return []meter.Read{r}
}

// startStop reports whether erc's point field carries the began/ended
// bit.
func startStop(erc uint8) bool {
	switch erc {
	case gdw3761.ERCCurrentLoop, gdw3761.ERCVoltageLoop, gdw3761.ERCMeterClock, gdw3761.ERCMeterFault, gdw3761.ERCEnergyDown:
		return true
	}
	return false
}

func phases(b uint8) string {
	var s []string
	for i, n := range []string{"A", "B", "C"} {
		if b&(1<<i) != 0 {
			s = append(s, n)
		}
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ",")
}
