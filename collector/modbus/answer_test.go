package modbus

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/meter"
)

// pipeTo makes p dial a net.Pipe whose far end reads one request and
// writes the answer in the pieces given, each a Write of its own.
func pipeTo(p *Protocol, pieces ...[]byte) {
	p.line.dial = func(context.Context, string, string) (net.Conn, error) {
		c, s := net.Pipe()
		go func() {
			defer s.Close()
			req := make([]byte, 8)
			if _, err := io.ReadFull(s, req); err != nil {
				return
			}
			for _, b := range pieces {
				if _, err := s.Write(b); err != nil {
					return
				}
			}
		}()
		return c, nil
	}
}

// grid-x/modbus's RTU-over-TCP transporter takes an exception reply only
// whole from its first read: one split after its fourth byte (a DTU that
// packs bytes by time can do that) fails the CRC. It is a counted bad
// answer, and the next transaction, on a new connection, gets the
// exception. A normal reply split anywhere is read whole.
func TestSplitAnswers(t *testing.T) {
	target, rq := poll.Target{Address: "000000000003", Unit: 3}, poll.Request{DI: 0x00010000}
	exception := []byte{0x03, 0x84, 0x02} // unit 3, function 04, exception 02
	exception = append(exception, crc(exception)...)
	p, err := New(Config{Channel: "C1", Transport: RTUOverTCP, Address: "serial-server:4001", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pipeTo(p, exception[:4], exception[4:])
	if _, err := p.Do(context.Background(), target, rq, meter.Read{}); !errors.Is(err, ErrBadAnswer) || p.BadAnswers() != 1 {
		t.Fatalf("split exception: %v, %d bad answers", err, p.BadAnswers())
	}
	pipeTo(p, exception)
	if _, err := p.Do(context.Background(), target, rq, meter.Read{}); err == nil || !strings.Contains(err.Error(), "illegal data address") {
		t.Fatalf("whole exception: %v", err)
	}
	reply := []byte{0x03, 0x04, 0x04, 0x46, 0x40, 0xE6, 0xB8}
	reply = append(reply, crc(reply)...)
	p, err = New(Config{Channel: "C1", Transport: RTUOverTCP, Address: "serial-server:4001", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pipeTo(p, reply[:1], reply[1:4], reply[4:8], reply[8:])
	rs, err := p.Do(context.Background(), target, rq, meter.Read{})
	if err != nil || rs[0].Value.String() != "12345.68" {
		t.Fatalf("split reply: %+v %v", rs, err)
	}
}

// crc is the CRC-16/MODBUS of b, low byte first.
func crc(b []byte) []byte {
	c := uint16(0xFFFF)
	for _, x := range b {
		c ^= uint16(x)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
	}
	return []byte{byte(c), byte(c >> 8)}
}
