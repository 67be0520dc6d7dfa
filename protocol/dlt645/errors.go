package dlt645

import (
	"errors"
	"fmt"
	"strings"
)

// Frame errors. A [FrameError] wraps one of these, so callers can count
// them with errors.Is and go on with the next frame.
var (
	ErrChecksum  = errors.New("dlt645: bad checksum")
	ErrEndByte   = errors.New("dlt645: bad end byte")
	ErrTruncated = errors.New("dlt645: truncated frame")
	ErrOversize  = errors.New("dlt645: oversize length")
	ErrNoFrame   = errors.New("dlt645: no frame")
	ErrLayout    = errors.New("dlt645: data field does not fit the function")
)

// FrameError is a malformed frame: what is wrong, and the byte offset of
// its first 68 in the input (the stream offset for a [Reader]).
type FrameError struct {
	Offset int64
	Err    error  // ErrChecksum, ErrEndByte, ErrTruncated, ErrOversize, ErrBCD or ErrLayout
	Detail string // e.g. "sum is 3C, frame says 3D"
}

func (e *FrameError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("%v at byte %d", e.Err, e.Offset)
	}
	return fmt.Sprintf("%v at byte %d: %s", e.Err, e.Offset, e.Detail)
}

func (e *FrameError) Unwrap() error { return e.Err }

// ErrBits is the ERR byte of an abnormal reply. Its bits mean different
// things in the two editions; [ErrBits.Names] needs the edition.
type ErrBits byte

var errBitNames = [2][8]string{
	DLT2007: {"other error", "no requested data", "password wrong or unauthorised", "baud rate cannot change",
		"too many year time zones", "too many daily periods", "too many tariffs", "reserved bit 7"},
	DLT1997: {"illegal data", "wrong data identifier", "password wrong", "reserved bit 3",
		"too many year time zones", "too many daily periods", "too many tariffs", "reserved bit 7"},
}

// Names returns the names of the bits set, in bit order.
func (b ErrBits) Names(ed Edition) []string {
	var out []string
	for i := range 8 {
		if b&(1<<i) != 0 {
			out = append(out, errBitNames[ed&1][i])
		}
	}
	return out
}

// MeterError is an abnormal reply: the meter understood the request and
// refused it. It is what [Edition.Decode] returns for C = D1, D4, C1 ...
type MeterError struct {
	Edition  Edition
	Address  Address
	Function byte // function code of the request refused
	Name     string
	Err      ErrBits
}

func (e *MeterError) Error() string {
	names := e.Err.Names(e.Edition)
	if len(names) == 0 {
		names = []string{"no ERR bit set"}
	}
	return fmt.Sprintf("dlt645: meter %s refused %s (%02X): ERR %02X: %s", e.Address, e.Name, e.Function, byte(e.Err), strings.Join(names, ", "))
}

// Has reports whether bit is set in the ERR byte (bit 0..7).
func (e *MeterError) Has(bit uint) bool { return e.Err&(1<<bit) != 0 }

// NoData reports whether the meter said it has no such data (2007 bit 1,
// 1997 bit 1 "wrong data identifier").
func (e *MeterError) NoData() bool { return e.Has(1) }

// Unauthorised reports whether the meter refused the password (bit 2).
func (e *MeterError) Unauthorised() bool { return e.Has(2) }
