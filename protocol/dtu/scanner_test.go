package dtu

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/headend/headend/protocol/dlt645"
)

func wire(f dlt645.Frame, err error) []byte {
	if err != nil {
		panic(err)
	}
	b, err := f.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return b
}

type item struct {
	p     Packet
	frame string
	err   error
}

func scanAll(t *testing.T, r io.Reader) []item {
	t.Helper()
	s := NewScanner(r)
	var out []item
	for range 1000 {
		p, fr, err := s.Next()
		if err == io.EOF {
			return out
		}
		out = append(out, item{p, string(fr), err})
	}
	t.Fatal("scanner does not end")
	return nil
}

func TestScanner(t *testing.T) {
	addr := dlt645.MustParseAddress("000012345678")
	// A reply whose value bytes spell "HB X\r\n" on the wire must stay one frame.
	var val []byte
	for _, c := range []byte("HB X\r\n") {
		val = append(val, c-dlt645.DataOffset)
	}
	reply := wire(dlt645.DLT2007.ReadReply(addr, 0x00010000, val, false))
	req := wire(dlt645.DLT2007.ReadRequest(addr, 0x00010000))
	bad := bytes.Clone(req)
	bad[len(bad)-2]++ // checksum

	var in []byte
	in = append(in, "REG C0001\r\n"...)
	in = append(in, 0xFE, 0xFE, 0xFE, 0xFE)
	in = append(in, reply...)
	in = append(in, "HB C0001\r\n"...)
	in = append(in, "noise"...)
	in = append(in, bad...)
	in = append(in, "HB c0001\r\n"...)
	in = append(in, req[:8]...) // cut off by the frame behind it
	in = append(in, "HB C0001\r\n"...)
	in = append(in, reply...)

	want := []item{
		{p: Packet{Registration, "C0001"}},
		{frame: string(reply)},
		{p: Packet{Heartbeat, "C0001"}},
		{err: dlt645.ErrChecksum},
		{err: ErrBadID},
		{err: dlt645.ErrTruncated},
		{p: Packet{Heartbeat, "C0001"}},
		{frame: string(reply)},
	}
	for name, r := range map[string]io.Reader{
		"whole":    bytes.NewReader(in),
		"one byte": iotest.OneByteReader(bytes.NewReader(in)),
	} {
		got := scanAll(t, r)
		if len(got) != len(want) {
			t.Fatalf("%s: got %d items %+v, want %d", name, len(got), got, len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.p != w.p || g.frame != w.frame || !errors.Is(g.err, w.err) {
				t.Errorf("%s: item %d = %+v, want %+v", name, i, g, w)
			}
		}
	}
}

func TestScannerOffsetsAndEOF(t *testing.T) {
	in := []byte("xxHB A\r\n\x68\x01\x02")
	s := NewScanner(bytes.NewReader(in))
	p, _, err := s.Next()
	if err != nil || p != (Packet{Heartbeat, "A"}) || s.Skipped() != 2 {
		t.Fatalf("Next = %v, %v, skipped %d", p, err, s.Skipped())
	}
	if _, _, err := s.Next(); !errors.Is(err, ErrShort) {
		t.Fatalf("stream ending inside a frame: %v, want ErrShort", err)
	}
	if _, _, err := s.Next(); err != io.EOF {
		t.Fatalf("after the end: %v, want io.EOF", err)
	}
}

func TestScannerReaderError(t *testing.T) {
	boom := errors.New("boom")
	s := NewScanner(io.MultiReader(bytes.NewReader([]byte("HB A\r")), iotest.ErrReader(boom)))
	if _, _, err := s.Next(); err != boom {
		t.Fatalf("Next = %v, want the reader's error", err)
	}
	if s.Buffered() != 5 {
		t.Fatalf("buffered %d, want the 5 bytes kept", s.Buffered())
	}
}
