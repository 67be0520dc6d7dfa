package gdw3761

import (
	"fmt"
	"time"
)

// SerialControl is the transparent forwarding control word of AFN 10 F1:
//
//	D7..D5 baud: 0 = 300, 1 = 600, 2 = 1200, 3 = 2400, 4 = 4800, 5 = 7200, 6 = 9600, 7 = 19200
//	D4     stop bits: 0 = 1, 1 = 2
//	D3     parity: 0 none, 1 parity on
//	D2     parity: 0 even, 1 odd
//	D1..D0 data bits: 0 = 5 .. 3 = 8
type SerialControl byte

var forwardBauds = [8]int{300, 600, 1200, 2400, 4800, 7200, 9600, 19200}

// MakeSerialControl builds the control word; parity is 'N', 'E' or 'O'.
// DL/T 645 meters are 2400 (or 1200) baud, 8E1.
func MakeSerialControl(baud int, parity byte, dataBits, stopBits int) (SerialControl, error) {
	var c SerialControl
	code := -1
	for i, b := range forwardBauds {
		if b == baud {
			code = i
		}
	}
	if code < 0 {
		return 0, fmt.Errorf("%w: forwarding baud %d", ErrRange, baud)
	}
	c |= SerialControl(code) << 5
	switch stopBits {
	case 1:
	case 2:
		c |= 0x10
	default:
		return 0, fmt.Errorf("%w: %d stop bits", ErrRange, stopBits)
	}
	switch parity {
	case 'N':
	case 'E':
		c |= 0x08
	case 'O':
		c |= 0x0C
	default:
		return 0, fmt.Errorf("%w: parity %q, want N, E or O", ErrRange, parity)
	}
	if dataBits < 5 || dataBits > 8 {
		return 0, fmt.Errorf("%w: %d data bits", ErrRange, dataBits)
	}
	return c | SerialControl(dataBits-5), nil
}

func (c SerialControl) Baud() int     { return forwardBauds[c>>5] }
func (c SerialControl) StopBits() int { return int(c>>4&1) + 1 }
func (c SerialControl) DataBits() int { return int(c&3) + 5 }

// Parity returns 'N', 'E' or 'O'.
func (c SerialControl) Parity() byte {
	switch {
	case c&0x08 == 0:
		return 'N'
	case c&0x04 != 0:
		return 'O'
	}
	return 'E'
}

func (c SerialControl) String() string {
	return fmt.Sprintf("%d %d%c%d", c.Baud(), c.DataBits(), c.Parity(), c.StopBits())
}

// ForwardRequest is the data of the AFN 10 F1 request: forward Data (a
// DL/T 645 frame) on the terminal's Port and wait for the answer.
type ForwardRequest struct {
	Port   uint8
	Serial SerialControl
	// FrameTimeout is how long to wait for the answer's first byte: sent
	// in units of 10 ms up to 1.27 s, above that in seconds up to 127 s.
	FrameTimeout time.Duration
	// ByteTimeout is the longest gap between bytes, in units of 10 ms up
	// to 2.55 s.
	ByteTimeout time.Duration
	Data        []byte // aliases the frame when decoded
}

func encodeFrameTimeout(d time.Duration) (byte, error) {
	switch {
	case d < 0 || d > 127*time.Second:
		return 0, fmt.Errorf("%w: frame timeout %v, at most 127 s", ErrRange, d)
	case d <= 1270*time.Millisecond:
		return byte(d / (10 * time.Millisecond)), nil
	}
	return 0x80 | byte((d+time.Second-1)/time.Second), nil
}

func decodeFrameTimeout(b byte) time.Duration {
	if b&0x80 != 0 {
		return time.Duration(b&0x7F) * time.Second
	}
	return time.Duration(b) * 10 * time.Millisecond
}

// UnmarshalUnit decodes the request; Data aliases b.
func (r *ForwardRequest) UnmarshalUnit(b []byte) error {
	if len(b) < 6 || len(b) != 6+int(le16(b[4:])) {
		return layoutErr("AFN 10 F1 request of %d bytes does not match its length field", len(b))
	}
	r.Port, r.Serial = b[0], SerialControl(b[1])
	r.FrameTimeout = decodeFrameTimeout(b[2])
	r.ByteTimeout = time.Duration(b[3]) * 10 * time.Millisecond
	r.Data = b[6:]
	return nil
}

// AppendUnit appends the request's data.
func (r *ForwardRequest) AppendUnit(b []byte) ([]byte, error) {
	ft, err := encodeFrameTimeout(r.FrameTimeout)
	if err != nil {
		return b, err
	}
	if r.ByteTimeout < 0 || r.ByteTimeout > 2550*time.Millisecond {
		return b, fmt.Errorf("%w: byte timeout %v, at most 2.55 s", ErrRange, r.ByteTimeout)
	}
	if len(r.Data) > 0xFFFF {
		return b, fmt.Errorf("%w: %d bytes to forward", ErrRange, len(r.Data))
	}
	b = append(b, r.Port, byte(r.Serial), ft, byte(r.ByteTimeout/(10*time.Millisecond)), byte(len(r.Data)), byte(len(r.Data)>>8))
	return append(b, r.Data...), nil
}

// ForwardReply is the data of the AFN 10 F1 reply: the meter's answer as
// received on Port (empty when the meter did not answer).
type ForwardReply struct {
	Port uint8
	Data []byte // aliases the frame when decoded
}

// UnmarshalUnit decodes the reply; Data aliases b.
func (r *ForwardReply) UnmarshalUnit(b []byte) error {
	if len(b) < 3 || len(b) != 3+int(le16(b[1:])) {
		return layoutErr("AFN 10 F1 reply of %d bytes does not match its length field", len(b))
	}
	r.Port, r.Data = b[0], b[3:]
	return nil
}

// AppendUnit appends the reply's data.
func (r *ForwardReply) AppendUnit(b []byte) ([]byte, error) {
	if len(r.Data) > 0xFFFF {
		return b, fmt.Errorf("%w: %d bytes forwarded", ErrRange, len(r.Data))
	}
	b = append(b, r.Port, byte(len(r.Data)), byte(len(r.Data)>>8))
	return append(b, r.Data...), nil
}
