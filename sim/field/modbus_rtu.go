package field

import (
	"context"
	"fmt"
	"io"
	"time"
)

// rtuMaxADU is the longest Modbus RTU frame.
const rtuMaxADU = 256

// ServeRTU answers Modbus RTU requests (slave id, function, data, CRC-16)
// read from rw, e.g. the master side of a pseudo-terminal, until a read
// fails or ctx is done. Frames with a bad CRC, for another unit id, or
// broadcast (unit 0) get no reply.
//
// A real slave delimits frames by 3.5 characters of silence; a pty or pipe
// keeps no timing, so ServeRTU frames requests by their function code's
// length and the CRC, skipping noise and corrupt frames until a good frame
// turns up. On ctx done it ends a blocked read through SetReadDeadline when
// rw has one (net.Conn, a pollable *os.File); otherwise it returns after
// the next read. The master of a creack/pty pair is not pollable: close
// the slave side to end the read (EIO). It returns nil when ctx ended it.
func (s *ModbusServer) ServeRTU(ctx context.Context, rw io.ReadWriter) error {
	if d, ok := rw.(interface{ SetReadDeadline(time.Time) error }); ok {
		defer context.AfterFunc(ctx, func() { d.SetReadDeadline(time.Unix(1, 0)) })()
	}
	buf := make([]byte, 0, 2*rtuMaxADU)
	chunk := make([]byte, rtuMaxADU)
	for {
		n, rerr := rw.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for {
			off, size, keep := rtuScan(buf)
			if size == 0 {
				buf = append(buf[:0], buf[keep:]...)
				break
			}
			if err := s.rtuRequest(ctx, rw, buf[off:off+size]); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			buf = append(buf[:0], buf[off+size:]...)
		}
		if rerr != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("modbus rtu: read: %w", rerr)
		}
	}
}

// rtuRequest answers one request frame with a good CRC.
func (s *ModbusServer) rtuRequest(ctx context.Context, w io.Writer, adu []byte) error {
	unit := adu[0]
	if unit == 0 {
		return nil // broadcast: reads have no broadcast form, nobody answers
	}
	resp, ok, err := s.transact(ctx, unit, adu[1:len(adu)-2])
	if err != nil || !ok {
		return err
	}
	out := make([]byte, 0, len(resp)+3)
	out = append(out, unit)
	out = append(out, resp...)
	out = appendCRC16(out)
	if s.Mangle != nil {
		if out = s.Mangle(unit, out); len(out) == 0 {
			return nil
		}
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("modbus rtu: write reply to unit %d: %w", unit, err)
	}
	return nil
}

// rtuScan finds the first complete request frame with a good CRC in buf:
// its offset and size. With none (size 0), the bytes before keep cannot
// start one and may be dropped.
func rtuScan(buf []byte) (off, size, keep int) {
	keep = -1
	maybe := func(i int) {
		if keep < 0 {
			keep = i
		}
	}
	for i := 0; i < len(buf); i++ {
		rest := buf[i:]
		if len(rest) < 4 {
			maybe(i)
			break
		}
		n, known := rtuRequestLen(rest)
		switch {
		case known && (n == 0 || n > len(rest)):
			if n <= rtuMaxADU {
				maybe(i) // not all here yet
			}
		case known:
			if crcOK(rest[:n]) {
				return i, n, 0
			}
		case i == 0:
			// A function whose length we cannot tell, right after the
			// previous frame: the shortest prefix with a good CRC.
			for n := 4; n <= len(rest) && n <= rtuMaxADU; n++ {
				if crcOK(rest[:n]) {
					return 0, n, 0
				}
			}
			if len(rest) < rtuMaxADU {
				maybe(0)
			}
		}
	}
	if keep < 0 {
		keep = len(buf)
	}
	return 0, 0, keep
}

// rtuRequestLen is the length of a request frame by its function code, 0
// if more bytes are needed to tell, and known false for functions whose
// request length is not fixed by the standard or unknown.
func rtuRequestLen(b []byte) (n int, known bool) {
	switch b[1] {
	case 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08:
		return 8, true
	case 0x07, 0x0B, 0x0C, 0x11:
		return 4, true
	case 0x18:
		return 6, true
	case 0x16:
		return 10, true
	case 0x14, 0x15:
		return 5 + int(b[2]), true
	case 0x0F, 0x10:
		if len(b) < 7 {
			return 0, true
		}
		return 9 + int(b[6]), true
	case 0x17:
		if len(b) < 11 {
			return 0, true
		}
		return 13 + int(b[10]), true
	}
	return 0, false
}

// crc16 is CRC-16/MODBUS: reflected polynomial 0xA001, initial 0xFFFF.
func crc16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// appendCRC16 appends the CRC of b, low byte first.
func appendCRC16(b []byte) []byte {
	c := crc16(b)
	return append(b, byte(c), byte(c>>8))
}

// crcOK reports whether a frame ends in the right CRC.
func crcOK(adu []byte) bool {
	if len(adu) < 4 {
		return false
	}
	c := crc16(adu[:len(adu)-2])
	return adu[len(adu)-2] == byte(c) && adu[len(adu)-1] == byte(c>>8)
}
