package modbus

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/meter"
)

// FuzzRTUOverTCPAnswer: whatever bytes a serial server sends back to a
// read of the import energy, Do does not panic, and either reads the one
// register pair or fails; a failure that is not the line closing is a
// counted bad answer or an exception.
func FuzzRTUOverTCPAnswer(f *testing.F) {
	f.Add([]byte{0x03, 0x04, 0x04, 0x46, 0x40, 0xE6, 0xB8, 0x00, 0x00})
	f.Add([]byte{0x03, 0x84, 0x02, 0x00, 0x00})
	f.Add([]byte{0x03, 0x04, 0x00})
	f.Add([]byte{0x03, 0x04, 0xFF, 0x01, 0x02, 0x03, 0x04, 0x05})
	f.Fuzz(func(t *testing.T, answer []byte) {
		p, err := New(Config{Channel: "F", Transport: RTUOverTCP, Address: "serial-server:4001", Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		pipeTo(p, answer)
		defer p.Close()
		rs, err := p.Do(context.Background(), poll.Target{Address: "000000000003", Unit: 3}, poll.Request{DI: 0x00010000}, meter.Read{})
		switch {
		case err == nil:
			if len(rs) != 1 || len(rs[0].Frame.Reply[0]) != 4 {
				t.Fatalf("answer % X read as %+v", answer, rs)
			}
		case errors.Is(err, ErrBadAnswer):
			if p.BadAnswers() != 1 {
				t.Fatalf("bad answer % X not counted: %v", answer, err)
			}
		case exception(err), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.ErrClosedPipe):
		default:
			t.Fatalf("answer % X: %v", answer, err)
		}
	})
}
