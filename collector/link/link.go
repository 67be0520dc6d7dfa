// Package link carries DL/T 645 frames between the head-end and the meters
// on one half-duplex bus: a serial port, a TCP connection to a concentrator
// port or serial server, the connection of a concentrator that dialled in,
// or a gateway's pair of MQTT topics. It is the transporter of the
// collector (as goburrow/modbus splits packager from transporter): a link
// knows nothing of addresses or data identifiers, only frames and time.
package link

import (
	"context"
	"errors"
	"time"
)

// Link is one channel to one bus. One transaction is in flight at a time:
// the collector calls Send, then Receive until it has the reply or the
// deadline passes. Implementations are safe for use by one goroutine at a
// time, plus Close and State from any.
type Link interface {
	// Send writes one request frame (its wire bytes, preamble included).
	Send(ctx context.Context, frame []byte) error
	// Receive returns the wire bytes of the next frame to arrive (from
	// its first 68 to its 16), waiting until deadline at most. A
	// malformed frame comes back as a *dlt645.FrameError, so the caller
	// can count it and call Receive again; a deadline that passes
	// returns ErrTimeout. The bytes are valid until the next call.
	Receive(ctx context.Context, deadline time.Time) ([]byte, error)
	// Discard drops what was received and not yet read, such as a late
	// reply to an earlier request, before a new transaction.
	Discard()
	// State reports whether the link is up and when it last carried
	// bytes from the bus.
	State() State
	// Close releases the link; Send and Receive then fail with ErrClosed.
	Close() error
}

// State is a link's health, kept beside its data.
type State struct {
	Online   bool
	Since    time.Time // when Online last changed
	LastSeen time.Time // last byte received from the bus
	Err      string    // why it is offline, if it is
}

// Errors every Link returns in the same way.
var (
	ErrTimeout = errors.New("link: no reply before the deadline")
	ErrOffline = errors.New("link: not connected")
	ErrClosed  = errors.New("link: closed")
)
