package dtu

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/headend/headend/protocol/dlt645"
)

// FuzzParse checks Parse's contract on arbitrary bytes: a packet re-encodes
// to exactly the bytes it came from, ErrShort and ErrNotPacket consume
// nothing, a malformed packet consumes at least one byte and never a 68H,
// and a Scanner over the same bytes makes progress with typed errors.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"REG C0001\r\n", "HB C0001\r\n", "HB \r\n", "REG C0a\r\n", "HB C\r\r", "HB C\x68",
		"\xfe\xfe\x68\x78\x56\x34\x12\x00\x00\x68\x11\x04\x33\x34\x33\x33\x41\x16HB X\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, n, err := Parse(b)
		var pe *PacketError
		switch {
		case err == nil:
			enc, err := p.AppendBinary(nil)
			if err != nil || !bytes.Equal(enc, b[:n]) {
				t.Fatalf("packet %v from %q re-encodes to %q, %v", p, b[:n], enc, err)
			}
		case err == ErrShort:
			if n != 0 || len(b) >= MaxPacketLen {
				t.Fatalf("ErrShort with n=%d for %d bytes", n, len(b))
			}
		case err == ErrNotPacket:
			if n != 0 {
				t.Fatalf("ErrNotPacket with n=%d", n)
			}
		case errors.As(err, &pe):
			if n < 1 || n > len(b) || bytes.IndexByte(b[:n], dlt645.Start) >= 0 {
				t.Fatalf("malformed packet %q: n=%d", b, n)
			}
		default:
			t.Fatalf("untyped error %v", err)
		}

		s := NewScanner(bytes.NewReader(b))
		for i := 0; ; i++ {
			if i > len(b)+1 {
				t.Fatal("scanner does not make progress")
			}
			p, fr, err := s.Next()
			if err == io.EOF {
				break
			}
			var fe *dlt645.FrameError
			switch {
			case err == nil && p.Kind != 0:
				if _, err := p.AppendBinary(nil); err != nil {
					t.Fatalf("scanned packet %v does not encode: %v", p, err)
				}
			case err == nil:
				var f dlt645.Frame
				if err := f.UnmarshalBinary(fr); err != nil {
					t.Fatalf("scanned frame %x: %v", fr, err)
				}
			case errors.As(err, &pe), errors.As(err, &fe), errors.Is(err, ErrShort):
			default:
				t.Fatalf("untyped scanner error %v", err)
			}
		}
	})
}
