// Package modbus reads Modbus meters and maps their registers to the
// same readings a DL/T 645 meter gives: a request for DI 00010000
// (forward active energy total) reads the import energy register, and
// so on, so that storage, VEE and billing see one kind of read. The
// register map is the Eastron SDM630's input registers (float32, high
// word first).
//
// A channel reaches its meters by one of three transports: Modbus TCP
// (MBAP), RTU on a local serial port, or RTU over TCP through a serial
// server or DTU that passes the RTU bytes through.
//
// The client is github.com/grid-x/modbus, the maintained fork of
// goburrow/modbus (which it replaces: one Modbus library in go.mod), for
// two things goburrow lacks: a context on every request, and an
// RTU-over-TCP transporter. What its source
// (v0.0.0-20260701064235-82e41c9acfb6) was read for:
//
//   - The context ends a dial, the silent period after connecting and
//     the inter-frame wait on a serial port, but not a read or write in
//     progress, which only the handler's Timeout bounds. So on TCP this
//     package dials through its own function and sets a passed deadline
//     on the connection when the context ends or Close is called (see
//     line); on a serial port a cancelled transaction ends within its
//     timeout.
//   - Its RTU-over-TCP transporter frames the answer by the request's
//     function code, but takes an exception reply only whole from its
//     first read (it tests the function code with & 0x80, not | 0x80):
//     an exception split after its fourth byte fails the CRC
//     (TestSplitAnswers).
//   - It checks the CRC and unit id in its packager, which this package
//     wraps to tell a bad answer ([ErrBadAnswer], counted) from a
//     timeout. After any failure but an exception the connection or
//     port is dropped, so nothing stale or split is left for the next
//     transaction.
//
// [Protocol.Close] closes the handler; the collector calls it when a
// reload removes or changes the channel, and at shutdown.
package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	gmodbus "github.com/grid-x/modbus"
	"github.com/grid-x/serial"

	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// quantity is one DL/T 645 value and where an SDM630 keeps it.
type quantity struct {
	di    dlt645.DI
	name  string
	unit  string
	addr  uint16  // input register of the float32
	scale uint8   // decimals kept, as in the DL/T 645 format
	mult  float64 // register unit to DL/T 645 unit (W to kW: 0.001)
}

// sdm630 maps DL/T 645 DIs (blocks expand to their members) to registers.
var sdm630 = map[dlt645.DI][]quantity{
	0x00010000: {{0x00010000, "forward active energy total", "kWh", 0x0048, 2, 1}},
	0x00020000: {{0x00020000, "reverse active energy total", "kWh", 0x004A, 2, 1}},
	0x0201FF00: {
		{0x02010100, "phase A voltage", "V", 0x0000, 1, 1},
		{0x02010200, "phase B voltage", "V", 0x0002, 1, 1},
		{0x02010300, "phase C voltage", "V", 0x0004, 1, 1}},
	0x0202FF00: {
		{0x02020100, "phase A current", "A", 0x0006, 3, 1},
		{0x02020200, "phase B current", "A", 0x0008, 3, 1},
		{0x02020300, "phase C current", "A", 0x000A, 3, 1}},
	0x02030000: {{0x02030000, "active power total", "kW", 0x0034, 4, 0.001}},
	0x02060000: {{0x02060000, "power factor total", "", 0x003E, 3, 1}},
	0x02800002: {{0x02800002, "grid frequency", "Hz", 0x0046, 2, 1}},
}

// Protocol reads SDM630 meters through a grid-x/modbus client handler;
// it implements poll.Protocol. One transaction is on the line at a time;
// [New] makes one.
type Protocol struct {
	channel string
	now     func() time.Time
	handler handler
	client  gmodbus.Client
	line    *line // TCP transports; nil on a serial port

	tx     sync.Mutex // one transaction at a time: the unit id is the handler's
	mu     sync.Mutex
	state  State
	closed bool
	bad    atomic.Int64
}

// State is how the line to the meters is: up since the first answer
// after a failure, down since the first transport error after an answer.
// Since is on the host's clock (not Config.Now, which stamps reads).
type State struct {
	Online  bool      `json:"online"`
	Since   time.Time `json:"since,omitzero"`
	LastErr string    `json:"last_error,omitempty"`
}

// State returns the line's state now.
func (p *Protocol) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// BadAnswers is how many answers did not check ([ErrBadAnswer]).
func (p *Protocol) BadAnswers() int64 { return p.bad.Load() }

func (p *Protocol) observe(err error, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	online := err == nil
	if online != p.state.Online || p.state.Since.IsZero() {
		p.state.Online, p.state.Since = online, at
	}
	if err != nil {
		p.state.LastErr = err.Error()
	}
}

