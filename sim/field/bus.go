// Package field puts simulated meters on the wire the ways a head-end
// meets them in the field: concentrators and serial servers it dials over
// TCP, concentrators that dial in to it (GPRS DTU style, with a
// registration packet and heartbeats), RS-485 lines on a pseudo-terminal,
// gateways on an MQTT broker, and Modbus TCP/RTU meters.
//
// The transports here know nothing of data identifiers or registers: they
// carry request bytes to a Bus (the meters behind the port) and carry its
// answer back, one transaction at a time, taking as long as the line would.
package field

import (
	"context"
	"time"
)

// Bus is what sits behind one concentrator port, serial server or
// gateway: the meters on one half-duplex line. Exchange takes the wire
// bytes of one DL/T 645 request frame and returns the wire bytes to send
// back, or nil when nobody answers (a broadcast, a dead meter, an address
// nobody has). Exchange is called for one transaction at a time per Bus.
type Bus interface {
	Exchange(ctx context.Context, req []byte) (reply []byte)
}

// BusFunc adapts a function to Bus.
type BusFunc func(ctx context.Context, req []byte) []byte

// Exchange calls f.
func (f BusFunc) Exchange(ctx context.Context, req []byte) []byte { return f(ctx, req) }

// LineTime is how long n bytes take on a serial line at baud bit/s with
// 11 bits a character (start, 8 data, even parity, stop: 8E1). Zero baud
// means an ideal line (no delay).
func LineTime(baud, n int) time.Duration {
	if baud <= 0 {
		return 0
	}
	return time.Duration(n) * 11 * time.Second / time.Duration(baud)
}

// Sleeper waits for d or until ctx is done. Transports take one so tests
// can run without real waits; nil means time-based waiting.
type Sleeper func(ctx context.Context, d time.Duration) error

// Sleep is the real Sleeper.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
