package gdw3761

import "fmt"

// Protocol is the protocol identifier in the two low bits of the length
// field.
type Protocol uint8

const (
	GDW130  Protocol = 1 // Q/GDW 130-2005
	GDW3761 Protocol = 2 // Q/GDW 376.1-2009 and Q/GDW 1376.1-2013
)

func (p Protocol) String() string {
	switch p {
	case GDW130:
		return "Q/GDW 130-2005"
	case GDW3761:
		return "Q/GDW 1376.1"
	}
	return fmt.Sprintf("Protocol(%d)", uint8(p))
}

// Framing constants.
const (
	Start = 0x68
	End   = 0x16

	headerLen = 6 // 68 L L 68
	// MinUserLen is the shortest user data: C, A (5 bytes), AFN, SEQ.
	MinUserLen = 8
	// MaxUserLen is the largest length the 14-bit length field holds.
	MaxUserLen = 1<<14 - 1
	// MinFrameLen and MaxFrameLen bound a whole frame, 68 to 16.
	MinFrameLen = headerLen + MinUserLen + 2
	MaxFrameLen = headerLen + MaxUserLen + 2
)

// PWLen returns the length of the PW field for protocol p: 16 bytes in
// 376.1 (2009 and 2013), 2 bytes in Q/GDW 130-2005.
func PWLen(p Protocol) int {
	if p == GDW130 {
		return 2
	}
	return 16
}

// HasPW reports whether a frame carries the PW field: downlink frames of
// AFN 01 (reset), 04 (set), 05 (control), 0F (file transfer) and 10
// (forwarding), and AFN 06 (authentication) both ways. This is the set of
// Q/GDW 1376.1-2013; 376.1-2009 had the same without 0F and 06 (a 2009
// terminal never sends those AFNs, so one rule decodes both).
func HasPW(afn AFN, up bool) bool {
	switch afn {
	case AFNReset, AFNSet, AFNControl, AFNFile, AFNTransfer:
		return !up
	case AFNAuth:
		return true
	}
	return false
}

// Frame is one 376.1 frame:
//
//	68 L L 68 C A AFN SEQ {DA DT data}… [EC] [PW] [Tp] CS 16
//
// Data holds the data units (DA DT and their data) without the auxiliary
// fields, which are decoded into EC, PW and Tp: EC is present on uplink
// frames with ACD set, PW on the frames [HasPW] names, Tp when SEQ has TpV.
// The zero Frame is a downlink frame of protocol 0, which does not encode;
// set Protocol (or use the request builders).
type Frame struct {
	Protocol Protocol
	Control  Control
	Address  Address
	AFN      AFN
	Seq      Seq
	Data     []byte
	EC       EC
	PW       [16]byte // first PWLen(Protocol) bytes used
	Tp       Tp
}

// HasEC reports whether the frame carries the event counters.
func (f *Frame) HasEC() bool { return f.Control.ACD() }

// HasPW reports whether the frame carries the PW field.
func (f *Frame) HasPW() bool { return HasPW(f.AFN, f.Control.Up()) }

func (f *Frame) auxLen() int {
	n := 0
	if f.HasEC() {
		n += 2
	}
	if f.HasPW() {
		n += PWLen(f.Protocol)
	}
	if f.Seq.TpV() {
		n += 6
	}
	return n
}

// AppendBinary appends the frame's wire bytes to b. It implements
// encoding.BinaryAppender.
func (f *Frame) AppendBinary(b []byte) ([]byte, error) {
	if f.Protocol != GDW3761 && f.Protocol != GDW130 {
		return b, fmt.Errorf("%w: protocol identifier %d, want 1 or 2", ErrRange, f.Protocol)
	}
	n := MinUserLen + len(f.Data) + f.auxLen()
	if n > MaxUserLen {
		return b, fmt.Errorf("%w: %d bytes of user data, at most %d", ErrRange, n, MaxUserLen)
	}
	l := uint16(n)<<2 | uint16(f.Protocol)
	start := len(b)
	b = append(b, Start, byte(l), byte(l>>8), byte(l), byte(l>>8), Start, byte(f.Control))
	b, err := f.Address.appendTo(b)
	if err != nil {
		return b[:start], err
	}
	b = append(b, byte(f.AFN), byte(f.Seq))
	b = append(b, f.Data...)
	if f.HasEC() {
		b = append(b, f.EC.Important, f.EC.Normal)
	}
	if f.HasPW() {
		b = append(b, f.PW[:PWLen(f.Protocol)]...)
	}
	if f.Seq.TpV() {
		b = append(b, f.Tp.PFC)
		if f.Tp.ff && f.Tp.Sent.IsZero() {
			b = append(b, 0xFF, 0xFF, 0xFF, 0xFF)
		} else if b, err = A16.Append(b, f.Tp.Sent); err != nil {
			return b[:start], fmt.Errorf("Tp send time: %w", err)
		}
		b = append(b, f.Tp.Delay)
	}
	var cs byte
	for _, x := range b[start+headerLen:] {
		cs += x
	}
	return append(b, cs, End), nil
}

// MarshalBinary returns the frame's wire bytes.
func (f *Frame) MarshalBinary() ([]byte, error) {
	return f.AppendBinary(make([]byte, 0, MinFrameLen+len(f.Data)+f.auxLen()))
}

