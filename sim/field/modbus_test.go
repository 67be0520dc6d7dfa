package field

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/grid-x/modbus"
	"github.com/headend/headend/internal/testenv"
)

var mbReadings = ThreePhaseReadings{
	Voltage:     [3]float64{230.1, 229.5, 231.25},
	Current:     [3]float64{5.5, 4.25, 6},
	Power:       [3]float64{1200, 950, -300},
	TotalPower:  1850,
	PowerFactor: 0.98,
	Frequency:   50.01,
	ImportKWh:   12345.67,
	ExportKWh:   89.5,
}

// mbFloats reads float32s, high word first, from register bytes.
func mbFloats(t *testing.T, b []byte) []float32 {
	t.Helper()
	if len(b)%4 != 0 {
		t.Fatalf("%d bytes of registers", len(b))
	}
	var f []float32
	for i := 0; i < len(b); i += 4 {
		f = append(f, math.Float32frombits(binary.BigEndian.Uint32(b[i:])))
	}
	return f
}

func mbWantFloats(t *testing.T, what string, b []byte, want ...float64) {
	t.Helper()
	got := mbFloats(t, b)
	if len(got) != len(want) {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
	for i := range want {
		if got[i] != float32(want[i]) {
			t.Errorf("%s[%d] = %v, want %v", what, i, got[i], float32(want[i]))
		}
	}
}

func mbWantException(t *testing.T, what string, err error, code byte) {
	t.Helper()
	var me *modbus.Error
	if !errors.As(err, &me) || me.ExceptionCode != code {
		t.Errorf("%s: %v, want exception %02X", what, err, code)
	}
}

// mbMapFunc adapts a function to RegisterMap.
type mbMapFunc func(fc byte, addr, count uint16) ([]uint16, error)

func (f mbMapFunc) ReadRegisters(fc byte, addr, count uint16) ([]uint16, error) {
	return f(fc, addr, count)
}

// mbADU is an RTU frame with its CRC.
func mbADU(b ...byte) []byte { return appendCRC16(b) }

func TestModbusCRC16(t *testing.T) {
	// The read of an SDM630's phase 1 voltage as printed in meter manuals.
	if got := mbADU(0x01, 0x04, 0x00, 0x00, 0x00, 0x02); !bytes.Equal(got[6:], []byte{0x71, 0xCB}) {
		t.Errorf("CRC % X, want 71 CB", got[6:])
	}
}

func TestModbusSDM630Map(t *testing.T) {
	m := NewSDM630(mbReadings)
	regs, err := m.ReadRegisters(FuncReadInputRegisters, 0x0000, 80)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 0, 160)
	for _, r := range regs {
		b = binary.BigEndian.AppendUint16(b, r)
	}
	f := func(addr int) float64 { return float64(mbFloats(t, b[2*addr:2*addr+4])[0]) }
	want := map[int]float64{
		0x00: 230.1, 0x02: 229.5, 0x04: 231.25, 0x06: 5.5, 0x08: 4.25, 0x0A: 6,
		0x0C: 1200, 0x0E: 950, 0x10: -300, 0x34: 1850, 0x3E: 0.98, 0x46: 50.01,
		0x48: 12345.67, 0x4A: 89.5, 0x12: 0, 0x4C: 0,
	}
	for a, w := range want {
		if f(a) != float64(float32(w)) {
			t.Errorf("register %04X = %v, want %v", a, f(a), float32(w))
		}
	}
	m.Update(func(r *ThreePhaseReadings) { r.ImportKWh = 20000 })
	regs, _ = m.ReadRegisters(FuncReadInputRegisters, 0x0156, 2)
	if got := math.Float32frombits(uint32(regs[0])<<16 | uint32(regs[1])); got != float32(20089.5) {
		t.Errorf("total kWh %v, want 20089.5", got)
	}
	for _, c := range []struct {
		fc          byte
		addr, count uint16
		want        ModbusException
	}{
		{FuncReadInputRegisters, 0x0001, 2, ExIllegalDataAddress},
		{FuncReadInputRegisters, 0x0000, 3, ExIllegalDataAddress},
		{FuncReadInputRegisters, 0x017C, 4, ExIllegalDataAddress},
		{FuncReadInputRegisters, 0x0000, 82, ExIllegalDataValue},
		{FuncReadHoldingRegisters, 0x0000, 2, ExIllegalDataAddress},
		{0x06, 0x0000, 2, ExIllegalFunction},
	} {
		if _, err := m.ReadRegisters(c.fc, c.addr, c.count); err != c.want {
			t.Errorf("fc %02X %04X+%d: %v, want %v", c.fc, c.addr, c.count, err, c.want)
		}
	}
	if _, err := m.ReadRegisters(FuncReadInputRegisters, 0x017C, 2); err != nil {
		t.Errorf("last register: %v", err)
	}
}

func mbServer(sl *mqttSleeps) *ModbusServer {
	s := NewModbusServer()
	s.Baud = 9600
	s.Sleep = sl.sleep
	s.SetUnit(1, NewSDM630(mbReadings))
	s.SetUnit(2, mbMapFunc(func(byte, uint16, uint16) ([]uint16, error) {
		return nil, errors.New("flash worn out")
	}))
	return s
}

func TestModbusTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := mbServer(&mqttSleeps{})
	srv.Logger = mqttLogger(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTCP(ctx, l) }()

	h := modbus.NewTCPClientHandler(l.Addr().String())
	h.SlaveID = 1
	h.Timeout = 10 * time.Second
	if err := h.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	c := modbus.NewClient(h)

	b, err := c.ReadInputRegisters(ctx, 0x0000, 6)
	if err != nil {
		t.Fatal(err)
	}
	mbWantFloats(t, "voltage", b, 230.1, 229.5, 231.25)
	b, err = c.ReadInputRegisters(ctx, 0x0048, 4)
	if err != nil {
		t.Fatal(err)
	}
	mbWantFloats(t, "import, export", b, 12345.67, 89.5)

	_, err = c.WriteSingleRegister(ctx, 0x0000, 1)
	mbWantException(t, "write single register", err, 0x01)
	_, err = c.ReadInputRegisters(ctx, 0x0200, 2)
	mbWantException(t, "read past the map", err, 0x02)
	_, err = c.ReadInputRegisters(ctx, 0x0001, 2)
	mbWantException(t, "read half a float", err, 0x02)
	_, err = c.ReadInputRegisters(ctx, 0x0000, 82)
	mbWantException(t, "read 82 registers", err, 0x03)
	h.SlaveID = 2
	_, err = c.ReadInputRegisters(ctx, 0x0000, 2)
	mbWantException(t, "failing meter", err, 0x04)
	h.SlaveID = 9
	_, err = c.ReadInputRegisters(ctx, 0x0000, 2)
	mbWantException(t, "unknown unit", err, 0x0B)
	h.Close()

	// A count of 0, which the client library refuses to send.
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte{0x12, 0x34, 0, 0, 0, 6, 1, 0x04, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, 9)
	if _, err := io.ReadFull(conn, reply); err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x12, 0x34, 0, 0, 0, 3, 1, 0x84, 0x03}; !bytes.Equal(reply, want) {
		t.Errorf("count 0: % X, want % X", reply, want)
	}

	cancel() // closes the listener and the open connection
	if err := <-errc; err != nil {
		t.Errorf("ServeTCP: %v", err)
	}
	if _, err := conn.Read(reply); err == nil {
		t.Error("connection still open after the server stopped")
	}
	conn.Close()
}

func TestModbusRTUPty(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		testenv.Skip(t, "no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	sl := &mqttSleeps{}
	srv := mbServer(sl)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeRTU(ctx, ptmx) }()

	h := modbus.NewRTUClientHandler(tty.Name())
	h.BaudRate, h.DataBits, h.Parity, h.StopBits = 9600, 8, "N", 1
	h.SlaveID = 1
	h.Timeout = 10 * time.Second
	if err := h.Connect(ctx); err != nil { // puts the line in raw mode
		t.Fatalf("grid-x RTU client on %s: %v", tty.Name(), err)
	}
	c := modbus.NewClient(h)

	b, err := c.ReadInputRegisters(ctx, 0x0000, 6)
	if err != nil {
		t.Fatal(err)
	}
	mbWantFloats(t, "voltage", b, 230.1, 229.5, 231.25)
	if w := sl.waits(); len(w) != 1 || w[0] != LineTime(9600, 8+17) {
		t.Errorf("waits %v, want [%v]", w, LineTime(9600, 8+17))
	}

	// A corrupted request and one for a unit nobody has go unanswered:
	// the client's next read gets its own reply, not theirs.
	bad := mbADU(0x01, 0x04, 0x00, 0x00, 0x00, 0x02)
	bad[7] ^= 0xFF
	if _, err := tty.Write(bad); err != nil {
		t.Fatal(err)
	}
	if _, err := tty.Write(mbADU(0x09, 0x04, 0x00, 0x00, 0x00, 0x02)); err != nil {
		t.Fatal(err)
	}
	b, err = c.ReadInputRegisters(ctx, 0x0048, 4)
	if err != nil {
		t.Fatal(err)
	}
	mbWantFloats(t, "import, export", b, 12345.67, 89.5)
	b, err = c.ReadInputRegisters(ctx, 0x0156, 2)
	if err != nil {
		t.Fatal(err)
	}
	mbWantFloats(t, "total", b, 12345.67+89.5)

	_, err = c.WriteSingleRegister(ctx, 0x0000, 1)
	mbWantException(t, "write single register", err, 0x01)
	_, err = c.ReadInputRegisters(ctx, 0x0200, 2)
	mbWantException(t, "read past the map", err, 0x02)
	_, err = c.ReadInputRegisters(ctx, 0x0000, 82)
	mbWantException(t, "read 82 registers", err, 0x03)

	cancel()
	h.Close()
	tty.Close() // ends a read the deadline could not interrupt
	if err := <-errc; err != nil {
		t.Errorf("ServeRTU: %v", err)
	}
}

