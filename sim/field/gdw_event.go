package field

import (
	"context"
	"io"
	"time"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/gdw3761"
)

// eventLog is the terminal's important-event log (EC1): a ring of 256
// records numbered by the counter, as AFN 0E F1 reads it. The terminal
// files every event it records as important; its normal log (EC2) stays
// empty.
type eventLog struct {
	records [256]gdw3761.Event
	count   int   // records ever written
	read    uint8 // the head-end has read up to here (its last Pn), or been sent by a report
	// notify, when set (ReportEvents), is signalled on each new record
	notify chan<- struct{}
}

func (l *eventLog) ec1() uint8 { return uint8(l.count) }

func (l *eventLog) add(erc uint8, data []byte) {
	l.records[uint8(l.count)] = gdw3761.Event{ERC: erc, Data: data}
	l.count++
	if l.notify != nil {
		select {
		case l.notify <- struct{}{}:
		default: // a report is already due: it takes this record too
		}
	}
}

// sendReport reports the important events not read nor reported yet
// (AFN 0E F1, PRM set, confirmation asked), at most 32 a frame.
func (t *Terminal) sendReport(w io.Writer) error {
	t.mu.Lock()
	pm := t.events.read
	ev := gdw3761.Events{EC1: t.events.ec1(), Pm: pm, Pn: pm}
	oldest := max(t.events.count-256, 0)
	for k := pm; k != t.events.ec1() && len(ev.Records) < 32; k++ {
		idx := t.events.count - 1 - int(t.events.ec1()-1-k)
		if idx < oldest {
			break
		}
		ev.Records = append(ev.Records, t.events.records[k])
		ev.Pn = k + 1
	}
	if len(ev.Records) == 0 {
		t.mu.Unlock()
		return nil
	}
	t.events.read = ev.Pn
	seq := t.pseq
	t.pseq = (t.pseq + 1) & 0x0F
	t.mu.Unlock()
	f := gdw3761.Frame{Protocol: gdw3761.GDW3761, Control: gdw3761.MakeControl(true, true, false, false, gdw3761.FuncUserData),
		Address: t.opts.Address, AFN: gdw3761.AFNClass3, Seq: gdw3761.Single(seq, true)}
	var err error
	if f.Data, err = gdw3761.AppendUnits(f.Data, []uint16{0}, []uint8{1}, nil); err != nil {
		return err
	}
	if f.Data, err = ev.AppendUnit(f.Data); err != nil {
		return err
	}
	t.withEC(&f)
	b, err := f.MarshalBinary()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// unread reports events not yet read by the head-end: the ACD bit.
func (l *eventLog) unread() bool { return l.read != l.ec1() }

// Events returns the terminal's event records, oldest first (the last 256).
func (t *Terminal) Events() []gdw3761.Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := min(t.events.count, 256)
	out := make([]gdw3761.Event, 0, n)
	for i := t.events.count - n; i < t.events.count; i++ {
		out = append(out, t.events.records[uint8(i)])
	}
	return out
}

// withEC sets ACD and the event counters on an uplink frame while events
// wait to be read.
func (t *Terminal) withEC(f *gdw3761.Frame) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.withECLocked(f)
}

func (t *Terminal) withECLocked(f *gdw3761.Frame) {
	if t.events.unread() {
		f.Control |= 0x20
		f.EC = gdw3761.EC{Important: t.events.ec1()}
	}
}

func appendTime(b []byte, t time.Time) []byte {
	b, _ = gdw3761.A15.Append(b, minute(t))
	return b
}

func appendPn(b []byte, pn uint16, start bool) []byte {
	v := pn & 0x0FFF
	if start {
		v |= 0x8000
	}
	return append(b, byte(v), byte(v>>8))
}

func (t *Terminal) powerOn() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clockLocked(t.opts.Now())
	if t.ran {
		b := appendTime(nil, t.lastSeen)
		b = appendTime(b, now)
		t.events.add(gdw3761.ERCPowerOnOff, b)
	}
	t.ran = true
}

func (t *Terminal) powerOff() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastSeen = t.clockLocked(t.opts.Now())
}

// watchCurrent files voltage loss (ERC10) and energy going backwards
// (ERC27) from a point's current reading.
func (t *Terminal) watchCurrent(e gdw3761.MeterEntry, p *pointData, clock time.Time, in gdw3761.Instant) {
	if v, ok := p.fwd.Total.Value.Rescale(2); ok && !p.fwd.Total.Missing {
		if p.lastFwd > 0 && v.Units < p.lastFwd {
			b := appendTime(nil, clock)
			b = appendPn(b, e.Point, true)
			b, _ = gdw3761.A14.Append(b, gdw3761.N(p.lastFwd, 2))
			b, _ = gdw3761.A14.Append(b, gdw3761.N(v.Units, 2))
			t.events.add(gdw3761.ERCEnergyDown, b)
		}
		p.lastFwd = v.Units
	}
	const lossBelow = 1320 // 132.0 V, 60 % of 220 V
	var lost, changed bool
	var phases uint8
	for i, u := range in.U {
		if u.Missing {
			continue
		}
		v, _ := u.Value.Rescale(1)
		now := v.Units < lossBelow && v.Units > 0 || v.Units == 0 && p.lostPhase[i]
		if v.Units == 0 && !p.lostPhase[i] && i > 0 {
			continue // a single-phase meter's phases B and C
		}
		if now != p.lostPhase[i] {
			changed = true
			p.lostPhase[i] = now
		}
		if now {
			lost = true
			phases |= 1 << i
		}
	}
	if !changed {
		return
	}
	b := appendTime(nil, clock)
	b = appendPn(b, e.Point, lost)
	b = append(b, 2<<6|phases)
	for _, u := range in.U {
		b, _ = gdw3761.A7.Append(b, u)
	}
	for _, i := range in.I {
		b, _ = gdw3761.A25.Append(b, i)
	}
	b, _ = gdw3761.A14.Append(b, p.fwd.Total)
	t.events.add(gdw3761.ERCVoltageLoop, b)
}