// UnmarshalBinary parses exactly one frame; anything around it is an
// error. f.Data reuses its capacity.
func (f *Frame) UnmarshalBinary(b []byte) error {
	if len(b) > 0 && b[0] != Start {
		return &FrameError{Err: ErrNoFrame, Detail: fmt.Sprintf("byte %02X where 68 should start the frame", b[0])}
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

// Decode parses the first frame in b, skipping noise before it, and
// returns the number of bytes consumed through its end byte. Decoding into
// the same Frame again does not allocate. Decode stops at the first
// malformed frame; a [Reader] goes on past it.
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
			p = at + 1
		default:
			return at, scanError(b[at:], st, int64(at))
		}
	}
}

// load fills f from a frame known to be well framed at the start of b and
// returns base + its length.
func (f *Frame) load(b []byte, base int) (int, error) {
	l, proto := frameLen(b)
	end := base + headerLen + l + 2
	u := b[headerLen : headerLen+l]
	fail := func(format string, args ...any) (int, error) {
		return end, &FrameError{Offset: int64(base), Err: ErrLayout, Detail: fmt.Sprintf(format, args...)}
	}
	f.Protocol = proto
	f.Control = Control(u[0])
	a, err := decodeAddress(u[1:6])
	if err != nil {
		return fail("%v", err)
	}
	f.Address = a
	f.AFN = AFN(u[6])
	f.Seq = Seq(u[7])
	rest := u[MinUserLen:]
	aux := f.auxLen()
	if len(rest) < aux {
		return fail("%d bytes after SEQ, the auxiliary fields need %d", len(rest), aux)
	}
	d := rest[:len(rest)-aux]
	x := rest[len(d):]
	f.Data = append(f.Data[:0], d...)
	f.EC = EC{}
	f.PW = [16]byte{}
	f.Tp = Tp{}
	if f.HasEC() {
		f.EC = EC{x[0], x[1]}
		x = x[2:]
	}
	if f.HasPW() {
		n := PWLen(f.Protocol)
		copy(f.PW[:], x[:n])
		x = x[n:]
	}
	if f.Seq.TpV() {
		t, err := A16.Decode(x[1:5])
		if err != nil {
			return fail("Tp: %v", err)
		}
		f.Tp = Tp{PFC: x[0], Sent: t, Delay: x[5], ff: t.IsZero() && x[1] == 0xFF}
	}
	return end, nil
}

// Clone returns a copy of f whose Data does not alias f's.
func (f *Frame) Clone() Frame {
	c := *f
	c.Data = append([]byte(nil), f.Data...)
	return c
}

// frameLen returns the user data length and protocol of the header at b.
func frameLen(b []byte) (int, Protocol) {
	v := uint16(b[1]) | uint16(b[2])<<8
	return int(v >> 2), Protocol(v & 3)
}

// scan results.
const (
	scanNeedMore = iota
	scanFrameOK
	scanBadHeader
	scanEndByte
	scanChecksum
	scanCutOff
)

// scanFrame looks for a frame start at or after p, as in protocol/dlt645:
// it returns the status, the offset of the 68 found (-1 if none) and a
// length (for scanNeedMore the total frame length wanted, for a bad frame
// the bytes it spans). Framing is by the length field only. A frame that
// still needs bytes while a complete valid frame follows it inside b was
// cut off (scanCutOff), so the good frame is not held up. A candidate
// that fails while a valid frame starts inside its header is noise
// (scanBadHeader); unless final, a failing candidate with a possible frame
// in its header that is not complete yet waits for more bytes.
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
		return st, p, n
	}
	return scanNeedMore, -1, 0
}

// scanAt checks the candidate frame whose first 68 is at b[p]. A header is
// two equal length fields between two 68s, with protocol 1 or 2 and at
// least the 8 bytes of C, A, AFN and SEQ; anything else is noise.
func scanAt(b []byte, p int) (status, n int) {
	if len(b)-p < headerLen {
		if len(b)-p >= 3 {
			if l, proto := frameLen(b[p:]); l < MinUserLen || (proto != GDW3761 && proto != GDW130) {
				return scanBadHeader, 0
			}
		}
		return scanNeedMore, MinFrameLen
	}
	h := b[p : p+headerLen]
	l, proto := frameLen(h)
	if h[5] != Start || h[1] != h[3] || h[2] != h[4] || l < MinUserLen || (proto != GDW3761 && proto != GDW130) {
		return scanBadHeader, 0
	}
	n = headerLen + l + 2
	if len(b)-p < n {
		return scanNeedMore, n
	}
	if b[p+n-1] != End {
		return scanEndByte, n
	}
	var cs byte
	for _, x := range b[p+headerLen : p+n-2] {
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
	case scanEndByte:
		l, _ := frameLen(b)
		n := headerLen + l + 2
		return &FrameError{Offset: off, Err: ErrEndByte, Detail: fmt.Sprintf("byte %d is %02X, want 16", off+int64(n-1), b[n-1])}
	case scanCutOff:
		return &FrameError{Offset: off, Err: ErrTruncated, Detail: "cut off by the next frame"}
	case scanChecksum:
		l, _ := frameLen(b)
		n := headerLen + l + 2
		var cs byte
		for _, x := range b[headerLen : n-2] {
			cs += x
		}
		return &FrameError{Offset: off, Err: ErrChecksum, Detail: fmt.Sprintf("sum is %02X, frame says %02X", cs, b[n-2])}
	}
	return &FrameError{Offset: off, Err: ErrNoFrame}
}
