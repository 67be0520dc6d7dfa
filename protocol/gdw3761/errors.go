package gdw3761

import (
	"errors"
	"fmt"
)

// Frame and data errors. A [FrameError] or [UnitError] wraps one of these,
// so callers can count them with errors.Is and go on with the next frame.
var (
	ErrChecksum  = errors.New("gdw3761: bad checksum")
	ErrEndByte   = errors.New("gdw3761: bad end byte")
	ErrTruncated = errors.New("gdw3761: truncated frame")
	ErrNoFrame   = errors.New("gdw3761: no frame")
	ErrLayout    = errors.New("gdw3761: data does not fit the layout")
	ErrBCD       = errors.New("gdw3761: bad BCD")
	ErrRange     = errors.New("gdw3761: value out of range")
	ErrUnknown   = errors.New("gdw3761: unknown data unit")
	ErrSequence  = errors.New("gdw3761: multi-frame sequence broken")
)

// FrameError is a malformed frame: what is wrong, and the byte offset of
// its first 68 in the input (the stream offset for a [Reader]).
type FrameError struct {
	Offset int64
	Err    error  // ErrChecksum, ErrEndByte, ErrTruncated or ErrLayout
	Detail string // e.g. "sum is 3C, frame says 3D"
}

func (e *FrameError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("%v at byte %d", e.Err, e.Offset)
	}
	return fmt.Sprintf("%v at byte %d: %s", e.Err, e.Offset, e.Detail)
}

func (e *FrameError) Unwrap() error { return e.Err }

// UnitError is a data unit that does not decode: which one, where in the
// frame's data field, and why.
type UnitError struct {
	AFN    AFN
	Pn     uint16
	Fn     uint8
	Offset int   // offset in Frame.Data of the unit's data
	Err    error // ErrLayout, ErrBCD, ErrRange or ErrUnknown
	Detail string
}

func (e *UnitError) Error() string {
	s := fmt.Sprintf("%v: AFN %02X p%d F%d at data byte %d", e.Err, byte(e.AFN), e.Pn, e.Fn, e.Offset)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *UnitError) Unwrap() error { return e.Err }

func layoutErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrLayout}, args...)...)
}
