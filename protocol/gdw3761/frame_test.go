package gdw3761

import (
	"bytes"
	"errors"
	"testing"
)

func TestLoginAndConfirm(t *testing.T) {
	login, err := Link(term, 0, 1, DateTime{})
	if b := marshal(t, login, err); sp(b) != hexLogin {
		t.Fatalf("login encodes to\n%s\nwant\n%s", sp(b), hexLogin)
	}
	var f Frame
	if err := f.UnmarshalBinary(hx(t, hexLogin)); err != nil {
		t.Fatal(err)
	}
	if f.Protocol != GDW3761 || f.Address != term || f.AFN != AFNLink || !f.Control.Up() || !f.Control.PRM() ||
		f.Control.Func() != FuncLinkTest || !f.Seq.FIR() || !f.Seq.FIN() || !f.Seq.CON() || f.Seq.Num() != 0 {
		t.Fatalf("login decodes to %+v", f)
	}
	us, err := f.Units(nil)
	if err != nil || len(us) != 1 || us[0].Pn != 0 || us[0].Fn != 1 || len(us[0].Data) != 0 {
		t.Fatalf("login units %+v %v", us, err)
	}
	c := Confirm(&f)
	if b := marshal(t, c, nil); sp(b) != hexConfirm {
		t.Fatalf("confirm encodes to\n%s\nwant\n%s", sp(b), hexConfirm)
	}
}

func TestHeartbeatWithAndWithoutClock(t *testing.T) {
	clock := DateTime{Year: 2026, Month: 12, Day: 7, Hour: 9, Minute: 30, Second: 45, Weekday: 1}
	for _, c := range []struct {
		clock DateTime
		want  int
	}{{DateTime{}, 0}, {clock, 6}} {
		hb, err := Link(term, 5, 3, c.clock)
		b := marshal(t, hb, err)
		var f Frame
		if err := f.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		us, err := f.Units(nil)
		if err != nil || len(us) != 1 || us[0].Fn != 3 || len(us[0].Data) != c.want {
			t.Fatalf("heartbeat units %+v %v", us, err)
		}
		if c.want == 6 {
			got, err := A1.Decode(us[0].Data)
			if err != nil || got != clock {
				t.Errorf("heartbeat clock %+v %v", got, err)
			}
		}
	}
}

func TestAuxiliaryFields(t *testing.T) {
	// Uplink with ACD (EC follows) and TpV (Tp follows).
	up := Frame{Protocol: GDW3761, Control: MakeControl(true, false, true, false, FuncResponse), Address: term,
		AFN: AFNClass1, Seq: MakeSeq(true, true, true, false, 3), Data: hx(t, "00 00 02 00 45 30 09 07 32 26"),
		EC: EC{Important: 7, Normal: 2}, Tp: Tp{PFC: 9, Sent: DateTime{Day: 7, Hour: 9, Minute: 30, Second: 40}, Delay: 5}}
	b := marshal(t, up, nil)
	// L = 8 + 10 data + 2 EC + 6 Tp = 26 → 26<<2|2 = 0x6A.
	want := "68 6A 00 6A 00 68 A8 01 44 01 00 00 0C E3 00 00 02 00 45 30 09 07 32 26 07 02 09 40 30 09 07 05"
	if !bytes.HasPrefix(b, hx(t, want)) || len(b) != len(hx(t, want))+2 {
		t.Fatalf("uplink encodes to\n%s\nwant prefix\n%s", sp(b), want)
	}
	var f Frame
	if err := f.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !f.HasEC() || f.EC != up.EC || f.Tp != up.Tp || !bytes.Equal(f.Data, up.Data) {
		t.Fatalf("decoded %+v", f)
	}

	// Downlink AFN 05 carries a 16-byte PW; AFN 0C does not.
	pw := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	set, err := SetClock(term, 1, pw, DateTime{Year: 2026, Month: 12, Day: 7, Hour: 9, Minute: 30, Second: 45, Weekday: 1})
	b = marshal(t, set, err)
	if len(b) != MinFrameLen+4+6+16 {
		t.Fatalf("clock set is %d bytes: %s", len(b), sp(b))
	}
	var g Frame
	if err := g.UnmarshalBinary(b); err != nil || g.PW != pw || len(g.Data) != 10 || g.Control != 0x4A {
		t.Fatalf("clock set decodes to %+v %v", g, err)
	}
	us, _ := g.Units(nil)
	if len(us) != 1 || us[0].Fn != 31 || sp(us[0].Data) != "45 30 09 07 32 26" {
		t.Fatalf("clock set units %+v", us)
	}

	// Q/GDW 130-2005: protocol 1, 2-byte PW.
	old := set
	old.Protocol = GDW130
	b = marshal(t, old, nil)
	if b[1]&3 != 1 || len(b) != MinFrameLen+4+6+2 {
		t.Fatalf("130-2005 frame %s", sp(b))
	}
	var h Frame
	if err := h.UnmarshalBinary(b); err != nil || h.Protocol != GDW130 || h.PW[0] != 1 || h.PW[1] != 2 || h.PW[2] != 0 {
		t.Fatalf("130-2005 decodes to %+v %v", h, err)
	}
}

