package dlt645

import (
	"bytes"
	"errors"
	"testing"
)

func TestFrameEncodeByHand(t *testing.T) {
	f, err := DLT2007.ReadRequest(MustParseAddress("000012345678"), 0x00010000)
	got := mustFrame(t, f, err)
	if want := hx(t, hexReadReq); !bytes.Equal(got, want) {
		t.Fatalf("read request\n got %s\nwant %s", sp(got), sp(want))
	}
	f, err = DLT1997.ReadRequest(MustParseAddress("000012345678"), 0x9010)
	if got, want := mustFrame(t, f, err), hx(t, hexRead97); !bytes.Equal(got, want) {
		t.Fatalf("1997 read request\n got %s\nwant %s", sp(got), sp(want))
	}
}

func TestFrameDecodeByHand(t *testing.T) {
	var f Frame
	n, err := f.Decode(hx(t, hexReadReply))
	if err != nil || n != 20 {
		t.Fatalf("Decode = %d, %v", n, err)
	}
	if f.Address.String() != "000012345678" || f.Control != 0x91 || !bytes.Equal(f.Data, []byte{0, 0, 1, 0, 0x78, 0x56, 0x34, 0x12}) {
		t.Fatalf("decoded %+v", f)
	}
	if !f.Control.Reply() || f.Control.Abnormal() || f.Control.More() || f.Control.Function() != 0x11 {
		t.Fatalf("control bits of %s", f.Control)
	}
}

func TestFramePreamblesAndNoise(t *testing.T) {
	frame := hx(t, hexReadReply)
	for pre := 0; pre <= 4; pre++ {
		for _, noise := range [][]byte{nil, {0x00, 0x13, 0x68, 0x01}, {0x16, 0x16, 0x68, 0x68}} {
			in := append(append(append([]byte{}, noise...), bytes.Repeat([]byte{Wake}, pre)...), frame...)
			var f Frame
			n, err := f.Decode(in)
			if err != nil || n != len(in) || f.Control != 0x91 {
				t.Fatalf("preamble %d noise % X: n=%d err=%v", pre, noise, n, err)
			}
		}
	}
}

func TestFrameChecksumAndDataBytesEqualTo16(t *testing.T) {
	// Checksum 16: framing must come from L, not from looking for 16.
	var f Frame
	in := hx(t, hexReplyCS16)
	if n, err := f.Decode(in); err != nil || n != len(in) {
		t.Fatalf("CS=16 frame: n=%d err=%v", n, err)
	}
	// A data byte of 16 on the wire (raw E3), then more data.
	in = hx(t, "68 78 56 34 12 00 00 68 91 06 34 35 36 21 16 43 94 16")
	if n, err := f.Decode(in); err != nil || n != len(in) || !bytes.Equal(f.Data, []byte{1, 2, 3, 0xEE, 0xE3, 0x10}) {
		t.Fatalf("data 16: n=%d err=%v data % X", n, err, f.Data)
	}
}

func TestFrameErrors(t *testing.T) {
	good := hx(t, hexReadReply)
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"checksum", func() []byte { b := bytes.Clone(good); b[18]++; return b }(), ErrChecksum},
		{"end byte", func() []byte { b := bytes.Clone(good); b[19] = 0x17; return b }(), ErrEndByte},
		{"oversize", func() []byte { b := bytes.Clone(good); b[9] = 201; return b }(), ErrOversize},
		{"truncated", good[:15], ErrTruncated},
		{"bad BCD address", hx(t, "68 7A 56 34 12 00 00 68 11 00 F7 16"), ErrBCD},
		{"nothing", []byte{0xFE, 0xFE, 0x00}, ErrNoFrame},
	}
	for _, c := range cases {
		var f Frame
		_, err := f.Decode(c.in)
		var fe *FrameError
		if !errors.Is(err, c.want) || !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestFrameUnmarshalBinary(t *testing.T) {
	var f Frame
	if err := f.UnmarshalBinary(append([]byte{0xFE, 0xFE}, hx(t, hexReadReq)...)); err != nil {
		t.Fatal(err)
	}
	if err := f.UnmarshalBinary(append(hx(t, hexReadReq), 0x00)); !errors.Is(err, ErrLayout) {
		t.Fatalf("trailing byte: %v", err)
	}
	if err := f.UnmarshalBinary(append([]byte{0x01}, hx(t, hexReadReq)...)); !errors.Is(err, ErrNoFrame) {
		t.Fatalf("leading noise: %v", err)
	}
}

func TestFrameEncodeRefusesBadInput(t *testing.T) {
	f := Frame{Data: make([]byte, MaxDataLen+1)}
	if _, err := f.MarshalBinary(); !errors.Is(err, ErrOversize) {
		t.Fatalf("oversize: %v", err)
	}
	f = Frame{Address: Address{0x0A}}
	if _, err := f.MarshalBinary(); !errors.Is(err, ErrBCD) {
		t.Fatalf("bad address: %v", err)
	}
}

func TestDecodeReuseDoesNotAllocate(t *testing.T) {
	in := hx(t, hexReadReply)
	var f Frame
	f.Decode(in)
	allocs := testing.AllocsPerRun(100, func() { f.Decode(in) })
	if allocs != 0 {
		t.Fatalf("Decode into a reused Frame allocates %.0f times", allocs)
	}
}
