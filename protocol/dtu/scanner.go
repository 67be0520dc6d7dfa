package dtu

import (
	"errors"
	"fmt"
	"io"

	"github.com/headend/headend/protocol/dlt645"
)

// Scanner splits the byte stream of a dial-in concentrator into packets
// and DL/T 645 frames. It skips noise and FE preambles; a malformed frame
// or packet comes back as an error (*[dlt645.FrameError] or
// *[PacketError]) and the next call goes on behind it, so one broken item
// never costs a good one behind it.
type Scanner struct {
	r       io.Reader
	buf     []byte
	start   int
	end     int
	base    int64 // stream offset of buf[0]
	eof     bool
	frame   dlt645.Frame
	raw     []byte
	skipped int64
	pkts    Packets // configured packets, looked for before anything else
	pktID   string
}

// NewScanner returns a Scanner reading from r.
func NewScanner(r io.Reader) *Scanner {
	return &Scanner{r: r, buf: make([]byte, 4*dlt645.MaxFrameLen)}
}

// Next returns the next item: a packet (p.Kind != 0) or the wire bytes of
// a frame, from its first 68 to its 16, valid until the next call (decode
// them with [dlt645.Frame.UnmarshalBinary]). At the end of the stream it
// returns io.EOF; errors from the underlying reader are returned as they
// are, with the bytes received so far kept for the next call.
func (s *Scanner) Next() (p Packet, frame []byte, err error) {
	for {
		b := s.buf[s.start:s.end]
		noise, n, p, frame, err := s.step(b)
		s.start += noise
		s.skipped += int64(noise)
		if n > 0 || err != nil {
			var fe *dlt645.FrameError
			if errors.As(err, &fe) {
				fe.Offset = s.base + int64(s.start)
			}
			s.start += n
			return p, frame, err
		}
		if s.eof {
			if s.start < s.end {
				off := s.base + int64(s.start)
				s.start = s.end
				return Packet{}, nil, fmt.Errorf("dtu: stream ended inside a packet or frame at byte %d: %w", off, ErrShort)
			}
			return Packet{}, nil, io.EOF
		}
		if err := s.fill(); err != nil {
			if err == io.EOF {
				s.eof = true
				continue
			}
			return Packet{}, nil, err
		}
	}
}

// SetPackets makes s recognise a DTU's configured packets (see
// [ConfigPackets]) besides the default ones: they are returned as packets
// of their kind with ID id, and never taken for frames or noise, even
// when they contain 68H.
func (s *Scanner) SetPackets(id string, p Packets) {
	s.pkts = p
	s.pktID = id
}

// Skipped returns how many bytes of noise and preamble were skipped so far.
func (s *Scanner) Skipped() int64 { return s.skipped }

// Buffered returns the number of bytes received and not yet consumed.
func (s *Scanner) Buffered() int { return s.end - s.start }

// step looks at b: noise bytes to skip, then n bytes of an item or error;
// n == 0 and a nil error mean more bytes are needed after the noise.
func (s *Scanner) step(b []byte) (noise, n int, p Packet, frame []byte, err error) {
	for i := 0; i < len(b); i++ {
		if len(s.pkts.Register) > 0 || len(s.pkts.Heartbeat) > 0 {
			switch k, n, err := s.pkts.Match(b[i:]); err {
			case nil:
				return i, n, Packet{Kind: k, ID: s.pktID}, nil, nil
			case ErrShort:
				return i, 0, Packet{}, nil, nil
			}
		}
		switch b[i] {
		case 'R', 'H':
			p, n, err := Parse(b[i:])
			switch {
			case err == nil:
				return i, n, p, nil, nil
			case err == ErrShort:
				return i, 0, Packet{}, nil, nil
			case err == ErrNotPacket:
				continue
			}
			return i, max(n, 1), Packet{}, nil, err
		case dlt645.Start:
			n, more, noiseByte, err := s.frameAt(b[i:])
			switch {
			case noiseByte:
				continue
			case err != nil:
				return i, n, Packet{}, nil, err
			case more && s.cutOff(b[i+1:]):
				return i, 1, Packet{}, nil, &dlt645.FrameError{Err: dlt645.ErrTruncated, Detail: "cut off by the next frame"}
			case more:
				return i, 0, Packet{}, nil, nil
			}
			s.raw = b[i : i+n]
			return i, n, Packet{}, s.raw, nil
		}
	}
	return len(b), 0, Packet{}, nil, nil
}

// frameAt looks at a candidate frame at b[0] (a 68): its length, or more
// bytes needed, or b[0] is noise, or what is wrong with it (n is then the
// bytes to skip).
func (s *Scanner) frameAt(b []byte) (n int, more, noise bool, err error) {
	m, err := s.frame.Decode(b)
	var fe *dlt645.FrameError
	switch {
	case err == nil:
		if m != dlt645.MinFrameLen+len(s.frame.Data) {
			return 0, false, true, nil // the frame Decode found starts later
		}
		return m, false, false, nil
	case !errors.As(err, &fe) || fe.Offset != 0:
		return 0, false, true, nil
	case errors.Is(err, dlt645.ErrTruncated):
		return 0, true, false, nil
	case errors.Is(err, dlt645.ErrBCD):
		return m, false, false, err // complete frame, bad address: consumed whole, as dlt645.Reader does
	}
	return 1, false, false, err
}

// cutOff reports whether a complete frame lies in b, so that an
// incomplete candidate frame before it will never be completed. Packets do
// not count: the data of a frame still arriving may spell one. A broken
// header followed by packets only delays them until enough bytes arrive to
// show that it is broken.
func (s *Scanner) cutOff(b []byte) bool {
	var f dlt645.Frame
	for q := range b {
		if b[q] != dlt645.Start {
			continue
		}
		if m, err := f.Decode(b[q:]); err == nil && m == dlt645.MinFrameLen+len(f.Data) {
			return true
		}
	}
	return false
}

func (s *Scanner) fill() error {
	if s.start > 0 {
		copy(s.buf, s.buf[s.start:s.end])
		s.base += int64(s.start)
		s.end -= s.start
		s.start = 0
	}
	if s.end == len(s.buf) {
		// Cannot happen: an undecided candidate is at most MaxFrameLen
		// bytes and the buffer holds four; drop a byte rather than loop.
		s.start++
		s.skipped++
		return nil
	}
	n, err := s.r.Read(s.buf[s.end:])
	s.end += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}