// A Tp whose send time is filler (EE or FF) re-encodes to the same bytes.
func TestTpFiller(t *testing.T) {
	for _, fill := range []byte{0xEE, 0xFF} {
		f := Frame{Protocol: GDW3761, Control: MakeControl(true, false, false, false, FuncResponse), Address: term,
			AFN: AFNClass1, Seq: MakeSeq(true, true, true, false, 0), Data: hx(t, "00 00 02 00 45 30 09 07 32 26")}
		b := marshal(t, f, nil)
		for i := len(b) - 7; i < len(b)-3; i++ {
			b[len(b)-2] += fill - b[i]
			b[i] = fill
		}
		var g Frame
		if err := g.UnmarshalBinary(b); err != nil || !g.Tp.Sent.IsZero() {
			t.Fatalf("%02X: %v %+v", fill, err, g.Tp)
		}
		if out, err := g.MarshalBinary(); err != nil || !bytes.Equal(out, b) {
			t.Errorf("%02X: % X re-encodes to % X (%v)", fill, b, out, err)
		}
	}
}

func TestFrameErrors(t *testing.T) {
	good := hx(t, hexLogin)
	bad := func(mut func([]byte) []byte, want error) {
		t.Helper()
		b := mut(append([]byte(nil), good...))
		var f Frame
		err := f.UnmarshalBinary(b)
		var fe *FrameError
		if !errors.Is(err, want) || !errors.As(err, &fe) {
			t.Errorf("% X: %v, want %v", b, err, want)
		}
	}
	bad(func(b []byte) []byte { b[len(b)-2]++; return b }, ErrChecksum)
	bad(func(b []byte) []byte { b[len(b)-1] = 0x17; return b }, ErrEndByte)
	bad(func(b []byte) []byte { return b[:len(b)-3] }, ErrTruncated)
	bad(func(b []byte) []byte { return append(b, 0) }, ErrLayout)
	bad(func(b []byte) []byte { b[7] = 0x4A; b[len(b)-2] += 0x4A - 0x01; return b }, ErrLayout) // area code not BCD
	bad(func(b []byte) []byte { return []byte{1, 2, 3} }, ErrNoFrame)
	// Length field halves that differ, or protocol 3, are not a frame header.
	bad(func(b []byte) []byte { b[3] = 0x36; return b }, ErrNoFrame)
	bad(func(b []byte) []byte { b[1], b[3] = 0x33, 0x33; return b }, ErrNoFrame)
	// The auxiliary fields must fit: a downlink AFN 04 needs 16 bytes of PW.
	short := Frame{Protocol: GDW3761, Address: term, AFN: AFNConfirm, Seq: Single(0, false), Data: hx(t, "00 00 01 00")}
	b := marshal(t, short, nil)
	b[12] = byte(AFNSet)
	b[len(b)-2] += byte(AFNSet)
	var f Frame
	if err := f.UnmarshalBinary(b); !errors.Is(err, ErrLayout) {
		t.Errorf("AFN 04 without PW: %v", err)
	}
}

func TestDecodeSkipsNoise(t *testing.T) {
	in := append(hx(t, "00 68 16 68 32 00"), hx(t, hexLogin)...)
	var f Frame
	n, err := f.Decode(in)
	if err != nil || n != len(in) || f.AFN != AFNLink {
		t.Fatalf("n=%d err=%v", n, err)
	}
}

func TestDecodeReusesData(t *testing.T) {
	in := hx(t, hexLogin)
	var f Frame
	f.Decode(in)
	if a := testing.AllocsPerRun(100, func() { f.Decode(in) }); a != 0 {
		t.Errorf("Decode allocates %v times", a)
	}
}
