package fieldops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/protocol/dlt645"
)

// The wildcard search finds meters whose addresses nobody knows, as field
// tools do. DL/T 645-2007 abbreviated addressing: a read sent to an
// address whose low bytes are given and whose high bytes are AA is
// answered by every meter whose address ends in those low bytes, with its
// real address in the reply. The search reads the communication address
// (04000401; 1997: C032) at AAAAAAAAAAAA; when that gets nothing, nobody
// is there; one clean reply is one meter, confirmed by a plain read at its
// full address; anything else (bytes that are no frame, a bad checksum,
// several frames, a reply from an address the pattern does not match)
// means several answered at once, and the search narrows: it fixes the
// next byte up, 00 to 99, and probes each of those patterns the same way.

// probeResult is what one wildcard probe heard.
type probeResult int

const (
	probeNone    probeResult = iota // nothing came back
	probeOne                        // one clean reply
	probeGarbled                    // several answered (or the line is noisy)
)

// searchDI is the data read by the search: the communication address.
func searchDI(ed dlt645.Edition) dlt645.DI {
	if ed == dlt645.DLT1997 {
		return 0xC032
	}
	return 0x04000401
}

// searcher is one wildcard search on a bus.
type searcher struct {
	s     *session
	ed    dlt645.Edition
	wait  time.Duration
	out   *ScanResult
	step  func(probing string)
	found map[dlt645.Address]bool
}

// wildcard searches the bus for meters speaking ed.
func (s *session) wildcard(ctx context.Context, ed dlt645.Edition, wait time.Duration, out *ScanResult, step func(string)) error {
	w := &searcher{s: s, ed: ed, wait: wait, out: out, step: step, found: map[dlt645.Address]bool{}}
	return w.narrow(ctx, dlt645.Wildcard, 0)
}

// narrow probes pattern, whose fixed low bytes are the last fixed of
// the six, and narrows under it when several meters answer.
func (w *searcher) narrow(ctx context.Context, pattern dlt645.Address, fixed int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	res, addr, err := w.probe(ctx, pattern)
	if err != nil {
		return err
	}
	switch res {
	case probeNone:
		return nil
	case probeOne:
		ok, err := w.confirm(ctx, addr)
		if err != nil || ok {
			return err
		}
		// the reply was no meter's: garbage that passed for a frame
	}
	if fixed == 6 {
		w.out.Found = append(w.out.Found, Found{Address: pattern.String(), Edition: w.ed, How: "wildcard",
			Note: "garbled replies only: something answers at this address (two meters sharing it, or a noisy line)"})
		w.found[pattern] = true
		return nil
	}
	i := 5 - fixed // the next byte up (Address is most significant first)
	for v := 0; v < 100; v++ {
		next := pattern
		next[i] = byte(v/10<<4 | v%10)
		if err := w.narrow(ctx, next, fixed+1); err != nil {
			return err
		}
	}
	return nil
}

// probe sends a read of the communication address to pattern and listens
// for the whole wait, whatever comes first: a second meter may answer
// later than the first (20 to 500 ms after the request, says the
// standard).
func (w *searcher) probe(ctx context.Context, pattern dlt645.Address) (probeResult, dlt645.Address, error) {
	s := w.s
	req, err := w.ed.ReadRequest(pattern, searchDI(w.ed))
	if err != nil {
		return 0, dlt645.Address{}, err
	}
	if err := s.pace(ctx); err != nil {
		return 0, dlt645.Address{}, err
	}
	sent := time.Now() // the link stamps arrivals on the real clock
	if _, err := s.m.Send(ctx, &req); err != nil {
		return 0, dlt645.Address{}, fmt.Errorf("%w: wildcard search on %s: %w", ErrBadAnswer, s.where(), err)
	}
	w.out.Requests++
	w.out.Probed++
	w.step(pattern.String())
	deadline := s.o.now().Add(w.wait)
	var replies []dlt645.Frame
	bad := 0
	for {
		raw, err := s.m.Link.Receive(ctx, deadline)
		if err != nil {
			var fe *dlt645.FrameError
			if errors.As(err, &fe) {
				bad++
				continue
			}
			if errors.Is(err, link.ErrTimeout) {
				break
			}
			return 0, dlt645.Address{}, fmt.Errorf("%w: wildcard search on %s: %w", ErrBadAnswer, s.where(), err)
		}
		var f dlt645.Frame
		if f.UnmarshalBinary(raw) != nil {
			bad++
			continue
		}
		replies = append(replies, f.Clone())
	}
	heard := s.m.Link.State().LastSeen.After(sent)
	switch {
	case len(replies) == 0 && bad == 0 && !heard:
		return probeNone, dlt645.Address{}, nil
	case len(replies) == 1 && bad == 0 && w.fits(&replies[0], pattern):
		return probeOne, replies[0].Address, nil
	}
	return probeGarbled, dlt645.Address{}, nil
}

// fits reports whether f is a reply to the search's read from a meter
// pattern matches.
func (w *searcher) fits(f *dlt645.Frame, pattern dlt645.Address) bool {
	if !f.Control.Reply() || f.Address.HasWildcard() || !pattern.Matches(f.Address) {
		return false
	}
	code, _ := w.ed.Code(dlt645.OpRead)
	if f.Control.Function() != code {
		return false
	}
	_, err := w.ed.Decode(f)
	var me *dlt645.MeterError
	return err == nil || errors.As(err, &me) // a refusal is a meter too
}

// confirm reads the communication address at addr itself: a meter that
// answers (or refuses) is there.
func (w *searcher) confirm(ctx context.Context, addr dlt645.Address) (bool, error) {
	if w.found[addr] {
		return true, nil
	}
	req, err := w.ed.ReadRequest(addr, searchDI(w.ed))
	if err != nil {
		return false, err
	}
	_, err = w.exchange(ctx, addr, &req)
	switch {
	case err == nil, errors.Is(err, ErrRefused):
	case errors.Is(err, ErrNoAnswer), errors.Is(err, ErrBadAnswer) && !errors.Is(err, link.ErrClosed):
		return false, nil
	default:
		return false, err
	}
	w.found[addr] = true
	f := Found{Address: addr.String(), Edition: w.ed, How: "wildcard"}
	if errors.Is(err, ErrRefused) {
		f.Note = "answered, refusing the read of its address"
	}
	w.out.Found = append(w.out.Found, f)
	w.step(addr.String())
	return true, nil
}

// exchange is session.exchange counting each request sent.
func (w *searcher) exchange(ctx context.Context, addr dlt645.Address, req *dlt645.Frame) (dlt645.Message, error) {
	s := w.s
	before := s.m.Stats.Requests.Load()
	msg, err := s.exchange(ctx, addr.String(), req)
	w.out.Requests += int(s.m.Stats.Requests.Load() - before)
	return msg, err
}
