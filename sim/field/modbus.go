package field

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
)

// RegisterMap answers register reads for one Modbus meter (unit id).
// fc is the function code (0x03 holding, 0x04 input registers). To refuse
// a read it returns a ModbusException; any other error is answered with
// exception 04, server device failure. It must be safe for concurrent use.
type RegisterMap interface {
	ReadRegisters(fc byte, addr, count uint16) ([]uint16, error)
}

// Modbus function codes the server answers.
const (
	FuncReadHoldingRegisters byte = 0x03
	FuncReadInputRegisters   byte = 0x04
)

// ModbusException is a Modbus exception code, sent back as the single
// data byte of a reply whose function code has bit 7 set.
type ModbusException byte

// Modbus exception codes.
const (
	ExIllegalFunction     ModbusException = 0x01
	ExIllegalDataAddress  ModbusException = 0x02
	ExIllegalDataValue    ModbusException = 0x03
	ExServerDeviceFailure ModbusException = 0x04
	ExGatewayTargetFailed ModbusException = 0x0B // gateway target device failed to respond
)

func (e ModbusException) Error() string {
	switch e {
	case ExIllegalFunction:
		return "modbus exception 01: illegal function"
	case ExIllegalDataAddress:
		return "modbus exception 02: illegal data address"
	case ExIllegalDataValue:
		return "modbus exception 03: illegal data value"
	case ExServerDeviceFailure:
		return "modbus exception 04: server device failure"
	case ExGatewayTargetFailed:
		return "modbus exception 0B: gateway target device failed to respond"
	}
	return fmt.Sprintf("modbus exception %02X", byte(e))
}

// ModbusServer plays the Modbus meters (slaves) behind one port: a
// Modbus TCP meter or gateway (ServeTCP) or an RS-485 line speaking RTU
// (ServeRTU). It answers functions 03 and 04 from each unit's RegisterMap,
// one transaction at a time, taking the line time of the RTU frames.
type ModbusServer struct {
	// Baud is the speed of the RS-485 line; 0 is an ideal line. Set
	// Baud, Sleep and Logger before serving.
	Baud   int
	Sleep  Sleeper      // nil means Sleep
	Logger *slog.Logger // nil means slog.Default()
	// OnAnswer, when set, is called with each normal (not exception)
	// response PDU a unit gave, once its line time has passed.
	OnAnswer func(unit byte, resp []byte)
	// Mangle, when set, may change each RTU reply frame (unit id, PDU,
	// CRC) before it is sent, as a noisy line or a garbling DTU would;
	// an empty frame sends nothing.
	Mangle func(unit byte, frame []byte) []byte

	mu    sync.RWMutex
	units map[byte]RegisterMap
	line  sync.Mutex // one transaction on the line at a time
	conns atomic.Int64
}

// NewModbusServer returns a server with no units (as does the zero value).
func NewModbusServer() *ModbusServer {
	return &ModbusServer{units: make(map[byte]RegisterMap)}
}

// SetUnit puts a meter at unit id, or removes it when m is nil. It may be
// called while serving (a meter dies, a new one is wired in).
func (s *ModbusServer) SetUnit(id byte, m RegisterMap) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m == nil {
		delete(s.units, id)
		return
	}
	if s.units == nil {
		s.units = make(map[byte]RegisterMap)
	}
	s.units[id] = m
}

func (s *ModbusServer) unit(id byte) RegisterMap {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.units[id]
}

func (s *ModbusServer) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// transact answers one request PDU for unit, after the line time of the
// RTU frames both ways. ok is false when no meter has that unit id.
func (s *ModbusServer) transact(ctx context.Context, unit byte, pdu []byte) (resp []byte, ok bool, err error) {
	m := s.unit(unit)
	if m == nil {
		return nil, false, nil
	}
	s.line.Lock()
	defer s.line.Unlock()
	resp = answerPDU(m, pdu, s.logger().With("unit", unit))
	sleep := s.Sleep
	if sleep == nil {
		sleep = Sleep
	}
	const rtuOverhead = 3 // slave id and CRC around the PDU
	if err := sleep(ctx, LineTime(s.Baud, len(pdu)+len(resp)+2*rtuOverhead)); err != nil {
		return nil, false, err
	}
	if s.OnAnswer != nil && len(resp) > 0 && resp[0]&0x80 == 0 {
		s.OnAnswer(unit, resp)
	}
	return resp, true, nil
}

