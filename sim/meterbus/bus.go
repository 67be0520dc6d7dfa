// Package meterbus is the firmware of simulated meters: it answers
// DL/T 645 requests (2007 and 1997) from the registers of the physical
// model, as the meters on one RS-485 line behind a concentrator would, and
// misbehaves on the wire the way the scenario planted (silence, delay,
// corrupt bytes, wrong checksums, FE noise). A Bus implements field.Bus.
package meterbus

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/field"
	"github.com/headend/headend/sim/model"
)

// Options configure a Bus.
type Options struct {
	// Now returns the simulated instant a request arrives; nil means
	// the fleet's last advanced time.
	Now func() time.Time
	// Sleep waits out a slow meter's delay; nil is field.Sleep.
	Sleep field.Sleeper
	// Password is the meters' level 02 and 04 password (6 digits);
	// empty means "000000".
	Password string
	// Seed drives the wire faults' randomness; the same seed gives the
	// same bytes.
	Seed uint64
}

// Bus is the meters on one line.
type Bus struct {
	fleet    *model.Fleet
	meters   map[dlt645.Address]*model.Meter
	order    []*model.Meter
	opts     Options
	password [3]byte

	mu      sync.Mutex
	rng     map[dlt645.Address]*rand.Rand
	pending map[dlt645.Address]*longAnswer // follow-up frames still to send
	synced  map[dlt645.Address]string      // day of the last broadcast time sync a meter obeyed
	answers map[string][]Answer            // answered reads by meter address (Answers)
	tx      map[string]*readTx             // each meter's last read transaction (count)
}

// longAnswer is the rest of an answer that did not fit one frame.
type longAnswer struct {
	di    dlt645.DI
	parts []dlt645.Frame // parts[0] is follow-up SEQ 1
}

// New returns the Bus of the given meters of fleet.
func New(fleet *model.Fleet, meters []*model.Meter, opts Options) (*Bus, error) {
	b := &Bus{fleet: fleet, meters: map[dlt645.Address]*model.Meter{}, opts: opts,
		rng: map[dlt645.Address]*rand.Rand{}, pending: map[dlt645.Address]*longAnswer{}, synced: map[dlt645.Address]string{}}
	if b.opts.Now == nil {
		b.opts.Now = fleet.Now
	}
	if b.opts.Sleep == nil {
		b.opts.Sleep = field.Sleep
	}
	pw := b.opts.Password
	if pw == "" {
		pw = "000000"
	}
	a, err := dlt645.ParseAuth(2, pw, "")
	if err != nil {
		return nil, err
	}
	b.password = a.Password
	for _, m := range meters {
		addr, err := dlt645.ParseAddress(m.Address)
		if err != nil {
			return nil, err
		}
		b.meters[addr] = m
		b.order = append(b.order, m)
		var seed uint64
		for _, c := range m.Address {
			seed = seed*10 + uint64(c-'0')
		}
		b.rng[addr] = rand.New(rand.NewPCG(opts.Seed, seed))
	}
	return b, nil
}

// Exchange answers one request frame (field.Bus). It returns nil when no
// meter answers: a broadcast, an unknown or silent meter, a frame a meter
// would ignore.
//
// A read sent to an address with AA wildcards (DL/T 645-2007 abbreviated
// addressing: the low bytes given, the high bytes AA) is answered by every
// meter it matches, as on a real half-duplex line: one meter gives a clean
// reply, several give their replies at once, and where they overlap in
// time the line carries the wired AND of their bytes, which is garbage
// (see collide). Any other request to a wildcard is obeyed only by the
// single meter it matches.
func (b *Bus) Exchange(ctx context.Context, req []byte) []byte {
	var f dlt645.Frame
	if _, err := f.Decode(req); err != nil || f.Control.Reply() {
		return nil
	}
	now := b.opts.Now()
	if f.Address.IsBroadcast() {
		b.broadcast(&f, now)
		return nil
	}
	var replies []timedReply
	for _, addr := range b.targets(&f) {
		if r, ok := b.answerOne(addr, b.meters[addr], &f, now); ok {
			replies = append(replies, r)
		}
	}
	if len(replies) == 0 {
		return nil
	}
	first := replies[0].delay
	for _, r := range replies[1:] {
		first = min(first, r.delay)
	}
	if first > 0 {
		if b.opts.Sleep(ctx, first) != nil {
			return nil
		}
	}
	return collide(replies, first)
}

// timedReply is one meter's reply wire bytes and when it starts after the
// request.
type timedReply struct {
	delay time.Duration // the meter's own delay (a slow meter)
	turn  int           // its turnaround in byte times, beyond delay
	wire  []byte
}

