package dlt645

import (
	"fmt"
)

// Framing constants.
const (
	Start      = 0x68 // frame start, twice: before and after the address
	End        = 0x16 // frame end
	Wake       = 0xFE // wake-up preamble byte
	DataOffset = 0x33 // added to every data byte on the wire

	// MaxDataLen is the largest data field the standard allows (a read
	// reply; writes are smaller). A longer L is an oversize error.
	MaxDataLen = 200

	headerLen = 10 // 68 A0..A5 68 C L
	// MinFrameLen is a frame with no data: header, CS and 16.
	MinFrameLen = headerLen + 2
	// MaxFrameLen is a frame with MaxDataLen bytes of data.
	MaxFrameLen = MinFrameLen + MaxDataLen
)

// Preamble is the wake-up sequence masters send before a frame.
var Preamble = []byte{Wake, Wake, Wake, Wake}

// Frame is one DL/T 645 frame: the envelope around a request or reply.
// Data holds the data field with the 33H offset already removed. The
// zero Frame is a request with no data to address 000000000000.
type Frame struct {
	Address Address
	Control Control
	Data    []byte
}

// AppendBinary appends the frame's wire bytes (from the first 68 to the
// 16, no preamble) to b. It implements encoding.BinaryAppender.
func (f *Frame) AppendBinary(b []byte) ([]byte, error) {
	if len(f.Data) > MaxDataLen {
		return b, fmt.Errorf("%w: %d data bytes, at most %d", ErrOversize, len(f.Data), MaxDataLen)
	}
	if i, ok := f.Address.valid(); !ok {
		return b, fmt.Errorf("%w: address byte %d is %02X", ErrBCD, i, f.Address[i])
	}
	start := len(b)
	b = append(b, Start)
	for i := 5; i >= 0; i-- {
		b = append(b, f.Address[i])
	}
	b = append(b, Start, byte(f.Control), byte(len(f.Data)))
	for _, x := range f.Data {
		b = append(b, x+DataOffset)
	}
	var cs byte
	for _, x := range b[start:] {
		cs += x
	}
	return append(b, cs, End), nil
}

// MarshalBinary returns the frame's wire bytes without preamble.
func (f *Frame) MarshalBinary() ([]byte, error) {
	return f.AppendBinary(make([]byte, 0, MinFrameLen+len(f.Data)))
}

// UnmarshalBinary parses exactly one frame, optionally preceded by FE
// bytes. Anything else around it is an error. f.Data reuses its capacity.
func (f *Frame) UnmarshalBinary(b []byte) error {
	i := 0
	for i < len(b) && b[i] == Wake {
		i++
	}
	if i < len(b) && b[i] != Start {
		return &FrameError{Offset: int64(i), Err: ErrNoFrame, Detail: fmt.Sprintf("byte %02X where 68 should start the frame", b[i])}
	}
	n, err := f.Decode(b)
	if err != nil {
		return err
	}
	if n != len(b) {
		return &FrameError{Offset: int64(n), Err: ErrLayout, Detail: fmt.Sprintf("%d bytes after the frame", len(b)-n)}
	}
	return nil
}

// Decode parses the first frame in b, skipping FE preambles and any line
// noise before it, and returns the number of bytes consumed through its
// end byte. f.Data reuses its capacity, so decoding into the same Frame
// again does not allocate. A frame that ends past b is ErrTruncated.
//
// Decode stops at the first malformed frame; to go on past it, as a
// receiver must, use a [Reader].
func (f *Frame) Decode(b []byte) (int, error) {
	p := 0
	for {
		st, at, need := scanFrame(b, p, true)
		switch st {
		case scanNeedMore:
			if at < 0 {
				return len(b), &FrameError{Offset: int64(len(b)), Err: ErrNoFrame, Detail: fmt.Sprintf("no frame start in %d bytes", len(b))}
			}
			return len(b), &FrameError{Offset: int64(at), Err: ErrTruncated, Detail: fmt.Sprintf("have %d bytes of a frame, need %d", len(b)-at, need)}
		case scanFrameOK:
			return f.load(b[at:], at)
		case scanBadHeader:
			p = at + 1 // a 68 without a second 68 is noise
		default:
			return at, scanError(b[at:], st, int64(at))
		}
	}
}

// scan results.
const (
	scanNeedMore = iota
	scanFrameOK
	scanBadHeader
	scanOversize
	scanEndByte
	scanChecksum
	scanCutOff
)

