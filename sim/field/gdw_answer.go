package field

import (
	"context"
	"fmt"
	"time"

	"github.com/headend/headend/protocol/gdw3761"
)

// piece is one answered data unit of a reply.
type piece struct {
	pn   uint16
	fn   uint8
	data []byte
}

// Handle answers one downlink frame from the head-end and returns the
// reply frames (one, or several with FIR/FIN for a long reply); none for
// a frame that is not for this terminal. It never panics on any frame.
func (t *Terminal) Handle(ctx context.Context, f *gdw3761.Frame) []gdw3761.Frame {
	a := f.Address
	if a.Area != t.opts.Address.Area || (a.Terminal != t.opts.Address.Terminal && !(a.Group && a.Terminal == 0xFFFF)) {
		return nil
	}
	t.mu.Lock()
	t.stats.Requests++
	t.mu.Unlock()
	units, err := f.Units(nil)
	if err != nil || len(units) == 0 {
		return t.deny(f)
	}
	for _, u := range units {
		if u.Unknown {
			return t.deny(f)
		}
	}
	switch f.AFN {
	case gdw3761.AFNClass1:
		return t.reply(f, t.current(units))
	case gdw3761.AFNClass2:
		return t.reply(f, t.history(units))
	case gdw3761.AFNClass3:
		return t.reply(f, t.eventsReply(units))
	case gdw3761.AFNQuery:
		return t.reply(f, append(t.queryArchive(units), t.queryComm(units)...))
	case gdw3761.AFNTransfer:
		return t.reply(f, t.forward(ctx, units))
	case gdw3761.AFNSet:
		if t.setComm(units) || t.setArchive(units, f.Address.Master) { // gdw_comm.go: F1
			return t.confirm(f)
		}
	case gdw3761.AFNControl:
		if t.setClock(units) {
			return t.confirm(f)
		}
	}
	return t.deny(f)
}

func (t *Terminal) answerTo(f *gdw3761.Frame, fn uint8) gdw3761.Frame {
	r := gdw3761.Frame{Protocol: f.Protocol, Control: gdw3761.MakeControl(true, false, false, false, fn),
		Address: t.opts.Address, AFN: gdw3761.AFNConfirm, Seq: gdw3761.Single(f.Seq.Num(), false)}
	r.Address.Master = f.Address.Master
	return r
}

// confirm is AFN 00 F1, deny AFN 00 F2.
func (t *Terminal) confirm(f *gdw3761.Frame) []gdw3761.Frame {
	r := t.answerTo(f, gdw3761.FuncConfirm)
	r.Data = []byte{0, 0, 0x01, 0}
	t.withEC(&r)
	return []gdw3761.Frame{r}
}

func (t *Terminal) deny(f *gdw3761.Frame) []gdw3761.Frame {
	t.mu.Lock()
	t.stats.Denied++
	t.mu.Unlock()
	r := t.answerTo(f, gdw3761.FuncNoData)
	r.Data = []byte{0, 0, 0x02, 0}
	t.withEC(&r)
	return []gdw3761.Frame{r}
}

// reply packs pieces into response frames of at most MaxFrameData data
// bytes, numbered from the request's PSEQ, and records the answers per
// meter. No pieces: deny.
func (t *Terminal) reply(f *gdw3761.Frame, ps []piece) []gdw3761.Frame {
	if len(ps) == 0 {
		return t.deny(f)
	}
	var frames []gdw3761.Frame
	var data []byte
	var inFrame [][]piece
	var cur []piece
	flush := func() {
		frames = append(frames, gdw3761.Frame{Data: data})
		inFrame = append(inFrame, cur)
		data, cur = nil, nil
	}
	for _, p := range ps {
		d, err := gdw3761.MakeDADT([]uint16{p.pn}, []uint8{p.fn})
		if err != nil {
			continue
		}
		if len(data) > 0 && len(data)+4+len(p.data) > t.opts.MaxFrameData {
			flush()
		}
		data = append(append(data, d[:]...), p.data...)
		cur = append(cur, p)
	}
	if len(data) > 0 {
		flush()
	}
	if len(frames) == 0 {
		return t.deny(f)
	}
	sim := t.opts.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range frames {
		r := gdw3761.Response(f, (f.Seq.Num()+uint8(i))&0x0F, i == 0, i == len(frames)-1)
		r.Address = t.opts.Address
		r.Address.Master = f.Address.Master
		r.Data = frames[i].Data
		t.withECLocked(&r)
		frames[i] = r
		wire, err := r.MarshalBinary()
		if err != nil {
			continue
		}
		h := frameHash(wire)
		unit := fmt.Sprintf("AFN %02X", byte(f.AFN))
		for _, p := range inFrame[i] {
			if addr, ok := t.meterOfLocked(p.pn); ok && f.AFN != gdw3761.AFNTransfer && f.AFN != gdw3761.AFNQuery && t.holdsLocked(f.AFN, p) {
				t.answers[addr] = append(t.answers[addr], TerminalAnswer{At: time.Now(), Sim: sim, Unit: fmt.Sprintf("%s F%d", unit, p.fn), Hash: h})
			}
		}
	}
	return frames
}

