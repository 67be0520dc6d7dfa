package field

import (
	"bytes"
	"context"
	"testing"
)

// FuzzRTUScan: the Modbus RTU request framer never panics, never reports a
// frame outside the buffer, only reports frames whose CRC is right, and
// never keeps more than it was given.
func FuzzRTUScan(f *testing.F) {
	f.Add([]byte{0x01, 0x04, 0x00, 0x00, 0x00, 0x02, 0x71, 0xCB})
	f.Add([]byte{0xFF, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x02, 0x71, 0xCB})
	f.Add([]byte{0x01, 0x10, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, buf []byte) {
		off, size, keep := rtuScan(buf)
		if size > 0 {
			if off < 0 || off+size > len(buf) || !crcOK(buf[off:off+size]) {
				t.Fatalf("frame at %d+%d of %d bytes", off, size, len(buf))
			}
			return
		}
		if keep < 0 || keep > len(buf) {
			t.Fatalf("keep %d of %d", keep, len(buf))
		}
	})
}

// FuzzServeRTU feeds arbitrary bytes to the RTU server: no panic, and
// every reply it writes carries a good CRC.
func FuzzServeRTU(f *testing.F) {
	f.Add([]byte{0x01, 0x04, 0x00, 0x00, 0x00, 0x02, 0x71, 0xCB})
	f.Add([]byte{0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0xC4, 0x0B, 0x02, 0x04, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		s := NewModbusServer()
		s.SetUnit(1, NewSDM630(ThreePhaseReadings{Voltage: [3]float64{230, 231, 229}}))
		rw := &pipeRW{in: bytes.NewReader(in)}
		s.ServeRTU(context.Background(), rw)
		for _, reply := range rw.writes {
			if len(reply) < 4 || !crcOK(reply) {
				t.Fatalf("reply % X has a bad CRC", reply)
			}
		}
	})
}

type pipeRW struct {
	in     *bytes.Reader
	writes [][]byte
}

func (p *pipeRW) Read(b []byte) (int, error) { return p.in.Read(b) }
func (p *pipeRW) Write(b []byte) (int, error) {
	p.writes = append(p.writes, bytes.Clone(b))
	return len(b), nil
}
