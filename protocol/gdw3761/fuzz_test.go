package gdw3761

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func seedFrames(f *testing.F) {
	f.Add(hx(f, hexLogin))
	f.Add(hx(f, hexConfirm))
	f.Add(append(hx(f, "00 68 16 68 32"), hx(f, hexLogin)...))
	f.Add(hx(f, "68 FE FF FE FF 68 01 02"))
	r := bench32(f)
	f.Add(r)
}

// decodeUnits runs every unit parser the package has over the frame's
// units; none may panic, and every error must be typed.
func decodeUnits(t *testing.T, fr *Frame) {
	us, err := fr.Units(nil)
	if err != nil {
		var ue *UnitError
		if !errors.As(err, &ue) {
			t.Fatalf("untyped unit error %v", err)
		}
	}
	for _, u := range us {
		decodeUnit(fr.AFN, fr.Control.Up(), u.Fn, u.Data)
	}
}

func decodeUnit(afn AFN, up bool, fn uint8, b []byte) {
	var (
		in Instant
		e  Energy
		c  Curve
		ar Archive
		aq ArchiveQuery
		ev Events
		fq ForwardRequest
		fp ForwardReply
		ak Acks
	)
	switch {
	case afn == AFNClass1 && fn == 25:
		in.UnmarshalUnit(b)
	case afn == AFNClass1 && fn == 2, afn == AFNControl && fn == 31, afn == AFNLink && len(b) == 6:
		A1.Decode(b)
	}
	e.UnmarshalUnit(afn, fn, b)
	c.UnmarshalUnit(fn, b)
	ar.UnmarshalUnit(b)
	aq.UnmarshalUnit(b)
	ev.UnmarshalUnit(b)
	fq.UnmarshalUnit(b)
	fp.UnmarshalUnit(b)
	ak.UnmarshalUnit(b)
}

// FuzzReader feeds arbitrary bytes through the streaming reader: it must
// not panic or loop, every frame it returns must re-encode to the exact
// wire bytes it came from, and every error must be typed.
func FuzzReader(f *testing.F) {
	seedFrames(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in))
		for i := 0; ; i++ {
			if i > len(in)+1 {
				t.Fatal("reader does not make progress")
			}
			fr, err := r.ReadFrame()
			if err == io.EOF {
				return
			}
			if err != nil {
				var fe *FrameError
				if !errors.As(err, &fe) {
					t.Fatalf("untyped error %v", err)
				}
				continue
			}
			b, err := fr.MarshalBinary()
			if err != nil || !bytes.Equal(b, r.Raw()) {
				t.Fatalf("frame % X re-encodes to % X (%v)", r.Raw(), b, err)
			}
			decodeUnits(t, fr)
		}
	})
}

// FuzzUnits decodes arbitrary data fields as the units of any AFN, both
// directions.
func FuzzUnits(f *testing.F) {
	f.Add(byte(0x0D), true, hx(f, "03 01 05 14 06 12 26 05 00 07 12 26 00 11 00 00 00 00"))
	f.Add(byte(0x0C), true, append(hx(f, "01 01 01 03"), hx(f, hexF25)...))
	f.Add(byte(0x0E), true, hx(f, "00 00 01 00 05 00 03 05 0E 0A 00 22 06 12 26 05 06 07 12 26 0A 00"))
	f.Add(byte(0x04), false, hx(f, "00 00 02 01 01 00 "+hexArchiveEntry))
	f.Add(byte(0x10), true, hx(f, "00 00 01 00 02 02 00 68 16"))
	f.Fuzz(func(t *testing.T, afn byte, up bool, data []byte) {
		fr := Frame{Protocol: GDW3761, Control: MakeControl(up, !up, false, false, 8), AFN: AFN(afn), Data: data}
		decodeUnits(t, &fr)
	})
}

// FuzzFormats decodes arbitrary bytes in every appendix format; whatever
// decodes must encode back to the same bytes.
func FuzzFormats(f *testing.F) {
	f.Add(hx(f, "45 30 09 07 32 26"))
	f.Add(hx(f, "89 67 45 23 81"))
	f.Add(hx(f, "EE EE EE EE EE EE"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, nf := range []Format{A5, A7, A9, A11, A13, A14, A25} {
			n, err := nf.Decode(b)
			if err != nil {
				continue
			}
			out, err := nf.Append(nil, n)
			if err != nil {
				t.Fatalf("%s %v decoded from % X does not encode: %v", nf.Name, n, b[:nf.Size], err)
			}
			if !n.Missing && !bytes.Equal(out, b[:nf.Size]) {
				// -0 is the one value with two encodings.
				if n.Value.Units != 0 {
					t.Fatalf("%s % X → %v → % X", nf.Name, b[:nf.Size], n, out)
				}
			}
		}
		for _, tf := range []TimeFormat{A1, A15, A16, A20, A21} {
			d, err := tf.Decode(b)
			if err != nil || d.IsZero() {
				continue
			}
			out, err := tf.Append(nil, d)
			if err != nil || !bytes.Equal(out, b[:tf.Size()]) {
				t.Fatalf("%s % X → %+v → % X (%v)", tf.Name, b[:tf.Size()], d, out, err)
			}
		}
	})
}

// FuzzEvents decodes arbitrary event records; what decodes re-encodes.
func FuzzEvents(f *testing.F) {
	f.Add(hx(f, "05 00 03 04 0E 0A 00 22 06 12 26 05 06 07 12 26"))
	f.Add(hx(f, "00 00 00 01 1B 11 00 01 07 12 26 01 80 89 67 45 23 01 00 00 45 23 01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev Events
		if ev.UnmarshalUnit(b) != nil {
			return
		}
		out, err := ev.AppendUnit(nil)
		if err != nil || !bytes.Equal(out, b) {
			t.Fatalf("% X → % X (%v)", b, out, err)
		}
	})
}