// holdsLocked reports whether piece p of an AFN 0C or 0D reply carries
// data the terminal collected: a point it has nothing of (EE) is not an
// answer about its meter, which the head-end need not keep.
func (t *Terminal) holdsLocked(afn gdw3761.AFN, p piece) bool {
	pd := t.points[p.pn]
	if pd == nil {
		return false
	}
	switch {
	case afn == gdw3761.AFNClass1:
		return pd.have
	case afn == gdw3761.AFNClass2 && (p.fn == 161 || p.fn == 163):
		d, err := gdw3761.A20.Decode(p.data[:min(len(p.data), gdw3761.A20.Size())])
		_, ok := findFrozen(pd.daily, d)
		return err == nil && ok
	case afn == gdw3761.AFNClass2 && (p.fn == 177 || p.fn == 179):
		d, err := gdw3761.A21.Decode(p.data[:min(len(p.data), gdw3761.A21.Size())])
		_, ok := findFrozen(pd.monthly, d)
		return err == nil && ok
	}
	return true
}

func (t *Terminal) meterOfLocked(pn uint16) (string, bool) {
	if pn == 0 {
		return "", false
	}
	for _, e := range t.archive {
		if e.Point == pn {
			return e.Address.String(), true
		}
	}
	return "", false
}

// pointsOf expands AllPoints to the archive's points.
func (t *Terminal) pointsOf(pn uint16) []uint16 {
	if pn != gdw3761.AllPoints {
		return []uint16{pn}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []uint16
	for _, e := range t.entriesLocked() {
		out = append(out, e.Point)
	}
	return out
}

// current answers AFN 0C: F2 the clock (p0), F25, F129, F131 per point.
// A point the archive has with nothing collected yet gets the EE filler;
// a point it does not have is left out.
func (t *Terminal) current(units []gdw3761.Unit) []piece {
	var out []piece
	for _, u := range units {
		for _, pn := range t.pointsOf(u.Pn) {
			if d, ok := t.currentUnit(pn, u.Fn); ok {
				out = append(out, piece{pn, u.Fn, d})
			}
		}
	}
	return out
}

func (t *Terminal) currentUnit(pn uint16, fn uint8) ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fn == 2 && pn == 0 {
		b, err := gdw3761.A1.Append(nil, gdw3761.DateTimeOf(t.clockLocked(t.opts.Now())))
		return b, err == nil
	}
	if _, ok := t.meterOfLocked(pn); !ok {
		return nil, false
	}
	p := t.points[pn]
	var b []byte
	var err error
	switch fn {
	case 25:
		in := gdw3761.Instant{}
		if p != nil && p.have {
			in = p.instant
		} else {
			missing(&in)
		}
		b, err = in.AppendUnit(nil)
	case 129, 131:
		e := gdw3761.Energy{Total: gdw3761.Num{Missing: true}}
		if p != nil && p.have {
			e = p.fwd
			if fn == 131 {
				e = p.rev
			}
		}
		b, err = e.AppendUnit(nil, gdw3761.AFNClass1, fn)
	default:
		return nil, false
	}
	return b, err == nil
}

func missing(in *gdw3761.Instant) {
	m := gdw3761.Num{Missing: true}
	for i := range in.P {
		in.P[i], in.Q[i], in.PF[i], in.S[i] = m, m, m, m
	}
	for i := range in.U {
		in.U[i], in.I[i] = m, m
	}
	in.I0 = m
}

// history answers AFN 0D: F161/F163 daily, F177/F179 monthly, F101 the
// forward active energy reading curve.
func (t *Terminal) history(units []gdw3761.Unit) []piece {
	var out []piece
	for _, u := range units {
		for _, pn := range t.pointsOf(u.Pn) {
			if d, ok := t.historyUnit(pn, u.Fn, u.Data); ok {
				out = append(out, piece{pn, u.Fn, d})
			}
		}
	}
	return out
}

func (t *Terminal) historyUnit(pn uint16, fn uint8, td []byte) ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.meterOfLocked(pn); !ok {
		return nil, false
	}
	p := t.points[pn]
	if p == nil {
		p = &pointData{}
	}
	switch fn {
	case 161, 163, 177, 179:
		tf, list := gdw3761.A20, p.daily
		if fn >= 177 {
			tf, list = gdw3761.A21, p.monthly
		}
		if len(td) != tf.Size() {
			return nil, false
		}
		d, err := tf.Decode(td)
		if err != nil || d.IsZero() {
			return nil, false
		}
		e := gdw3761.Energy{Date: d, Total: gdw3761.Num{Missing: true}}
		if fz, ok := findFrozen(list, d); ok {
			e = fz.fwd
			if fn == 163 || fn == 179 {
				e = fz.rev
			}
			e.Date = d
			if e.ReadTime.IsZero() && e.Total.Value.Units == 0 && len(e.Tariffs) == 0 {
				e.Total = gdw3761.Num{Missing: true}
			}
		}
		b, err := e.AppendUnit(nil, gdw3761.AFNClass2, fn)
		return b, err == nil
	case 101:
		if len(td) != 7 {
			return nil, false
		}
		start, err := gdw3761.A15.Decode(td)
		if err != nil || start.IsZero() {
			return nil, false
		}
		den := gdw3761.Density(td[5])
		step := time.Duration(den.Minutes()) * time.Minute
		n := int(td[6])
		if step == 0 || n == 0 {
			return nil, false
		}
		from := start.Time(t.opts.Now().Location())
		c := gdw3761.Curve{Start: start, Density: den}
		for i := range n {
			at := from.Add(time.Duration(i) * step)
			v := gdw3761.Num{Missing: true}
			for _, cp := range p.curve {
				if cp.at.Equal(at) {
					v = cp.fwd
				}
			}
			c.Values = append(c.Values, v)
		}
		b, err := c.AppendUnit(nil, fn)
		return b, err == nil
	}
	return nil, false
}