// scanFrame looks for a frame start at or after p. It returns the status,
// the offset of the 68 found (-1 if none), and a length: for scanNeedMore
// the total frame length wanted from that offset, for a bad frame the
// bytes it spans (what its L says, or up to the frame that cut it off).
// Framing is by the length byte only: a 16 inside the data or as the
// checksum does not end a frame.
//
// A frame that still needs bytes while a complete, valid frame already
// follows it inside b was cut off (or its length byte is corrupt): it is
// reported as scanCutOff, so that the good frame behind it is not held up
// waiting for bytes that will never come.
//
// A candidate that fails while a valid frame starts inside its header (a
// stray 68 seven bytes before a frame has that frame's 68 as its "second
// 68") is noise, reported as scanBadHeader. Unless final (no more bytes
// will come), a failing candidate with a possible frame inside its header
// that is not complete yet waits for more bytes.
func scanFrame(b []byte, p int, final bool) (status, at, n int) {
	for ; p < len(b); p++ {
		if b[p] != Start {
			continue
		}
		st, n := scanAt(b, p)
		if st == scanFrameOK || st == scanBadHeader {
			return st, p, n
		}
		pending := false
		for q := p + 1; q < len(b) && q < p+headerLen; q++ {
			if b[q] == Start {
				switch s2, _ := scanAt(b, q); s2 {
				case scanFrameOK:
					return scanBadHeader, p, 0
				case scanNeedMore:
					pending = true
				}
			}
		}
		if st == scanNeedMore {
			for q := p + 1; q < len(b); q++ {
				if b[q] == Start {
					if s2, _ := scanAt(b, q); s2 == scanFrameOK {
						return scanCutOff, p, q - p
					}
				}
			}
			return st, p, n
		}
		if pending && !final {
			return scanNeedMore, p, 0
		}
		if st == scanOversize {
			n = headerLen
		}
		return st, p, n
	}
	return scanNeedMore, -1, 0
}

// scanAt checks the candidate frame whose first 68 is at b[p].
func scanAt(b []byte, p int) (status, n int) {
	if len(b)-p < headerLen {
		return scanNeedMore, MinFrameLen
	}
	if b[p+7] != Start {
		return scanBadHeader, 0
	}
	l := int(b[p+9])
	if l > MaxDataLen {
		return scanOversize, 0
	}
	n = MinFrameLen + l
	if len(b)-p < n {
		return scanNeedMore, n
	}
	if b[p+n-1] != End {
		return scanEndByte, n
	}
	var cs byte
	for _, x := range b[p : p+n-2] {
		cs += x
	}
	if cs != b[p+n-2] {
		return scanChecksum, n
	}
	return scanFrameOK, n
}

// scanError builds the error for a bad status at the start of b.
func scanError(b []byte, st int, off int64) error {
	switch st {
	case scanOversize:
		return &FrameError{Offset: off, Err: ErrOversize, Detail: fmt.Sprintf("L is %d, at most %d", b[9], MaxDataLen)}
	case scanEndByte:
		n := MinFrameLen + int(b[9])
		return &FrameError{Offset: off, Err: ErrEndByte, Detail: fmt.Sprintf("byte %d is %02X, want 16", off+int64(n-1), b[n-1])}
	case scanCutOff:
		return &FrameError{Offset: off, Err: ErrTruncated, Detail: "cut off by the next frame"}
	case scanChecksum:
		n := MinFrameLen + int(b[9])
		var cs byte
		for _, x := range b[:n-2] {
			cs += x
		}
		return &FrameError{Offset: off, Err: ErrChecksum, Detail: fmt.Sprintf("sum is %02X, frame says %02X", cs, b[n-2])}
	}
	return &FrameError{Offset: off, Err: ErrNoFrame}
}

// load fills f from a frame known to be well framed at the start of b, and
// returns the offset past it (relative to the caller's buffer: base + n).
func (f *Frame) load(b []byte, base int) (int, error) {
	l := int(b[9])
	for i := range 6 {
		f.Address[5-i] = b[1+i]
	}
	f.Control = Control(b[8])
	f.Data = f.Data[:0]
	for _, x := range b[headerLen : headerLen+l] {
		f.Data = append(f.Data, x-DataOffset)
	}
	n := base + MinFrameLen + l
	if i, ok := f.Address.valid(); !ok {
		return n, &FrameError{Offset: int64(base), Err: ErrBCD, Detail: fmt.Sprintf("address byte %d (wire byte %d) is %02X", i, base+6-i, f.Address[i])}
	}
	return n, nil
}

// Clone returns a copy of f whose Data does not alias f's.
func (f *Frame) Clone() Frame {
	c := *f
	c.Data = append([]byte(nil), f.Data...)
	return c
}
