package fieldops

import (
	"errors"
	"fmt"
)

// Errors the operations wrap, so that callers (the HTTP handlers, the
// command line) can tell the cases apart with errors.Is.
var (
	ErrUnknownMeter   = errors.New("unknown meter")   // not in the archive
	ErrUnknownChannel = errors.New("unknown channel") // not in the archive
	// ErrNoAnswer: the meter did not reply before the deadline.
	ErrNoAnswer = errors.New("meter did not answer")
	// ErrBadAnswer: no usable reply: only garbled frames, or the channel
	// is offline.
	ErrBadAnswer = errors.New("no usable answer")
	// ErrRefused: the meter answered with an abnormal reply (the error
	// chain holds the *dlt645.MeterError).
	ErrRefused = errors.New("meter refused")
	// ErrNotAllowed: the rules forbid the action now (a broadcast sync
	// for a drift beyond ±5 minutes, or near midnight).
	ErrNotAllowed = errors.New("not allowed")
	// ErrUnsupported: the meter or the mode cannot do it (relay control
	// on a 1997 meter, status without a daemon).
	ErrUnsupported = errors.New("not supported")
	// ErrUnavailable: the collector is not running.
	ErrUnavailable = errors.New("collector not running")
)

// ParamError is a bad parameter of a request: which one, and why. It is
// the caller's mistake (HTTP 400).
type ParamError struct {
	Param  string
	Reason string
}

func (e *ParamError) Error() string { return e.Param + ": " + e.Reason }

func badParam(param, format string, args ...any) error {
	return &ParamError{Param: param, Reason: fmt.Sprintf(format, args...)}
}
