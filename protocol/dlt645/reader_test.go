package dlt645

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// readAll reads frames until EOF, collecting frames and errors.
func readAll(t *testing.T, r io.Reader) (frames []Frame, errs []error) {
	t.Helper()
	fr := NewReader(r)
	for range 1000 {
		f, err := fr.ReadFrame()
		if err == io.EOF {
			return
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !bytes.Equal(fr.Raw(), mustFrame(t, *f, nil)) {
			t.Fatalf("Raw() % X does not re-encode from the frame", fr.Raw())
		}
		frames = append(frames, f.Clone())
	}
	t.Fatal("reader did not reach EOF")
	return
}

func TestReaderSplitAcrossManyReads(t *testing.T) {
	in := append(append([]byte{0xFE, 0xFE, 0xFE, 0xFE}, hx(t, hexReadReply)...), hx(t, hexReplyCS16)...)
	frames, errs := readAll(t, iotest.OneByteReader(bytes.NewReader(in)))
	if len(frames) != 2 || len(errs) != 0 {
		t.Fatalf("got %d frames, errors %v", len(frames), errs)
	}
}

func TestReaderTwoFramesInOneRead(t *testing.T) {
	in := append(hx(t, hexReadReq), hx(t, hexReadReply)...)
	frames, errs := readAll(t, bytes.NewReader(in))
	if len(frames) != 2 || len(errs) != 0 || frames[0].Control != 0x11 || frames[1].Control != 0x91 {
		t.Fatalf("frames %v errors %v", frames, errs)
	}
}

// Each kind of corrupt frame is reported, typed, and the good frame
// behind it still arrives.
func TestReaderCorruptFrameNeverCostsTheNextOne(t *testing.T) {
	good := hx(t, hexReadReply)
	bad := map[string]struct {
		frame []byte
		want  error
	}{
		"checksum":  {func() []byte { b := bytes.Clone(good); b[18] ^= 0x01; return b }(), ErrChecksum},
		"end byte":  {func() []byte { b := bytes.Clone(good); b[19] = 0x00; return b }(), ErrEndByte},
		"oversize":  {func() []byte { b := bytes.Clone(good); b[9] = 0xF0; return b }(), ErrOversize},
		"long L":    {func() []byte { b := bytes.Clone(good); b[9] = 100; return b }(), ErrTruncated},
		"cut short": {good[:13], ErrEndByte}, // its L reaches into the next frame
		"bad BCD":   {hx(t, "68 7A 56 34 12 00 00 68 11 00 F7 16"), ErrBCD},
	}
	for name, c := range bad {
		for _, chunked := range []bool{false, true} {
			var r io.Reader = bytes.NewReader(append(bytes.Clone(c.frame), good...))
			if chunked {
				r = iotest.HalfReader(r)
			}
			frames, errs := readAll(t, r)
			if len(frames) != 1 || frames[0].Control != 0x91 {
				t.Errorf("%s (chunked %v): lost the good frame: frames %v errors %v", name, chunked, frames, errs)
				continue
			}
			if len(errs) == 0 || !errors.Is(errs[0], c.want) {
				t.Errorf("%s (chunked %v): errors %v, want first %v", name, chunked, errs, c.want)
			}
			var fe *FrameError
			if len(errs) > 0 && (!errors.As(errs[0], &fe) || fe.Offset != 0) {
				t.Errorf("%s: error %v should be a FrameError at offset 0", name, errs[0])
			}
		}
	}
}

func TestReaderTruncatedAtEOF(t *testing.T) {
	in := append(hx(t, hexReadReq), hx(t, hexReadReply)[:12]...)
	frames, errs := readAll(t, bytes.NewReader(in))
	if len(frames) != 1 || len(errs) != 1 || !errors.Is(errs[0], ErrTruncated) {
		t.Fatalf("frames %d errors %v", len(frames), errs)
	}
	var fe *FrameError
	if errors.As(errs[0], &fe); fe.Offset != 16 {
		t.Fatalf("truncated frame reported at %d, want 16", fe.Offset)
	}
}

func TestReaderNoiseAndPreambles(t *testing.T) {
	var in []byte
	for pre := 0; pre <= 4; pre++ {
		in = append(in, 0x00, 0x68, 0x55) // noise with a false start
		in = append(in, bytes.Repeat([]byte{0xFE}, pre)...)
		in = append(in, hx(t, hexReadReply)...)
	}
	frames, errs := readAll(t, iotest.OneByteReader(bytes.NewReader(in)))
	if len(frames) != 5 || len(errs) != 0 {
		t.Fatalf("frames %d errors %v", len(frames), errs)
	}
}

// A deadline (or any read error) mid-frame keeps the bytes so far.
func TestReaderKeepsPartialFrameAcrossErrors(t *testing.T) {
	good := hx(t, hexReadReply)
	boom := errors.New("deadline")
	r := NewReader(io.MultiReader(bytes.NewReader(good[:7]), iotest.ErrReader(boom)))
	if _, err := r.ReadFrame(); !errors.Is(err, boom) {
		t.Fatalf("want the transport's error, got %v", err)
	}
	if r.Buffered() != 7 {
		t.Fatalf("buffered %d, want 7", r.Buffered())
	}
	r.r = bytes.NewReader(good[7:])
	if f, err := r.ReadFrame(); err != nil || f.Control != 0x91 {
		t.Fatalf("after resume: %v", err)
	}
	r.Discard()
	if r.Buffered() != 0 {
		t.Fatal("Discard kept bytes")
	}
}

// One corrupted frame is one error: the 68 inside its header is not a
// second, truncated frame (issue 16.17: "bad checksum at byte 5" and a
// false "truncated frame at byte 12").
func TestReaderOneCorruptFrameIsOneError(t *testing.T) {
	bad := hx(t, hexReadReq)
	bad[14] ^= 0x01 // the checksum
	for name, in := range map[string][]byte{
		"alone":          append([]byte{0xFE, 0xFE, 0xFE, 0xFE, 0x00}, bad...),
		"before a frame": append(append([]byte{0xFE, 0xFE, 0xFE, 0xFE, 0x00}, bad...), hx(t, hexReadReply)...),
		"end byte":       append(hx(t, "FE FE FE FE 00"), append(hx(t, hexReadReq)[:15], 0x00)...),
	} {
		for _, chunked := range []bool{false, true} {
			var r io.Reader = bytes.NewReader(in)
			if chunked {
				r = iotest.OneByteReader(r)
			}
			frames, errs := readAll(t, r)
			var fe *FrameError
			if len(errs) != 1 || !errors.As(errs[0], &fe) || fe.Offset != 5 {
				t.Errorf("%s (chunked %v): errors %v, want one at byte 5", name, chunked, errs)
			}
			if want := len(in) - len(bad) - 5; (want > 0) != (len(frames) == 1) {
				t.Errorf("%s (chunked %v): frames %v", name, chunked, frames)
			}
		}
	}
}

// A stray 68 seven bytes before a good frame looks like a header (its
// "second 68" is the frame's first): it is noise, not an error.
func TestReaderStray68BeforeAFrameIsNoise(t *testing.T) {
	good := hx(t, hexReadReply)
	for gap := 1; gap <= 9; gap++ {
		in := append([]byte{0x68}, bytes.Repeat([]byte{0x00}, gap-1)...)
		in = append(in, good...)
		for _, chunked := range []bool{false, true} {
			var r io.Reader = bytes.NewReader(in)
			if chunked {
				r = iotest.OneByteReader(r)
			}
			frames, errs := readAll(t, r)
			if len(frames) != 1 || len(errs) != 0 {
				t.Errorf("68 %d bytes before a frame (chunked %v): frames %d, errors %v", gap, chunked, len(frames), errs)
			}
		}
		var f Frame
		if n, err := f.Decode(in); err != nil || n != len(in) {
			t.Errorf("Decode with a stray 68 %d bytes before: %d, %v", gap, n, err)
		}
	}
}
