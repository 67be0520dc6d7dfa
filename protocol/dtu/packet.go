package dtu

import (
	"errors"
	"fmt"
)

// Limits of the format.
const (
	MaxIDLen     = 32                         // longest concentrator id
	MaxPacketLen = len("REG ") + MaxIDLen + 2 // longest packet, with CR LF
)

// Kind is what a packet says.
type Kind uint8

// The packet kinds. The zero Kind is no packet.
const (
	Registration Kind = iota + 1 // REG: a new connection says who it is
	Heartbeat                    // HB: the connection is alive
)

var keywords = [...]string{Registration: "REG ", Heartbeat: "HB "}

// String returns the keyword: REG or HB.
func (k Kind) String() string {
	if k == Registration || k == Heartbeat {
		return keywords[k][:len(keywords[k])-1]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Packet is one registration or heartbeat.
type Packet struct {
	Kind Kind
	ID   string
}

// String returns the packet as sent, without CR LF: "REG C0001".
func (p Packet) String() string { return p.Kind.String() + " " + p.ID }

// AppendBinary appends the packet's wire bytes to b. It implements
// encoding.BinaryAppender.
func (p Packet) AppendBinary(b []byte) ([]byte, error) {
	if p.Kind != Registration && p.Kind != Heartbeat {
		return b, fmt.Errorf("dtu: no such packet kind %d", p.Kind)
	}
	if err := CheckID(p.ID); err != nil {
		return b, err
	}
	b = append(b, keywords[p.Kind]...)
	b = append(b, p.ID...)
	return append(b, '\r', '\n'), nil
}

// AppendRegistration appends "REG <id>\r\n" to dst.
func AppendRegistration(dst []byte, id string) ([]byte, error) {
	return Packet{Kind: Registration, ID: id}.AppendBinary(dst)
}

// AppendHeartbeat appends "HB <id>\r\n" to dst.
func AppendHeartbeat(dst []byte, id string) ([]byte, error) {
	return Packet{Kind: Heartbeat, ID: id}.AppendBinary(dst)
}

// Errors. A malformed packet is a *[PacketError] wrapping ErrBadID,
// ErrTooLong or ErrNoCRLF; ErrNotPacket and ErrShort are returned bare.
var (
	ErrNotPacket = errors.New("dtu: not a packet")
	ErrShort     = errors.New("dtu: packet incomplete")
	ErrBadID     = errors.New("dtu: bad id")
	ErrTooLong   = errors.New("dtu: id too long")
	ErrNoCRLF    = errors.New("dtu: no CR LF after the id")
)

// PacketError is a malformed packet: its kind, what is wrong, and the
// details, e.g. `byte 'a' at 5 is not allowed in an id`.
type PacketError struct {
	Kind   Kind
	Err    error // ErrBadID, ErrTooLong, ErrNoCRLF, or ErrShort at the end of a stream
	Detail string
}

func (e *PacketError) Error() string {
	if e.Kind == 0 {
		return fmt.Sprintf("%v: %s", e.Err, e.Detail)
	}
	return fmt.Sprintf("%v in %v packet: %s", e.Err, e.Kind, e.Detail)
}

func (e *PacketError) Unwrap() error { return e.Err }

// CheckID reports whether id is a valid concentrator id.
func CheckID(id string) error {
	if id == "" {
		return &PacketError{Err: ErrBadID, Detail: "empty id"}
	}
	if len(id) > MaxIDLen {
		return &PacketError{Err: ErrTooLong, Detail: fmt.Sprintf("%d characters, at most %d", len(id), MaxIDLen)}
	}
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			return &PacketError{Err: ErrBadID, Detail: fmt.Sprintf("byte %q at %d is not allowed in an id", id[i], i)}
		}
	}
	return nil
}

func idChar(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || c == '_' || c == '-'
}

// Parse looks for a packet at the start of b, which is a receiver's
// position in the stream. It returns:
//
//   - the packet and its length n, with a nil error;
//   - ErrNotPacket and n = 0 when b[0] does not begin a packet (it is a
//     frame, noise, or a word that is not a keyword);
//   - ErrShort and n = 0 when b is a beginning of a packet that ends past b
//     (at most [MaxPacketLen] bytes are ever needed to decide);
//   - a *[PacketError] when b begins with a keyword and what follows is
//     not a valid id and CR LF. n is then the bytes up to the offending one,
//     so the receiver goes on from that byte; they never include a 68H.
func Parse(b []byte) (p Packet, n int, err error) {
	var kind Kind
	for _, k := range []Kind{Registration, Heartbeat} {
		kw := keywords[k]
		m := min(len(b), len(kw))
		if string(b[:m]) == kw[:m] {
			if m < len(kw) {
				return Packet{}, 0, ErrShort
			}
			kind = k
			break
		}
	}
	if kind == 0 {
		return Packet{}, 0, ErrNotPacket
	}
	start := len(keywords[kind])
	i := start
	for ; i < len(b) && idChar(b[i]); i++ {
		if i-start == MaxIDLen {
			return Packet{}, i, &PacketError{Kind: kind, Err: ErrTooLong, Detail: fmt.Sprintf("more than %d characters", MaxIDLen)}
		}
	}
	switch {
	case i == len(b):
		return Packet{}, 0, ErrShort
	case i == start && b[i] == '\r':
		return Packet{}, i, &PacketError{Kind: kind, Err: ErrBadID, Detail: "empty id"}
	case b[i] > ' ' && b[i] < 0x7F && b[i] != 0x68: // 68 is a frame behind a packet without CR LF
		return Packet{}, i, &PacketError{Kind: kind, Err: ErrBadID, Detail: fmt.Sprintf("byte %q at %d is not allowed in an id", b[i], i)}
	case i == start:
		return Packet{}, i, &PacketError{Kind: kind, Err: ErrBadID, Detail: fmt.Sprintf("no id, byte %02X at %d", b[i], i)}
	case b[i] != '\r':
		return Packet{}, i, &PacketError{Kind: kind, Err: ErrNoCRLF, Detail: fmt.Sprintf("byte %02X at %d after the id", b[i], i)}
	case i+1 == len(b):
		return Packet{}, 0, ErrShort
	case b[i+1] != '\n':
		return Packet{}, i, &PacketError{Kind: kind, Err: ErrNoCRLF, Detail: fmt.Sprintf("byte %02X at %d after CR", b[i+1], i+1)}
	}
	return Packet{Kind: kind, ID: string(b[start:i])}, i + 2, nil
}