// Close releases the connection or the port, cutting a transaction on a
// TCP transport short (one on a serial port ends within its timeout);
// later transactions fail with [ErrClosed]. It is safe to call more
// than once.
func (p *Protocol) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	if p.line != nil {
		p.line.close()
	}
	p.tx.Lock()
	defer p.tx.Unlock()
	return p.handler.Close()
}

func (p *Protocol) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// exception reports whether err is the meter's own answer, a Modbus
// exception, rather than the line's fault.
func exception(err error) bool {
	var ex *gmodbus.Error
	return errors.As(err, &ex)
}

// silent reports whether err is a timeout waiting for the answer.
func silent(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, serial.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
}

// Do reads the registers behind rq.DI. A DI the map does not have is "no
// data", as a DL/T 645 meter would say. When ctx ends, the transaction
// is cut short (on a serial port, within its timeout).
func (p *Protocol) Do(ctx context.Context, t poll.Target, rq poll.Request, base meter.Read) ([]meter.Read, error) {
	now := p.now
	if now == nil {
		now = time.Now
	}
	qs, ok := sdm630[rq.DI]
	if !ok {
		base.Status, base.Err, base.ReadAt = meter.NoData, fmt.Sprintf("the SDM630 map has no %s", rq.DI), now()
		return []meter.Read{base}, nil
	}
	// one request spanning the block's registers
	lo, hi := qs[0].addr, qs[len(qs)-1].addr+2
	b, err := p.transact(ctx, t.Unit, lo, hi-lo)
	base.ReadAt = now()
	if err != nil {
		return nil, fmt.Errorf("channel %s meter %s (unit %d) registers %04X..%04X: %w", p.channel, t.Address, t.Unit, lo, hi-1, err)
	}
	out := make([]meter.Read, 0, len(qs))
	for _, q := range qs {
		off := int(q.addr-lo) * 2
		f := float64(math.Float32frombits(binary.BigEndian.Uint32(b[off:])))
		r := base
		r.DI, r.Quantity, r.Unit, r.Status = q.di, q.name, q.unit, meter.OK
		if math.IsNaN(f) || math.IsInf(f, 0) {
			r.Status, r.Err = meter.Failed, fmt.Sprintf("register %04X is not a number", q.addr)
		} else {
			sc := resolution(float32(f), q.mult, q.scale)
			r.Value = dlt645.Decimal{Units: int64(math.Round(f * q.mult * math.Pow10(int(sc)))), Scale: sc}
		}
		r.Frame.Reply = [][]byte{append([]byte(nil), b...)}
		out = append(out, r)
	}
	return out, nil
}

// transact reads count input registers from addr of unit: one
// transaction, the line's state kept. After any failure but an exception
// the connection (or port) is dropped, so that the next transaction
// starts clean: no late or garbled answer is left to be taken for its.
func (p *Protocol) transact(ctx context.Context, unit byte, addr, count uint16) ([]byte, error) {
	p.tx.Lock()
	defer p.tx.Unlock()
	if p.isClosed() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p.handler.SetSlave(unit)
	var stop func() bool
	if p.line != nil {
		stop = p.line.watch(ctx)
	}
	b, err := p.client.ReadInputRegisters(ctx, addr, count)
	if stop != nil {
		stop()
	}
	var size *gmodbus.DataSizeError
	switch {
	case err == nil && len(b) != int(count)*2:
		err = fmt.Errorf("%w: %d bytes for %d registers", ErrBadAnswer, len(b), count)
	case errors.As(err, &size):
		err = fmt.Errorf("%w: %w", ErrBadAnswer, err)
	}
	switch {
	case err == nil || exception(err):
		p.observe(nil, time.Now()) // the line's state is on the host's clock, as every link's is
		return b, err
	case ctx.Err() != nil:
		// cut short: not the line's fault
		err = fmt.Errorf("%w (%w)", ctx.Err(), err)
	case errors.Is(err, ErrBadAnswer):
		p.bad.Add(1)
		p.observe(nil, time.Now()) // something answered
	case silent(err):
		// the port is open or the connection up, the meter did not
		// answer: as for a DL/T 645 meter, the line's state stays
	default:
		p.observe(err, time.Now())
	}
	p.handler.Close() // the next transaction dials (or opens the port) again
	return nil, err
}

// resolution is the decimals a float32 register value v (times mult)
// really carries, at most max: a float32 holds 24 bits of mantissa, so
// above 131,072 kWh it cannot tell 0.01 kWh apart (at 200,000 kWh its
// step is 0.015625: one decimal). The Decimal's scale says so, rather
// than inventing digits.
func resolution(v float32, mult float64, max uint8) uint8 {
	step := float64(math.Nextafter32(float32(math.Abs(float64(v))), float32(math.Inf(1)))-float32(math.Abs(float64(v)))) * mult
	if step <= 0 || math.IsInf(step, 0) {
		return max
	}
	d := math.Floor(-math.Log10(step))
	switch {
	case d < 0:
		return 0
	case d < float64(max):
		return uint8(d)
	}
	return max
}
