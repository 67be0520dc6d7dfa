package modbus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	gmodbus "github.com/grid-x/modbus"
)

// Transport is how a channel's bytes reach its Modbus meters.
type Transport string

// The transports.
const (
	// TCP is Modbus TCP: the MBAP header, no CRC, to a gateway or a meter
	// with an Ethernet port.
	TCP Transport = "tcp"
	// RTU is Modbus RTU (unit id, PDU, CRC-16) on a local serial port.
	RTU Transport = "rtu"
	// RTUOverTCP is the same RTU frames, CRC and all, through a TCP
	// connection: a serial server or a DTU in transparent mode passes
	// them to and from its RS-485 line unchanged.
	RTUOverTCP Transport = "rtu-over-tcp"
)

// Config is how to reach one channel's meters.
type Config struct {
	Channel   string // the channel's id, named in errors
	Transport Transport
	Address   string // host:port, for TCP and RTUOverTCP

	// RTU: the serial port and its settings; zero values are 9600 8N1
	Device   string
	Baud     int
	Parity   string // N, E or O
	DataBits int
	StopBits int

	// Timeout bounds one transaction (and a dial); 0 is 2 s.
	Timeout time.Duration
	// Now stamps the reads; nil is time.Now.
	Now func() time.Time
}

// ErrClosed is the error of a transaction on a closed Protocol.
var ErrClosed = errors.New("modbus: channel closed")

// ErrBadAnswer marks a transaction whose answer did not check: a wrong
// CRC, length, unit id or byte count, or garbage on the line.
var ErrBadAnswer = errors.New("bad answer")

// handler is what the Protocol needs of a grid-x client handler.
type handler interface {
	gmodbus.Packager
	gmodbus.Transporter
	Close() error
}

// New returns a Protocol on the channel c describes. Nothing is opened
// or dialled until the first transaction.
func New(c Config) (*Protocol, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	p := &Protocol{channel: c.Channel, now: c.Now}
	var h handler
	switch c.Transport {
	case TCP, RTUOverTCP:
		if c.Address == "" {
			return nil, fmt.Errorf("modbus channel %s: %s needs an address", c.Channel, c.Transport)
		}
		p.line = &line{dial: (&net.Dialer{Timeout: timeout}).DialContext}
		if c.Transport == TCP {
			th := gmodbus.NewTCPClientHandler(c.Address, gmodbus.WithDialer(p.line.Dial))
			th.Timeout = timeout
			h = th
		} else {
			rh := gmodbus.NewRTUOverTCPClientHandler(c.Address)
			rh.Timeout, rh.Dial = timeout, p.line.Dial
			h = rh
		}
	case RTU:
		if c.Device == "" {
			return nil, fmt.Errorf("modbus channel %s: rtu needs a device", c.Channel)
		}
		sh := gmodbus.NewRTUClientHandler(c.Device)
		sh.BaudRate, sh.DataBits, sh.Parity, sh.StopBits = or(c.Baud, 9600), or(c.DataBits, 8), c.Parity, or(c.StopBits, 1)
		if sh.Parity == "" {
			sh.Parity = "N"
		}
		sh.Timeout = timeout
		h = sh
	default:
		return nil, fmt.Errorf("modbus channel %s: transport %q is not tcp, rtu or rtu-over-tcp", c.Channel, c.Transport)
	}
	p.handler = h
	p.client = gmodbus.NewClient2(checked{h}, h)
	return p, nil
}

func or(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// checked marks the packager's refusals of an answer (CRC, length, unit
// id) as ErrBadAnswer, so that they are counted apart from timeouts.
type checked struct{ gmodbus.Packager }

func (c checked) Verify(req, resp []byte) error {
	if err := c.Packager.Verify(req, resp); err != nil {
		return fmt.Errorf("%w: % X: %w", ErrBadAnswer, resp, err)
	}
	return nil
}

func (c checked) Decode(adu []byte) (*gmodbus.ProtocolDataUnit, error) {
	pdu, err := c.Packager.Decode(adu)
	if err != nil {
		return nil, fmt.Errorf("%w: % X: %w", ErrBadAnswer, adu, err)
	}
	return pdu, nil
}

// line is the TCP connection a handler dials through, so that the end
// of a transaction's context, or Close, cuts the transaction short:
// grid-x/modbus honours a context only while it dials, and bounds the
// reads and writes by its Timeout alone.
type line struct {
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu     sync.Mutex
	conn   net.Conn // the connection last dialled
	cut    bool     // the transaction under way is cut short
	closed bool
}

// past is a deadline that has passed.
var past = time.Unix(1, 0)

// Dial is the handler's dial function.
func (l *line) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	c, err := l.dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, ErrClosed
	}
	l.conn = c
	return lineConn{c, l}, nil
}

// watch cuts the transaction under way short when ctx ends; call the
// function it returns when the transaction is over.
func (l *line) watch(ctx context.Context) (stop func() bool) {
	l.mu.Lock()
	l.cut = l.closed
	l.mu.Unlock()
	return context.AfterFunc(ctx, l.stop)
}

// stop cuts the transaction under way short: its read or write fails now.
func (l *line) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = true
	if l.conn != nil {
		l.conn.SetDeadline(past)
	}
}

// close cuts the transaction under way short and refuses to dial again.
func (l *line) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.stop()
}

func (l *line) isCut() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cut
}

// lineConn keeps a cut transaction cut: the handler sets its deadline
// after dialling, which would otherwise undo the cut.
type lineConn struct {
	net.Conn
	l *line
}

func (c lineConn) deadline(t time.Time) time.Time {
	if c.l.isCut() {
		return past
	}
	return t
}

func (c lineConn) SetDeadline(t time.Time) error { return c.Conn.SetDeadline(c.deadline(t)) }
func (c lineConn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(c.deadline(t))
}
func (c lineConn) SetWriteDeadline(t time.Time) error {
	return c.Conn.SetWriteDeadline(c.deadline(t))
}