// eventsReply answers AFN 0E F1 (important events) and F2 (normal: none
// kept) with the records from Pm up to Pn that the ring still holds.
func (t *Terminal) eventsReply(units []gdw3761.Unit) []piece {
	var out []piece
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, u := range units {
		if u.Pn != 0 || len(u.Data) != 2 {
			continue
		}
		pm, pn := u.Data[0], u.Data[1]
		ev := gdw3761.Events{EC1: t.events.ec1(), Pm: pm, Pn: pm}
		if u.Fn == 1 {
			oldest := max(t.events.count-256, 0)
			for k := pm; k != pn; k++ {
				// the record numbered k: the newest write with that low byte
				idx := t.events.count - 1 - int(t.events.ec1()-1-k)
				if idx < oldest || idx >= t.events.count {
					break
				}
				ev.Records = append(ev.Records, t.events.records[k])
				ev.Pn = k + 1
			}
			t.events.read = ev.Pn
		}
		b, err := ev.AppendUnit(nil)
		if err == nil {
			out = append(out, piece{0, u.Fn, b})
		}
	}
	return out
}

// queryArchive answers AFN 0A F10 with the entries asked for that exist.
func (t *Terminal) queryArchive(units []gdw3761.Unit) []piece {
	var out []piece
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, u := range units {
		var q gdw3761.ArchiveQuery
		if u.Fn != 10 || u.Pn != 0 || q.UnmarshalUnit(u.Data) != nil {
			continue
		}
		var ar gdw3761.Archive
		for _, s := range q.Serials {
			if e, ok := t.archive[s]; ok {
				ar.Meters = append(ar.Meters, e)
			}
		}
		if b, err := ar.AppendUnit(nil); err == nil {
			out = append(out, piece{0, 10, b})
		}
	}
	return out
}

// setArchive takes AFN 04 F10: each entry replaces the one of its serial
// number; point 0 deletes it.
func (t *Terminal) setArchive(units []gdw3761.Unit, master uint8) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	replaced := false
	for _, u := range units {
		var ar gdw3761.Archive
		if u.Fn != 10 || u.Pn != 0 || ar.UnmarshalUnit(u.Data) != nil {
			return false
		}
		for _, e := range ar.Meters {
			if e.Serial == 0 || e.Serial > 2040 || e.Point > 2040 {
				return false
			}
		}
		for _, e := range ar.Meters {
			if e.Point == 0 {
				delete(t.archive, e.Serial)
				continue
			}
			for s, old := range t.archive {
				if old.Point == e.Point && s != e.Serial {
					delete(t.archive, s) // a point has one meter
				}
			}
			if old, ok := t.archive[e.Serial]; ok && old.Address != e.Address {
				delete(t.points, e.Point) // another meter: its data is not this one's
				replaced = true
			}
			t.archive[e.Serial] = e
		}
	}
	if replaced {
		t.paramChangedLocked(master) // a meter replaced in the archive
	}
	return true
}

// setClock takes AFN 05 F31.
func (t *Terminal) setClock(units []gdw3761.Unit) bool {
	if len(units) != 1 || units[0].Fn != 31 || units[0].Pn != 0 {
		return false
	}
	d, err := gdw3761.A1.Decode(units[0].Data)
	if err != nil || d.IsZero() {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.opts.Now()
	want := d.Time(now.Location())
	t.offset += want.Sub(t.clockLocked(now))
	return true
}

// forward answers AFN 10 F1: the frame goes to the meters on the port
// (the line held for its line time at the requested baud) and their
// answer comes back, empty when nobody answered.
func (t *Terminal) forward(ctx context.Context, units []gdw3761.Unit) []piece {
	var out []piece
	for _, u := range units {
		var r gdw3761.ForwardRequest
		if u.Fn != 1 || u.Pn != 0 || r.UnmarshalUnit(u.Data) != nil {
			continue
		}
		baud := t.line.opts.Baud
		if baud > 0 {
			baud = r.Serial.Baud()
		}
		reply := t.exchange(ctx, t.opts.Forward, append([]byte(nil), r.Data...), baud)
		rep := gdw3761.ForwardReply{Port: r.Port, Data: reply}
		if b, err := rep.AppendUnit(nil); err == nil {
			out = append(out, piece{0, 1, b})
		}
	}
	return out
}
