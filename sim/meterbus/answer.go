package meterbus

import (
	"time"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/model"
)

// Broadcast time sync rules a meter applies (DOMAIN.md section 2): it
// corrects its clock by at most five minutes, once a day, and not within
// five minutes of midnight, when it freezes.
const (
	syncWindow   = 5 * time.Minute
	midnightKeep = 5 * time.Minute
)

// broadcast applies a broadcast frame (time sync; a freeze is accepted
// and changes nothing the model keeps) to every meter on the line.
func (b *Bus) broadcast(f *dlt645.Frame, now time.Time) {
	for addr, m := range b.meters {
		msg, err := edition(m).Decode(f)
		if err != nil || msg.Op != dlt645.OpBroadcastTime || m.Behaviour(now).Silent {
			continue
		}
		b.syncClock(addr, m, msg.Time, now)
	}
}

func (b *Bus) syncClock(addr dlt645.Address, m *model.Meter, d dlt645.DateTime, now time.Time) {
	meterNow := m.Clock(now)
	target, err := d.Time(meterNow.Location())
	if err != nil {
		return
	}
	diff := target.Sub(meterNow)
	if diff > syncWindow || diff < -syncWindow {
		return // beyond what a broadcast may correct: needs an authorised write
	}
	midnight := time.Date(meterNow.Year(), meterNow.Month(), meterNow.Day(), 0, 0, 0, 0, meterNow.Location())
	if since := meterNow.Sub(midnight); since < midnightKeep || since > 24*time.Hour-midnightKeep {
		return
	}
	day := meterNow.Format("2006-01-02")
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.synced[addr] == day {
		return
	}
	b.synced[addr] = day
	m.SetClock(now, target)
}

// answer builds a meter's reply to msg. ok is false when the meter stays
// silent.
func (b *Bus) answer(ed dlt645.Edition, addr dlt645.Address, m *model.Meter, msg *dlt645.Message, now time.Time) (dlt645.Frame, bool) {
	refuse := func(bits dlt645.ErrBits) (dlt645.Frame, bool) {
		f, err := ed.AbnormalReply(addr, msg.Op, bits)
		return f, err == nil
	}
	ack := func(body []byte) (dlt645.Frame, bool) {
		f, err := ed.Ack(addr, msg.Op, body)
		return f, err == nil
	}
	const (
		errOther  = dlt645.ErrBits(1 << 0)
		errNoData = dlt645.ErrBits(1 << 1)
		errAuth   = dlt645.ErrBits(1 << 2)
	)
	if msg.HasAuth && (msg.Auth.Level != 2 && msg.Auth.Level != 4 || msg.Auth.Password != b.password) {
		return refuse(errAuth)
	}
	switch msg.Op {
	case dlt645.OpRead:
		if m.Behaviour(now).NoBlocks && (isBlock(msg.DI) || msg.DI == dateTime2007) {
			return refuse(errNoData) // a meter that answers single DIs only
		}
		if ed == dlt645.DLT2007 && msg.DI == dateTime2007 {
			return b.reply(ed, addr, msg.DI, dateTimeData(m.Registers(now).MeterTime))
		}
		data, ok := b.read(ed, m, msg, now)
		if !ok {
			return refuse(errNoData)
		}
		return b.reply(ed, addr, msg.DI, data)
	case dlt645.OpReadFollowUp:
		return b.followUp(ed, addr, msg)
	case dlt645.OpReadAddress:
		f, err := ed.ReadAddressReply(addr)
		return f, err == nil
	case dlt645.OpWrite:
		if !b.write(m, msg, now) {
			return refuse(errOther)
		}
		return ack(nil)
	case dlt645.OpRelay:
		switch msg.Relay {
		case dlt645.RelayTrip:
			m.SetRelay(true)
		case dlt645.RelayClose, dlt645.RelayAllowClose:
			m.SetRelay(false)
		}
		return ack(nil)
	case dlt645.OpDemandReset:
		m.ResetDemand()
		return ack(nil)
	case dlt645.OpFreeze:
		return ack(nil)
	case dlt645.OpChangeBaud:
		return ack(msg.Payload)
	}
	// write address, change password, meter and event reset: the
	// simulated meters do not let anyone do these.
	return refuse(errOther)
}

// write takes an authorised write of the clock (04000101 date, 04000102
// time; 1997 C010, C011): how a person corrects a drift too large for a
// broadcast.
func (b *Bus) write(m *model.Meter, msg *dlt645.Message, now time.Time) bool {
	vals, err := msg.Edition.Registry().Decode(msg.DI, msg.Payload, nil)
	if err != nil || len(vals) != 1 || vals[0].Kind != dlt645.KindTime {
		return false
	}
	cur := m.Clock(now)
	v := vals[0].Time
	var t time.Time
	switch msg.DI {
	case 0x04000101, 0xC010:
		t = time.Date(int(v.Year), time.Month(v.Month), int(v.Day), cur.Hour(), cur.Minute(), cur.Second(), 0, cur.Location())
	case 0x04000102, 0xC011:
		t = time.Date(cur.Year(), cur.Month(), cur.Day(), int(v.Hour), int(v.Minute), int(v.Second), 0, cur.Location())
	default:
		return false
	}
	m.SetClock(now, t)
	return true
}

// reply sends data for di in one frame, or in a first frame and
// follow-ups kept until the master asks for them.
func (b *Bus) reply(ed dlt645.Edition, addr dlt645.Address, di dlt645.DI, data []byte) (dlt645.Frame, bool) {
	parts, err := ed.SplitReply(addr, di, data)
	if err != nil {
		return dlt645.Frame{}, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(parts) > 1 {
		b.pending[addr] = &longAnswer{di: di, parts: parts[1:]}
	} else {
		delete(b.pending, addr)
	}
	return parts[0], true
}

func (b *Bus) followUp(ed dlt645.Edition, addr dlt645.Address, msg *dlt645.Message) (dlt645.Frame, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.pending[addr]
	seq := msg.Seq
	if ed == dlt645.DLT1997 {
		seq = 1 // 1997 has no SEQ: the next part each time
	}
	if p == nil || p.di != msg.DI || seq < 1 || seq > len(p.parts) {
		f, err := ed.AbnormalReply(addr, msg.Op, 1<<1)
		return f, err == nil
	}
	f := p.parts[seq-1]
	if ed == dlt645.DLT1997 {
		p.parts = p.parts[1:]
	}
	return f, true
}

// isBlock reports whether di asks for a block: a 2007 DI with an FF byte
// (0201FF00), or a 1997 one with an F nibble (B61F).
func isBlock(di dlt645.DI) bool {
	if di <= 0xFFFF {
		return di&0xF == 0xF
	}
	for s := 0; s < 32; s += 8 {
		if di>>s&0xFF == 0xFF {
			return true
		}
	}
	return false
}

// dateTime2007 is DL/T 645-2007 0400010C, date and time in one answer:
// ss mm hh WW DD MM YY.
const dateTime2007 dlt645.DI = 0x0400010C

func dateTimeData(t time.Time) []byte {
	date, _ := dlt645.DLT2007.Registry().Lookup(0x04000101)
	clk, _ := dlt645.DLT2007.Registry().Lookup(0x04000102)
	out, _ := clk.Encode(nil, []dlt645.Value{clock(t, dlt645.Hhmmss)})
	out, _ = date.Encode(out, []dlt645.Value{clock(t, dlt645.YYMMDDWW)})
	return out
}