// TestModbusRTUFraming drives ServeRTU over a net.Pipe with raw frames.
func TestModbusRTUFraming(t *testing.T) {
	sl := &mqttSleeps{}
	srv := mbServer(sl)
	srv.Logger = mqttLogger(t)
	a, b := net.Pipe()
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeRTU(ctx, a) }()
	b.SetDeadline(time.Now().Add(10 * time.Second))

	send := func(p ...[]byte) {
		t.Helper()
		if _, err := b.Write(bytes.Join(p, nil)); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(what string, want []byte) {
		t.Helper()
		got := make([]byte, len(want))
		if _, err := io.ReadFull(b, got); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: % X, want % X", what, got, want)
		}
	}
	readVolts := mbADU(0x01, 0x04, 0x00, 0x00, 0x00, 0x02)
	bits := math.Float32bits(float32(230.1))
	volts := mbADU(0x01, 0x04, 0x04, byte(bits>>24), byte(bits>>16), byte(bits>>8), byte(bits))

	send(readVolts)
	expect("read", volts)
	if w := sl.waits(); len(w) != 1 || w[0] != LineTime(9600, len(readVolts)+len(volts)) {
		t.Errorf("waits %v, want [%v]", w, LineTime(9600, len(readVolts)+len(volts)))
	}

	// Noise, a corrupted frame, a frame for another unit, a broadcast:
	// only the good request behind them is answered.
	bad := mbADU(0x01, 0x04, 0x00, 0x00, 0x00, 0x02)
	bad[3] ^= 0x01
	send([]byte{0xFF, 0x00, 0x13}, bad, mbADU(0x07, 0x04, 0, 0, 0, 2), mbADU(0x00, 0x04, 0, 0, 0, 2), readVolts)
	expect("read after noise", volts)

	// A request arriving a byte at a time.
	for _, c := range readVolts {
		send([]byte{c})
	}
	expect("read in pieces", volts)

	// Functions the meter does not have, framed by their length
	// (write multiple) or by the CRC alone (0x41, MEI 0x2B).
	send(mbADU(0x01, 0x10, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x05))
	expect("write multiple", mbADU(0x01, 0x90, 0x01))
	send(mbADU(0x01, 0x41))
	expect("function 41", mbADU(0x01, 0xC1, 0x01))
	send(mbADU(0x01, 0x2B, 0x0E, 0x01, 0x00))
	expect("read device id", mbADU(0x01, 0xAB, 0x01))

	// Exceptions 03 (count 0) and 04 (the map fails).
	send(mbADU(0x01, 0x03, 0x00, 0x00, 0x00, 0x00))
	expect("count 0", mbADU(0x01, 0x83, 0x03))
	send(mbADU(0x02, 0x04, 0x00, 0x00, 0x00, 0x02))
	expect("failing meter", mbADU(0x02, 0x84, 0x04))

	// A meter removed from the line stops answering.
	srv.SetUnit(1, nil)
	send(readVolts, mbADU(0x02, 0x04, 0x00, 0x00, 0x00, 0x02))
	expect("after removal", mbADU(0x02, 0x84, 0x04))

	cancel()
	if err := <-errc; err != nil {
		t.Errorf("ServeRTU: %v", err)
	}
}

// A serial server with the RS-485 line behind it: RTU frames over TCP,
// read with grid-x/modbus's RTU-over-TCP client; a garbled reply is
// refused by its CRC, and the line answers the next request.
func TestModbusRTUOverTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sl := &mqttSleeps{}
	srv := mbServer(sl)
	srv.Logger = mqttLogger(t)
	var garble atomic.Bool
	srv.Mangle = func(unit byte, frame []byte) []byte {
		if garble.CompareAndSwap(true, false) {
			frame[len(frame)-1] ^= 0xFF
		}
		return frame
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeRTUOverTCP(ctx, l) }()

	h := modbus.NewRTUOverTCPClientHandler(l.Addr().String())
	h.SlaveID = 1
	h.Timeout = 10 * time.Second
	c := modbus.NewClient(h)
	b, err := c.ReadInputRegisters(ctx, 0x0000, 6)
	if err != nil {
		t.Fatal(err)
	}
	mbWantFloats(t, "voltage", b, 230.1, 229.5, 231.25)
	if w := sl.waits(); len(w) != 1 || w[0] != LineTime(9600, 8+17) {
		t.Errorf("waits %v, want the RTU line time [%v]", w, LineTime(9600, 8+17))
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
	_, err = c.ReadInputRegisters(ctx, 0x0200, 2)
	mbWantException(t, "read past the map", err, 0x02)

	garble.Store(true)
	if _, err := c.ReadInputRegisters(ctx, 0x0048, 4); err == nil || !strings.Contains(err.Error(), "crc") {
		t.Errorf("garbled reply: %v, want a CRC error", err)
	}
	b, err = c.ReadInputRegisters(ctx, 0x0048, 4)
	if err != nil {
		t.Fatal(err)
	}
	mbWantFloats(t, "import, export", b, 12345.67, 89.5)

	h.Close()
	waitFor(t, "the server sees the client hang up", func() bool { return srv.Connections() == 0 })
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("ServeRTUOverTCP: %v", err)
	}
}