// clockTolerance is how far a meter's clock may be off the terminal's
// before it files ERC12.
const clockTolerance = 5 * time.Minute

func (t *Terminal) watchClock(e gdw3761.MeterEntry, p *pointData, clock, meter time.Time) {
	off := meter.Sub(clock)
	bad := off > clockTolerance || off < -clockTolerance
	if bad == p.clockBad {
		return
	}
	p.clockBad = bad
	b := appendTime(nil, clock)
	b = appendPn(b, e.Point, bad)
	t.events.add(gdw3761.ERCMeterClock, b)
}

func (t *Terminal) watchCover(e gdw3761.MeterEntry, p *pointData, clock time.Time, count int64) {
	if p.coverSeen && count > p.covers {
		b := appendTime(nil, clock)
		b = appendPn(b, e.Point, true)
		t.events.add(gdw3761.ERCMeterCoverOpen, b)
	}
	p.covers, p.coverSeen = count, true
}

// FindMeters is the terminal's meter search (搜表) on its port finding
// meters at addrs: each one its archive does not hold, and not reported
// before, is filed as ERC35 (unknown meter found: a meter replaced in the
// field, or one wired here but archived elsewhere), all in one record. It
// returns how many it filed.
func (t *Terminal) FindMeters(addrs ...gdw3761.MeterAddress) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	held := map[gdw3761.MeterAddress]bool{}
	for _, e := range t.archive {
		held[e.Address] = true
	}
	var found []gdw3761.MeterAddress
	for _, a := range addrs {
		if !held[a] && !t.found[a] {
			found = append(found, a)
		}
	}
	if len(found) == 0 {
		return 0
	}
	if t.found == nil {
		t.found = map[gdw3761.MeterAddress]bool{}
	}
	found = found[:min(len(found), 30)] // Le is one byte: 7 + 8 a meter
	b := appendTime(nil, t.clockLocked(t.opts.Now()))
	b = append(b, 2, byte(len(found))) // port 2, where the archive puts its meters
	for _, a := range found {
		t.found[a] = true
		for i := 5; i >= 0; i-- { // A.12: low byte first
			b = append(b, a[i])
		}
		b = append(b, 1, 8) // phase A (a single-phase search), good signal
	}
	t.events.add(gdw3761.ERCUnknownMeter, b)
	return len(found)
}

// paramChangedLocked files ERC3: the master station (A3 master) rewrote
// the meter archive (p0 F10).
func (t *Terminal) paramChangedLocked(master uint8) {
	b := appendTime(nil, t.clockLocked(t.opts.Now()))
	b = append(b, master, 0, 0, 0x02, 0x01)
	t.events.add(gdw3761.ERCParamChange, b)
}

// readClock reads a DL/T 645-2007 meter's date and time in one
// transaction (0400010C: ss mm hh WW DD MM YY, BCD), for ERC12.
func (t *Terminal) readClock(ctx context.Context, e gdw3761.MeterEntry, loc *time.Location) (time.Time, bool) {
	const di = dlt645.DI(0x0400010C)
	req, err := dlt645.DLT2007.ReadRequest(e.Address, di)
	if err != nil {
		return time.Time{}, false
	}
	wire, err := req.MarshalBinary()
	if err != nil {
		return time.Time{}, false
	}
	reply := t.exchange(ctx, t.opts.Poll, wire, t.line.opts.Baud)
	var f dlt645.Frame
	if _, err := f.Decode(reply); err != nil || !f.Control.Reply() || f.Control.Abnormal() || f.Address != e.Address {
		return time.Time{}, false
	}
	msg, err := dlt645.DLT2007.Decode(&f)
	if err != nil || msg.DI != di || len(msg.Payload) != 7 {
		return time.Time{}, false
	}
	var v [7]int
	for i, b := range msg.Payload {
		if b>>4 > 9 || b&0x0F > 9 {
			return time.Time{}, false
		}
		v[i] = int(b>>4)*10 + int(b&0x0F)
	}
	ss, mm, hh, dd, mo, yy := v[0], v[1], v[2], v[4], v[5], v[6]
	if mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh > 23 || mm > 59 || ss > 59 {
		return time.Time{}, false
	}
	return time.Date(2000+yy, time.Month(mo), dd, hh, mm, ss, 0, loc), true
}
