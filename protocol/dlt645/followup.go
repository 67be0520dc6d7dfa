package dlt645

import (
	"errors"
	"fmt"
)

// ErrFollowUp reports a follow-up reply that does not continue the answer
// being assembled (another DI, a sequence number out of order).
var ErrFollowUp = errors.New("dlt645: follow-up out of order")

// Assembler joins an answer that a meter spreads over several frames: the
// first reply (91 with the follow-up bit, B1) and follow-up replies to
// 0x12 requests (B2 ... 92), each carrying the next SEQ. A client loops:
//
//	a.Start(first)
//	for !a.Done() {
//		req, _ := a.Next()      // the 0x12 request to send
//		reply := exchange(req)  // transport
//		if err := a.Add(reply); err != nil { ... }
//	}
//	data := a.Data()
//
// SEQ counts from 1 for the first follow-up request, and the meter echoes
// it in its reply. The 1997 edition has no SEQ; the Assembler then only
// checks the DI.
type Assembler struct {
	edition Edition
	addr    Address
	di      DI
	seq     int
	data    []byte
	done    bool
	started bool
}

// Start takes the first reply of a read. It resets the Assembler.
func (a *Assembler) Start(m *Message) error {
	a.data = a.data[:0]
	a.started, a.done = false, false
	if !m.Control.Reply() || m.Op != OpRead || !m.HasDI {
		return fmt.Errorf("%w: first part must be a read reply, got %s", ErrFollowUp, m.Op)
	}
	a.edition, a.addr, a.di = m.Edition, m.Address, m.DI
	a.seq = 0
	a.data = append(a.data, m.Payload...)
	a.done = !m.Control.More()
	a.started = true
	return nil
}

// Done reports whether the last part has arrived.
func (a *Assembler) Done() bool { return a.done }

// Next returns the follow-up request for the next part.
func (a *Assembler) Next() (Frame, error) {
	if !a.started || a.done {
		return Frame{}, fmt.Errorf("%w: nothing more to ask for", ErrFollowUp)
	}
	return a.edition.ReadFollowUpRequest(a.addr, a.di, byte(a.seq+1))
}

// Add takes a follow-up reply.
func (a *Assembler) Add(m *Message) error {
	if !a.started || a.done {
		return fmt.Errorf("%w: no part was asked for", ErrFollowUp)
	}
	if !m.Control.Reply() || m.Op != OpReadFollowUp || m.DI != a.di || m.Address != a.addr {
		return fmt.Errorf("%w: want a follow-up of DI %s from %s, got %s of DI %s from %s",
			ErrFollowUp, a.di.Format(a.edition), a.addr, m.Op, m.DI.Format(a.edition), m.Address)
	}
	if a.edition == DLT2007 && m.Seq != a.seq+1 {
		return fmt.Errorf("%w: want SEQ %d, got %d", ErrFollowUp, a.seq+1, m.Seq)
	}
	a.seq++
	a.data = append(a.data, m.Payload...)
	a.done = !m.Control.More()
	return nil
}

// Data returns the joined value bytes; valid until the next Start.
func (a *Assembler) Data() []byte { return a.data }

// DI returns the data identifier being read.
func (a *Assembler) DI() DI { return a.di }

// SplitReply cuts a long answer into the frames a meter sends: the first
// read reply and follow-up replies of at most MaxDataLen bytes each, SEQ
// counting from 1. It is the meter's (and the simulator's) side of the
// Assembler.
func (e Edition) SplitReply(addr Address, di DI, data []byte) ([]Frame, error) {
	first := MaxDataLen - e.diSize()
	rest := first
	if e == DLT2007 {
		rest-- // room for SEQ
	}
	n := min(len(data), first)
	f, err := e.ReadReply(addr, di, data[:n], n < len(data))
	if err != nil {
		return nil, err
	}
	out := []Frame{f}
	for seq := 1; n < len(data); seq++ {
		m := min(len(data)-n, rest)
		if seq > 255 {
			return nil, fmt.Errorf("dlt645: answer of %d bytes needs more than 255 follow-ups", len(data))
		}
		f, err := e.ReadFollowUpReply(addr, di, data[n:n+m], byte(seq), n+m < len(data))
		if err != nil {
			return nil, err
		}
		out = append(out, f)
		n += m
	}
	return out, nil
}