// answerOne is meter m's reply to f, with its wire faults.
func (b *Bus) answerOne(addr dlt645.Address, m *model.Meter, f *dlt645.Frame, now time.Time) (timedReply, bool) {
	beh := m.Behaviour(now)
	if beh.Silent {
		return timedReply{}, false
	}
	ed := edition(m)
	msg, err := ed.Decode(f)
	if err != nil {
		return timedReply{}, false // a meter ignores what its edition does not speak
	}
	reply, ok := b.answer(ed, addr, m, &msg, now)
	if !ok {
		return timedReply{}, false
	}
	wire, err := reply.MarshalBinary()
	if err != nil {
		return timedReply{}, false
	}
	wire, damaged := b.misbehave(addr, beh, wire)
	b.count(addr, msg.Op, msg.DI, &reply, wire, damaged, now)
	// its own turnaround, 0 to 3 byte times (from its address, so runs
	// repeat), so that meters answering together overlap but not byte
	// for byte
	turn := int(addr[5]&0x0F) % 4
	return timedReply{delay: beh.Delay, turn: turn, wire: wire}, true
}

// byteTime is one byte on the line at 2400 baud (11 bits: start, 8 data,
// even parity, stop).
const byteTime = 11 * time.Second / 2400

// collide is what the line carries when replies start at their delays
// (counted from first): each byte slot carries the wired AND of the
// bytes sent in it; slots nobody sends in are not bytes at all. One reply
// comes through as it was sent.
func collide(replies []timedReply, first time.Duration) []byte {
	if len(replies) == 1 {
		return replies[0].wire
	}
	type span struct{ at, end int }
	spans := make([]span, len(replies))
	last := 0
	for i, r := range replies {
		at := int((r.delay-first)/byteTime) + r.turn
		spans[i] = span{at, at + len(r.wire)}
		last = max(last, spans[i].end)
	}
	var out []byte
	for slot := 0; slot < last; slot++ {
		var x byte = 0xFF
		sent := false
		for i, r := range replies {
			if sp := spans[i]; slot >= sp.at && slot < sp.end {
				x &= r.wire[slot-sp.at]
				sent = true
			}
		}
		if sent {
			out = append(out, x)
		}
	}
	return out
}

// targets are the meters a frame is for: its own address; with AA
// wildcards, for a read every meter that matches, for anything else the
// single meter that matches (none when several do).
func (b *Bus) targets(f *dlt645.Frame) []dlt645.Address {
	a := f.Address
	if !a.HasWildcard() {
		if _, ok := b.meters[a]; ok {
			return []dlt645.Address{a}
		}
		return nil
	}
	var out []dlt645.Address
	for _, m := range b.order {
		addr, _ := dlt645.ParseAddress(m.Address)
		if a.Matches(addr) {
			out = append(out, addr)
		}
	}
	if len(out) > 1 && !wildcardRead(f) {
		return nil
	}
	return out
}

// wildcardRead reports whether f reads (data, follow-up data or the
// address): what abbreviated addressing is for.
func wildcardRead(f *dlt645.Frame) bool {
	switch f.Control.Function() {
	case 0x11, 0x12, 0x13, 0x01, 0x02:
		return true
	}
	return false
}

func edition(m *model.Meter) dlt645.Edition {
	if m.Edition == 1997 {
		return dlt645.DLT1997
	}
	return dlt645.DLT2007
}

// misbehave applies the wire faults to a reply: corrupt bytes, a wrong
// checksum, a noise preamble. Each draw comes from the meter's own seeded
// generator, so runs repeat byte for byte. damaged says whether the
// frame's content was spoiled (a noise preamble does not spoil it).
func (b *Bus) misbehave(addr dlt645.Address, beh model.Behaviour, wire []byte) (_ []byte, damaged bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	rng := b.rng[addr]
	hit := func(rate float64) bool { return rate >= 1 || rng.Float64() < rate }
	if beh.CorruptBytes > 0 && hit(beh.CorruptRate) {
		// corrupt inside the data field, so that the frame stays framed
		// and fails its checksum or its decoding, as line noise does
		for range beh.CorruptBytes {
			if len(wire) > 12 {
				i := 10 + rng.IntN(len(wire)-12)
				wire[i] ^= byte(1 + rng.IntN(255))
				damaged = true
			}
		}
	}
	if beh.BadChecksumRate > 0 && hit(beh.BadChecksumRate) {
		wire[len(wire)-2] ^= 0x5A
		damaged = true
	}
	if beh.Noise > 0 {
		pre := make([]byte, beh.Noise, beh.Noise+len(wire))
		for i := range pre {
			pre[i] = dlt645.Wake
		}
		wire = append(pre, wire...)
	}
	return wire, damaged
}