// answerPDU is a meter's answer to a request PDU (function code and data).
func answerPDU(m RegisterMap, pdu []byte, log *slog.Logger) []byte {
	fc := pdu[0]
	if fc != FuncReadHoldingRegisters && fc != FuncReadInputRegisters {
		return exceptionPDU(fc, ExIllegalFunction)
	}
	if len(pdu) != 5 {
		return exceptionPDU(fc, ExIllegalDataValue)
	}
	addr := binary.BigEndian.Uint16(pdu[1:])
	count := binary.BigEndian.Uint16(pdu[3:])
	if count < 1 || count > 125 {
		return exceptionPDU(fc, ExIllegalDataValue)
	}
	if int(addr)+int(count) > 0x10000 {
		return exceptionPDU(fc, ExIllegalDataAddress)
	}
	regs, err := m.ReadRegisters(fc, addr, count)
	var ex ModbusException
	switch {
	case errors.As(err, &ex):
		return exceptionPDU(fc, ex)
	case err != nil:
		log.Warn("modbus read failed", "fc", fc, "addr", addr, "count", count, "err", err)
		return exceptionPDU(fc, ExServerDeviceFailure)
	case len(regs) != int(count):
		log.Warn("modbus register map returned the wrong count", "fc", fc, "addr", addr, "count", count, "got", len(regs))
		return exceptionPDU(fc, ExServerDeviceFailure)
	}
	resp := make([]byte, 2, 2+2*len(regs))
	resp[0], resp[1] = fc, byte(2*len(regs))
	for _, r := range regs {
		resp = binary.BigEndian.AppendUint16(resp, r)
	}
	return resp
}

func exceptionPDU(fc byte, ex ModbusException) []byte {
	return []byte{fc | 0x80, byte(ex)}
}

// ServeTCP answers Modbus TCP (MBAP framing) on l until ctx is done, then
// closes l and every connection and returns nil once they have ended.
// A request for a unit id with no meter gets exception 0B.
func (s *ModbusServer) ServeTCP(ctx context.Context, l net.Listener) error {
	return s.serveConns(ctx, l, "modbus tcp", s.serveTCPConn)
}

// ServeRTUOverTCP plays a serial server, or a DTU in transparent mode,
// with the RS-485 line of meters behind it: RTU frames, CRC and all, on
// every TCP connection accepted on l, framed and answered as ServeRTU
// does. The line is one: one transaction at a time, whichever connection
// it came from. It runs until ctx is done, then closes l and every
// connection and returns nil once they have ended.
func (s *ModbusServer) ServeRTUOverTCP(ctx context.Context, l net.Listener) error {
	return s.serveConns(ctx, l, "modbus rtu over tcp", func(ctx context.Context, c net.Conn) error {
		err := s.ServeRTU(ctx, c)
		if errors.Is(err, io.EOF) {
			return nil // the client hung up
		}
		return err
	})
}

// Connections is the number of TCP connections open now (ServeTCP and
// ServeRTUOverTCP).
func (s *ModbusServer) Connections() int { return int(s.conns.Load()) }

// serveConns accepts connections on l and serves each with serve until
// ctx is done.
func (s *ModbusServer) serveConns(ctx context.Context, l net.Listener, what string, serve func(context.Context, net.Conn) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(ctx, func() { l.Close() })()
	var wg sync.WaitGroup
	for {
		c, err := l.Accept()
		if err != nil {
			stopped := ctx.Err() != nil
			cancel()
			wg.Wait()
			if stopped {
				return nil
			}
			return fmt.Errorf("%s: accept on %s: %w", what, l.Addr(), err)
		}
		s.conns.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.conns.Add(-1)
			unwatch := context.AfterFunc(ctx, func() { c.Close() })
			defer unwatch()
			defer c.Close()
			if err := serve(ctx, c); err != nil && ctx.Err() == nil {
				s.logger().Info(what+" connection ended", "remote", c.RemoteAddr(), "err", err)
			}
		}()
	}
}

// serveTCPConn answers the requests of one connection in order.
func (s *ModbusServer) serveTCPConn(ctx context.Context, c net.Conn) error {
	var hdr [7]byte // transaction id, protocol id, length, unit id
	for {
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read MBAP header: %w", err)
		}
		n := int(binary.BigEndian.Uint16(hdr[4:]))
		if n < 2 || n > 254 {
			return fmt.Errorf("MBAP length %d out of range", n)
		}
		pdu := make([]byte, n-1)
		if _, err := io.ReadFull(c, pdu); err != nil {
			return fmt.Errorf("read PDU: %w", err)
		}
		if binary.BigEndian.Uint16(hdr[2:]) != 0 {
			continue // not Modbus
		}
		resp, ok, err := s.transact(ctx, hdr[6], pdu)
		if err != nil {
			return err
		}
		if !ok {
			resp = exceptionPDU(pdu[0], ExGatewayTargetFailed)
		}
		out := make([]byte, 0, 7+len(resp))
		out = append(out, hdr[:4]...)
		out = binary.BigEndian.AppendUint16(out, uint16(len(resp)+1))
		out = append(out, hdr[6])
		out = append(out, resp...)
		if _, err := c.Write(out); err != nil {
			return fmt.Errorf("write reply: %w", err)
		}
	}
}
