// Package modbus reads Modbus meters (TCP or RTU, through
// github.com/goburrow/modbus) and maps their registers to the same
// readings a DL/T 645 meter gives: a request for DI 00010000 (forward
// active energy total) reads the import energy register, and so on, so
// that storage, VEE and billing see one kind of read. The register map is
// the Eastron SDM630's input registers (float32, high word first).
package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	gmodbus "github.com/goburrow/modbus"

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

// Client is the part of a goburrow client a reader needs.
type Client interface {
	ReadInputRegisters(address, quantity uint16) ([]byte, error)
}

// Protocol reads SDM630 meters through a Modbus handler; it implements
// poll.Protocol. Set the unit id per request: goburrow handlers carry it.
type Protocol struct {
	Client  Client
	SetUnit func(id byte) // sets the handler's slave id before each request
	Now     func() time.Time
	// Reset, if set, drops the connection after a transport error, so
	// that the next request connects anew (goburrow keeps a TCP
	// connection that broke and writes to it for ever otherwise).
	Reset func() error
	// Close, if set, releases the connection or the port.
	Close func() error

	mu    sync.Mutex
	state State
}

// State is how the line to the meters is: up since the first answer
// after a failure, down since the first transport error after an answer.
// Since is on the host's clock (not Protocol.Now, which stamps reads).
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

// transport reports whether err is the line's fault (no connection, a
// timeout, a broken pipe) rather than the meter's answer (a Modbus
// exception): only then is the connection dropped.
func transport(err error) bool {
	var mbErr *gmodbus.ModbusError
	return err != nil && !errors.As(err, &mbErr)
}

// NewTCP returns a Protocol on a Modbus TCP gateway or meter at address.
func NewTCP(address string, timeout time.Duration) *Protocol {
	h := gmodbus.NewTCPClientHandler(address)
	h.Timeout = timeout
	return &Protocol{Client: gmodbus.NewClient(h), SetUnit: func(id byte) { h.SlaveId = id }, Reset: h.Close, Close: h.Close}
}

// NewRTU returns a Protocol on an RS-485 line of Modbus RTU meters.
func NewRTU(device string, baud int, parity string, timeout time.Duration) *Protocol {
	h := gmodbus.NewRTUClientHandler(device)
	h.BaudRate, h.DataBits, h.Parity, h.StopBits, h.Timeout = baud, 8, parity, 1, timeout
	return &Protocol{Client: gmodbus.NewClient(h), SetUnit: func(id byte) { h.SlaveId = id }, Reset: h.Close, Close: h.Close}
}

// Do reads the registers behind rq.DI. A DI the map does not have is "no
// data", as a DL/T 645 meter would say.
func (p *Protocol) Do(_ context.Context, t poll.Target, rq poll.Request, base meter.Read) ([]meter.Read, error) {
	now := p.Now
	if now == nil {
		now = time.Now
	}
	qs, ok := sdm630[rq.DI]
	if !ok {
		base.Status, base.Err, base.ReadAt = meter.NoData, fmt.Sprintf("the SDM630 map has no %s", rq.DI), now()
		return []meter.Read{base}, nil
	}
	if p.SetUnit != nil {
		p.SetUnit(t.Unit)
	}
	// one request spanning the block's registers
	lo, hi := qs[0].addr, qs[len(qs)-1].addr+2
	b, err := p.Client.ReadInputRegisters(lo, hi-lo)
	base.ReadAt = now()
	p.observe(func() error {
		if transport(err) {
			return err
		}
		return nil
	}(), time.Now()) // the line's state is on the host's clock, as every link's is
	if transport(err) && p.Reset != nil {
		p.Reset() // the next request dials (or opens the port) again
	}
	if err != nil {
		return nil, fmt.Errorf("modbus unit %d registers %04X..%04X: %w", t.Unit, lo, hi-1, err)
	}
	if len(b) != int(hi-lo)*2 {
		return nil, fmt.Errorf("modbus unit %d: %d bytes for %d registers", t.Unit, len(b), hi-lo)
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
