package gdw3761

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"testing/iotest"
	"time"
)

func readAll(t *testing.T, r *Reader) (frames []Frame, errs []error) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		f, err := r.ReadFrame()
		if err == io.EOF {
			return
		}
		if err != nil {
			var fe *FrameError
			if !errors.As(err, &fe) {
				t.Fatalf("untyped error %v", err)
			}
			errs = append(errs, err)
			continue
		}
		frames = append(frames, f.Clone())
	}
	t.Fatal("reader does not end")
	return
}

// TestReaderBadFrameThenGood: noise, a frame with a bad checksum, a good
// frame: one error for the bad frame, and the good one decoded.
func TestReaderBadFrameThenGood(t *testing.T) {
	bad := hx(t, hexLogin)
	bad[len(bad)-2] ^= 0xFF
	hb, _ := Link(term, 1, 3, DateTime{})
	good := marshal(t, hb, nil)
	stream := append(append(hx(t, "00 FF 68 16 68 68 32"), bad...), good...)
	for _, name := range []string{"whole", "one byte at a time"} {
		var src io.Reader = bytes.NewReader(stream)
		if name != "whole" {
			src = iotest.OneByteReader(src)
		}
		frames, errs := readAll(t, NewReader(src))
		if len(errs) != 1 || !errors.Is(errs[0], ErrChecksum) {
			t.Errorf("%s: errors %v, want one checksum error", name, errs)
		}
		var fe *FrameError
		if len(errs) == 1 && errors.As(errs[0], &fe) && fe.Offset != 7 {
			t.Errorf("%s: bad frame at %d, want 7", name, fe.Offset)
		}
		if len(frames) != 1 || frames[0].AFN != AFNLink || frames[0].Seq.Num() != 1 {
			t.Errorf("%s: frames %+v", name, frames)
		}
	}
}

// TestReaderCutOffFrame: a frame whose length field claims more than
// arrives (cut off, or a corrupt length as line noise makes) does not hold
// up the good frame behind it, on a stream that stays open.
func TestReaderCutOffFrame(t *testing.T) {
	hb, _ := Link(term, 2, 3, DateTime{})
	good := marshal(t, hb, nil)
	for name, lead := range map[string][]byte{
		"cut frame":    hx(t, hexLogin)[:12],
		"noise header": hx(t, "68 FE FF FE FF 68 01 02"), // claims 16383 bytes
		"both":         append(hx(t, "68 FE FF FE FF 68 01 02"), hx(t, hexLogin)[:12]...),
	} {
		pr, pw := net.Pipe()
		// A reader that waited for the claimed length would hit this deadline.
		pr.SetReadDeadline(time.Now().Add(5 * time.Second))
		r := NewReader(pr)
		go func() {
			pw.Write(lead)
			pw.Write(good)
		}()
		var errs []error
		for {
			f, err := r.ReadFrame()
			if err != nil {
				var fe *FrameError
				if !errors.As(err, &fe) || len(errs) > 2 {
					t.Fatalf("%s: errors %v", name, append(errs, err))
				}
				errs = append(errs, err)
				continue
			}
			if f.Seq.Num() != 2 || f.AFN != AFNLink {
				t.Fatalf("%s: frame %+v", name, f)
			}
			break
		}
		pw.Close()
		if len(errs) == 0 {
			t.Errorf("%s: the bad lead was not reported", name)
		}
	}
}

func TestReaderEndsInsideFrame(t *testing.T) {
	in := append(hx(t, hexLogin), hx(t, hexLogin)[:10]...)
	frames, errs := readAll(t, NewReader(bytes.NewReader(in)))
	if len(frames) != 1 || len(errs) != 1 || !errors.Is(errs[0], ErrTruncated) {
		t.Errorf("frames %d errors %v", len(frames), errs)
	}
}

