// Package master is the DL/T 645 master on one link: it sends a request,
// waits for the matching reply (skipping stray and corrupt frames, and
// counting them), follows up long answers, and turns replies into exact
// values. It knows frames and meters, not schedules or storage.
package master

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/protocol/dlt645"
)

// Master talks to the meters behind one link, one transaction at a time.
type Master struct {
	Link link.Link
	// Timeout is how long to wait for a reply; 0 means 2 s.
	Timeout time.Duration
	// Preamble is the number of FE bytes sent before each request; 0
	// means 4, negative means none.
	Preamble int
	// Now is the head-end's clock; nil is time.Now.
	Now   func() time.Time
	Stats Stats
}

// Stats count what happened on the link.
type Stats struct {
	Requests  atomic.Int64
	Replies   atomic.Int64
	Timeouts  atomic.Int64
	BadFrames atomic.Int64 // malformed frames received
	Stray     atomic.Int64 // well-formed frames that were not the reply awaited
	Abnormal  atomic.Int64
	// LatencySum and Answered give the mean time from request to reply
	// (of answered transactions), in nanoseconds.
	LatencySum  atomic.Int64
	Answered    atomic.Int64
	LastLatency atomic.Int64
}

// MeanLatency is the mean time from request to reply so far.
func (s *Stats) MeanLatency() time.Duration {
	n := s.Answered.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(s.LatencySum.Load() / n)
}

// ErrGarbage is a transaction that got only malformed or unrelated frames
// before the deadline.
var ErrGarbage = errors.New("master: only garbage before the deadline")

// Transaction is one request and the frames that answered it (the first
// reply and any follow-ups).
type Transaction struct {
	Request []byte
	Replies [][]byte // wire bytes of each reply frame, follow-ups included
	// Received are the frames that came while a reply was awaited and
	// were not it: malformed (as the link gave them; empty when it kept
	// no bytes) or stray.
	Received [][]byte
	Started  time.Time
	Done     time.Time
}

func (m *Master) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Master) timeout() time.Duration {
	if m.Timeout > 0 {
		return m.Timeout
	}
	return 2 * time.Second
}

func (m *Master) preamble() []byte {
	switch {
	case m.Preamble < 0:
		return nil
	case m.Preamble == 0:
		return dlt645.Preamble
	}
	return bytes.Repeat([]byte{dlt645.Wake}, min(m.Preamble, 4))
}

// Send writes a request that gets no reply (a broadcast).
func (m *Master) Send(ctx context.Context, f *dlt645.Frame) ([]byte, error) {
	b, err := f.AppendBinary(m.preamble())
	if err != nil {
		return nil, err
	}
	m.Link.Discard()
	m.Stats.Requests.Add(1)
	return b, m.Link.Send(ctx, b)
}

// Exchange sends req and waits for its reply: a frame from the meter
// addressed (any meter for a wildcard request), with the reply bit and
// the request's function code, and for reads the same DI. Stray frames
// and malformed ones are skipped and counted. An abnormal reply returns
// the Message with a *dlt645.MeterError.
func (m *Master) Exchange(ctx context.Context, ed dlt645.Edition, req *dlt645.Frame, tx *Transaction) (dlt645.Message, error) {
	wire, err := m.Send(ctx, req)
	if tx != nil && tx.Request == nil {
		tx.Request, tx.Started = wire, m.now() // the first request of a read; follow-ups add replies
	}
	if err != nil {
		return dlt645.Message{}, err
	}
	reqMsg, _ := ed.Decode(req)
	sent := time.Now() // latency is real time, whatever clock the head-end runs on
	deadline := m.now().Add(m.timeout())
	garbage := 0
	var bad error              // the last malformed frame's error
	skip := func(raw []byte) { // keeps a frame that was not the reply
		if tx != nil {
			tx.Received = append(tx.Received, bytes.Clone(raw))
		}
	}
	for {
		raw, err := m.Link.Receive(ctx, deadline)
		if err != nil {
			var fe *dlt645.FrameError
			if errors.As(err, &fe) {
				m.Stats.BadFrames.Add(1)
				garbage, bad = garbage+1, err
				skip(raw)
				continue
			}
			if errors.Is(err, link.ErrTimeout) {
				m.Stats.Timeouts.Add(1)
				if garbage > 0 {
					return dlt645.Message{}, fmt.Errorf("%w (%d malformed frames, the last: %v): %w", ErrGarbage, garbage, bad, err)
				}
			}
			return dlt645.Message{}, err
		}
		var f dlt645.Frame
		if err := f.UnmarshalBinary(raw); err != nil {
			m.Stats.BadFrames.Add(1)
			garbage, bad = garbage+1, err
			skip(raw)
			continue
		}
		if !f.Control.Reply() || f.Control.Function() != req.Control.Function() ||
			(!req.Address.HasWildcard() && f.Address != req.Address) {
			m.Stats.Stray.Add(1)
			skip(raw)
			continue
		}
		msg, err := ed.Decode(&f)
		var me *dlt645.MeterError
		if err != nil && !errors.As(err, &me) {
			m.Stats.BadFrames.Add(1)
			garbage, bad = garbage+1, err
			skip(raw)
			continue
		}
		if err == nil && reqMsg.HasDI && msg.HasDI && msg.DI != reqMsg.DI {
			m.Stats.Stray.Add(1)
			skip(raw)
			continue
		}
		if tx != nil {
			tx.Replies = append(tx.Replies, bytes.Clone(raw))
			tx.Done = m.now()
		}
		msg.Payload = bytes.Clone(msg.Payload)
		lat := time.Since(sent)
		m.Stats.LatencySum.Add(int64(lat))
		m.Stats.Answered.Add(1)
		m.Stats.LastLatency.Store(int64(lat))
		if me != nil {
			m.Stats.Abnormal.Add(1)
			return msg, me
		}
		m.Stats.Replies.Add(1)
		return msg, nil
	}
}

// ReadData sends a read request (built with Edition.ReadRequest or
// ReadProfileRequest) and returns the value bytes of the answer, joining
// follow-up frames (0x12 with SEQ) when the meter says more follows.
func (m *Master) ReadData(ctx context.Context, ed dlt645.Edition, req dlt645.Frame, tx *Transaction) ([]byte, error) {
	first, err := m.Exchange(ctx, ed, &req, tx)
	if err != nil {
		return nil, err
	}
	var a dlt645.Assembler
	if err := a.Start(&first); err != nil {
		return nil, err
	}
	for !a.Done() {
		next, err := a.Next()
		if err != nil {
			return nil, err
		}
		msg, err := m.Exchange(ctx, ed, &next, tx)
		if err != nil {
			return nil, fmt.Errorf("follow-up of %s: %w", a.DI().Format(ed), err)
		}
		if err := a.Add(&msg); err != nil {
			return nil, err
		}
	}
	return bytes.Clone(a.Data()), nil
}