func TestReaderPassesReadErrors(t *testing.T) {
	boom := errors.New("deadline")
	r := NewReader(io.MultiReader(bytes.NewReader(hx(t, hexLogin)[:9]), iotest.ErrReader(boom)))
	if _, err := r.ReadFrame(); err != boom {
		t.Fatalf("%v, want the reader's error", err)
	}
	if r.Buffered() != 9 {
		t.Errorf("buffered %d", r.Buffered())
	}
}

func TestReaderLargeFrameGrowsBuffer(t *testing.T) {
	ar := Archive{Meters: make([]MeterEntry, 300)}
	for i := range ar.Meters {
		ar.Meters[i] = MeterEntry{Serial: uint16(i + 1), Point: uint16(i + 1), Port: 2, Protocol: MeterDLT2007, IntDigits: 6, DecDigits: 2}
	}
	f, err := WriteArchive(term, 0, [16]byte{}, &ar)
	b := marshal(t, f, err)
	frames, errs := readAll(t, NewReader(bytes.NewReader(append(b, b...))))
	if len(frames) != 2 || len(errs) != 0 {
		t.Fatalf("%d frames, %v", len(frames), errs)
	}
	var got Archive
	us, _ := frames[1].Units(nil)
	if err := got.UnmarshalUnit(us[0].Data); err != nil || len(got.Meters) != 300 {
		t.Fatalf("%d entries, %v", len(got.Meters), err)
	}
}

func TestReaderNoAllocs(t *testing.T) {
	stream := bytes.Repeat(hx(t, hexLogin), 50)
	rd := bytes.NewReader(stream)
	r := NewReader(rd)
	run := func() {
		rd.Reset(stream)
		r.Reset(rd)
		for {
			if _, err := r.ReadFrame(); err == io.EOF {
				return
			}
		}
	}
	run()
	if a := testing.AllocsPerRun(20, run); a != 0 {
		t.Errorf("%v allocs per stream", a)
	}
}

func reply(t *testing.T, rseq uint8, fir, fin bool, pn uint16) Frame {
	req, _ := ReadDaily(term, 0, DateTime{Year: 2026, Month: 12, Day: 6}, []uint16{pn}, []uint8{161})
	f := Response(&req, rseq, fir, fin)
	f.Data, _ = AppendUnits(nil, []uint16{pn}, []uint8{161}, nil)
	e := Energy{Date: DateTime{Year: 2026, Month: 12, Day: 6}, ReadTime: DateTime{Year: 2026, Month: 12, Day: 7, Minute: 5}, Total: N(int64(pn)*10000, 4)}
	f.Data, _ = e.AppendUnit(f.Data, AFNClass2, 161)
	return f
}

func TestAssembler(t *testing.T) {
	var a Assembler
	parts := []Frame{reply(t, 14, true, false, 1), reply(t, 15, false, false, 2), reply(t, 0, false, true, 3)}
	for i := range parts {
		done, err := a.Add(&parts[i])
		if err != nil || done != (i == 2) {
			t.Fatalf("frame %d: done %v err %v", i, done, err)
		}
	}
	us, err := a.Units(nil)
	if err != nil || len(us) != 3 || us[2].Pn != 3 {
		t.Fatalf("units %+v %v", us, err)
	}
	var e Energy
	if err := e.UnmarshalUnit(AFNClass2, 161, us[1].Data); err != nil || e.Total.String() != "2.0000" {
		t.Errorf("p2 %v %v", e.Total, err)
	}
	// A single frame is complete at once.
	one := reply(t, 3, true, true, 1)
	if done, err := a.Add(&one); !done || err != nil || len(a.Frames()) != 1 {
		t.Errorf("single: %v %v", done, err)
	}
	// A gap in RSEQ breaks the sequence.
	a.Reset()
	first, gap := reply(t, 4, true, false, 1), reply(t, 6, false, true, 2)
	a.Add(&first)
	if _, err := a.Add(&gap); !errors.Is(err, ErrSequence) {
		t.Errorf("gap: %v", err)
	}
	if _, err := a.Add(&gap); !errors.Is(err, ErrSequence) {
		t.Errorf("no first frame: %v", err)
	}
}
