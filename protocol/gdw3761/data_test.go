package gdw3761

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/headend/headend/protocol/dlt645"
)

func checkNums(t *testing.T, what string, got []Num, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values %v, want %d", what, len(got), got, len(want))
	}
	for i := range got {
		if got[i].String() != want[i] {
			t.Errorf("%s[%d] = %v, want %s", what, i, got[i], want[i])
		}
	}
}

const hexF25 = "05 00 07 12 26 " + // read at 2026-12-07 00:05
	"45 23 01 15 41 00 15 41 00 15 41 00 " + // P: 1.2345, 0.4115 × 3
	"00 50 80 EE EE EE EE EE EE EE EE EE " + // Q: -0.5000, missing × 3
	"25 09 25 09 25 09 25 09 " + // PF 92.5 % × 4
	"01 22 98 21 10 22 " + // U: 220.1 219.8 221.0
	"72 18 00 72 18 00 72 18 00 " + // I: 1.872 × 3
	"10 00 00 " + // I0: 0.010
	"46 33 01 EE EE EE EE EE EE EE EE EE" // S: 1.3346, missing × 3

func TestInstantF25(t *testing.T) {
	b := hx(t, hexF25)
	if len(b) != instantLen || instantLen != 67 {
		t.Fatalf("vector is %d bytes, F25 %d", len(b), instantLen)
	}
	var v Instant
	if err := v.UnmarshalUnit(b); err != nil {
		t.Fatal(err)
	}
	if v.ReadTime != (DateTime{Year: 2026, Month: 12, Day: 7, Minute: 5}) {
		t.Errorf("read time %v", v.ReadTime)
	}
	checkNums(t, "P", v.P[:], []string{"1.2345", "0.4115", "0.4115", "0.4115"})
	checkNums(t, "Q", v.Q[:], []string{"-0.5000", "--", "--", "--"})
	checkNums(t, "PF", v.PF[:], []string{"92.5", "92.5", "92.5", "92.5"})
	checkNums(t, "U", v.U[:], []string{"220.1", "219.8", "221.0"})
	checkNums(t, "I", v.I[:], []string{"1.872", "1.872", "1.872"})
	checkNums(t, "I0", []Num{v.I0}, []string{"0.010"})
	checkNums(t, "S", v.S[:], []string{"1.3346", "--", "--", "--"})
	out, err := v.AppendUnit(nil)
	if err != nil || !bytes.Equal(out, b) {
		t.Errorf("re-encodes to %s (%v)", sp(out), err)
	}
	if err := v.UnmarshalUnit(b[:66]); !errors.Is(err, ErrLayout) {
		t.Errorf("short F25: %v", err)
	}
}

func TestEnergyUnits(t *testing.T) {
	values := "02 89 67 45 23 01 78 56 34 12 00 11 11 11 11 00" // M = 2: 12345.6789, 1234.5678, 1111.1111
	want := []string{"12345.6789", "1234.5678", "1111.1111"}
	for _, c := range []struct {
		afn  AFN
		fn   uint8
		wire string
		date DateTime
	}{
		{AFNClass1, 129, "05 00 07 12 26 " + values, DateTime{}},
		{AFNClass1, 131, "05 00 07 12 26 " + values, DateTime{}},
		{AFNClass2, 161, "06 12 26 05 00 07 12 26 " + values, DateTime{Year: 2026, Month: 12, Day: 6}},
		{AFNClass2, 163, "06 12 26 05 00 07 12 26 " + values, DateTime{Year: 2026, Month: 12, Day: 6}},
		{AFNClass2, 177, "11 26 05 00 07 12 26 " + values, DateTime{Year: 2026, Month: 11}},
	} {
		b := hx(t, c.wire)
		if n, known, err := UnitLen(c.afn, c.fn, true, b); !known || err != nil || n != len(b) {
			t.Errorf("%v F%d: UnitLen %d %v %v, want %d", c.afn, c.fn, n, known, err, len(b))
		}
		var e Energy
		if err := e.UnmarshalUnit(c.afn, c.fn, b); err != nil {
			t.Errorf("%v F%d: %v", c.afn, c.fn, err)
			continue
		}
		if e.Date != c.date || e.ReadTime != (DateTime{Year: 2026, Month: 12, Day: 7, Minute: 5}) {
			t.Errorf("%v F%d: date %v read %v", c.afn, c.fn, e.Date, e.ReadTime)
		}
		checkNums(t, "energy", append([]Num{e.Total}, e.Tariffs...), want)
		if e.Total.Value.Scale != 4 {
			t.Errorf("A.14 scale %d", e.Total.Value.Scale)
		}
		out, err := e.AppendUnit(nil, c.afn, c.fn)
		if err != nil || !bytes.Equal(out, b) {
			t.Errorf("%v F%d re-encodes to %s (%v)", c.afn, c.fn, sp(out), err)
		}
	}
	// A reactive reading (F130) is A.11: 4 bytes a value.
	var e Energy
	if err := e.UnmarshalUnit(AFNClass1, 130, hx(t, "05 00 07 12 26 01 00 50 34 12 EE EE EE EE")); err != nil ||
		e.Total.String() != "123450.00" || !e.Tariffs[0].Missing {
		t.Errorf("F130: %v %v", e, err)
	}
	if err := e.UnmarshalUnit(AFNClass2, 161, hx(t, "06 12 26 05 00 07 12 26 03 89 67 45 23 01")); !errors.Is(err, ErrLayout) {
		t.Errorf("count past data: %v", err)
	}
}

func TestCurves(t *testing.T) {
	b := hx(t, "00 00 06 12 26 01 04 50 23 01 00 75 23 01 00 EE EE EE EE 00 24 01 00")
	var c Curve
	if err := c.UnmarshalUnit(101, b); err != nil {
		t.Fatal(err)
	}
	if c.Start != (DateTime{Year: 2026, Month: 12, Day: 6}) || c.Density.Minutes() != 15 {
		t.Errorf("td_c %v %d", c.Start, c.Density)
	}
	checkNums(t, "F101", c.Values, []string{"123.50", "123.75", "--", "124.00"})
	if out, err := c.AppendUnit(nil, 101); err != nil || !bytes.Equal(out, b) {
		t.Errorf("F101 re-encodes to %s (%v)", sp(out), err)
	}
	v := hx(t, "00 00 06 12 26 03 03 01 22 98 21 EE EE")
	if err := c.UnmarshalUnit(89, v); err != nil || c.Density.Minutes() != 60 {
		t.Fatal(err)
	}
	checkNums(t, "F89", c.Values, []string{"220.1", "219.8", "--"})
	if n, _, _ := UnitLen(AFNClass2, 89, true, v); n != len(v) {
		t.Errorf("F89 UnitLen %d", n)
	}
	if err := c.UnmarshalUnit(101, v); !errors.Is(err, ErrLayout) {
		t.Errorf("F89 data as F101: %v", err)
	}
	// The request: td_c for p1, 96 points of 15 min from 2026-12-06 00:00.
	f, err := ReadCurve(term, 2, DateTime{Year: 2026, Month: 12, Day: 6}, 1, 96, []uint16{1}, []uint8{101})
	if err != nil || sp(f.Data) != "01 01 10 0C 00 00 06 12 26 01 60" {
		t.Errorf("F101 request %s %v", sp(f.Data), err)
	}
}

const hexArchiveEntry = "01 00 01 00 62 1E 78 56 34 12 00 00 00 00 00 00 00 00 04 09 00 00 00 00 00 00 51"

func TestArchiveF10(t *testing.T) {
	b := hx(t, "01 00 "+hexArchiveEntry)
	var a Archive
	if err := a.UnmarshalUnit(b); err != nil {
		t.Fatal(err)
	}
	want := MeterEntry{Serial: 1, Point: 1, Port: 2, Baud: 2400, Protocol: MeterDLT2007,
		Address: dlt645.MustParseAddress("000012345678"), Tariffs: 4, IntDigits: 6, DecDigits: 2, Class: 5, Subclass: 1}
	if len(a.Meters) != 1 || a.Meters[0] != want {
		t.Fatalf("archive %+v, want %+v", a.Meters, want)
	}
	out, err := a.AppendUnit(nil)
	if err != nil || !bytes.Equal(out, b) {
		t.Errorf("re-encodes to %s (%v)", sp(out), err)
	}
	// AFN 04 F10 download and AFN 0A F10 query, as frames.
	w, err := WriteArchive(term, 1, [16]byte{}, &a)
	if err != nil || sp(w.Data) != "00 00 02 01 "+sp(b) || !w.HasPW() || !w.Seq.CON() {
		t.Errorf("04 F10 %s %v", sp(w.Data), err)
	}
	wb := marshal(t, w, nil)
	var g Frame
	if err := g.UnmarshalBinary(wb); err != nil {
		t.Fatal(err)
	}
	us, err := g.Units(nil)
	if err != nil || len(us) != 1 || !bytes.Equal(us[0].Data, b) {
		t.Errorf("04 F10 units %+v %v", us, err)
	}
	q, err := ReadArchive(term, 2, []uint16{1, 5})
	if err != nil || sp(q.Data) != "00 00 02 01 02 00 01 00 05 00" {
		t.Errorf("0A F10 %s %v", sp(q.Data), err)
	}
	var aq ArchiveQuery
	if err := aq.UnmarshalUnit(q.Data[4:]); err != nil || len(aq.Serials) != 2 || aq.Serials[1] != 5 {
		t.Errorf("query %v %v", aq, err)
	}
	bad := a
	bad.Meters = []MeterEntry{want}
	bad.Meters[0].Baud = 1000
	if _, err := bad.AppendUnit(nil); !errors.Is(err, ErrRange) {
		t.Errorf("baud 1000: %v", err)
	}
	if err := a.UnmarshalUnit(b[:20]); !errors.Is(err, ErrLayout) {
		t.Errorf("short archive: %v", err)
	}
}

func TestEvents(t *testing.T) {
	// Pointers 3..5: a power off/on and a voltage loss on phase A.
	b := hx(t, "05 00 03 05 "+
		"0E 0A 00 22 06 12 26 05 06 07 12 26 "+
		"0A 1C 30 09 07 12 26 01 80 81 00 00 01 22 98 21 00 00 00 72 18 00 72 18 00 89 67 45 23 01")
	if n, _, err := UnitLen(AFNClass3, 1, true, b); n != len(b) || err != nil {
		t.Fatalf("UnitLen %d %v", n, err)
	}
	var ev Events
	if err := ev.UnmarshalUnit(b); err != nil {
		t.Fatal(err)
	}
	if ev.EC1 != 5 || ev.Pm != 3 || ev.Pn != 5 || len(ev.Records) != 2 {
		t.Fatalf("%+v", ev)
	}
	off := ev.Records[0]
	if off.ERC != ERCPowerOnOff || !off.Decoded || off.Time != (DateTime{Year: 2026, Month: 12, Day: 6, Hour: 22}) ||
		off.End != (DateTime{Year: 2026, Month: 12, Day: 7, Hour: 6, Minute: 5}) {
		t.Errorf("ERC14 %+v", off)
	}
	loss := ev.Records[1]
	if !loss.VoltageLoss() || loss.PhaseBreak() || loss.Pn != 1 || !loss.Start || loss.Flags&7 != 1 ||
		loss.U[0].String() != "0.0" || loss.U[1].String() != "220.1" || loss.I[2].String() != "1.872" || loss.Energy.String() != "12345.6789" {
		t.Errorf("ERC10 %+v", loss)
	}
	out, err := ev.AppendUnit(nil)
	if err != nil || !bytes.Equal(out, b) {
		t.Errorf("re-encodes to %s (%v)", sp(out), err)
	}

	// Pointers wrap: 254..2 is four records; an unknown ERC stays raw.
	b = hx(t, "09 00 FE 02 "+
		"1B 11 00 01 07 12 26 01 80 89 67 45 23 01 00 00 45 23 01 "+ // ERC27 energy going backwards
		"0C 07 00 02 07 12 26 02 80 "+ // ERC12 meter clock out of tolerance, p2
		"01 0E 00 03 07 12 26 02 31 2E 30 30 31 2E 30 31 "+ // ERC1 version 1.00 → 1.01
		"63 03 AA BB CC") // ERC99: unknown
	if err := ev.UnmarshalUnit(b); err != nil || len(ev.Records) != 4 {
		t.Fatalf("%d records, %v", len(ev.Records), err)
	}
	down, clk, ver, unk := ev.Records[0], ev.Records[1], ev.Records[2], ev.Records[3]
	if down.ERC != ERCEnergyDown || down.Before.String() != "12345.6789" || down.After.String() != "12345.0000" || down.Pn != 1 {
		t.Errorf("ERC27 %+v", down)
	}
	if clk.ERC != ERCMeterClock || clk.Pn != 2 || !clk.Start || clk.Time.Hour != 2 {
		t.Errorf("ERC12 %+v", clk)
	}
	if ver.Flags != 2 || string(ver.OldVersion[:]) != "1.00" || string(ver.NewVersion[:]) != "1.01" {
		t.Errorf("ERC1 %+v", ver)
	}
	if unk.ERC != 99 || unk.Decoded || sp(unk.Data) != "AA BB CC" {
		t.Errorf("ERC99 %+v", unk)
	}
	// An ERC shorter than its layout is an error, a record past the unit too.
	if err := ev.UnmarshalUnit(hx(t, "00 00 00 01 0E 05 00 22 06 12 26")); !errors.Is(err, ErrLayout) {
		t.Errorf("short ERC14: %v", err)
	}
	if err := ev.UnmarshalUnit(hx(t, "00 00 00 01 0E 0A 00 22")); !errors.Is(err, ErrLayout) {
		t.Errorf("record past the unit: %v", err)
	}
	// The request.
	f := ReadEvents(term, 4, true, 3, 5)
	if sp(f.Data) != "00 00 01 00 03 05" || f.AFN != AFNClass3 {
		t.Errorf("0E F1 request %s", sp(f.Data))
	}
}

func TestForwardF1(t *testing.T) {
	meter := dlt645.MustParseAddress("000012345678")
	mf, _ := dlt645.DLT2007.ReadRequest(meter, 0x00010000)
	inner, _ := mf.MarshalBinary()
	sc, err := MakeSerialControl(2400, 'E', 8, 1)
	if err != nil || sc != 0x6B || sc.String() != "2400 8E1" {
		t.Fatalf("control word %02X %v", byte(sc), err)
	}
	req := ForwardRequest{Port: 2, Serial: sc, FrameTimeout: 2 * time.Second, ByteTimeout: 100 * time.Millisecond, Data: inner}
	f, err := Forward(term, 7, [16]byte{}, &req)
	if err != nil {
		t.Fatal(err)
	}
	want := "00 00 01 00 02 6B 82 0A 10 00 " + sp(inner)
	if sp(f.Data) != want || !f.HasPW() {
		t.Fatalf("10 F1 data %s, want %s", sp(f.Data), want)
	}
	var g Frame
	if err := g.UnmarshalBinary(marshal(t, f, nil)); err != nil {
		t.Fatal(err)
	}
	us, err := g.Units(nil)
	if err != nil || len(us) != 1 {
		t.Fatal(us, err)
	}
	var back ForwardRequest
	if err := back.UnmarshalUnit(us[0].Data); err != nil || back.Port != 2 || back.FrameTimeout != 2*time.Second ||
		back.ByteTimeout != 100*time.Millisecond || !bytes.Equal(back.Data, inner) {
		t.Errorf("request decodes to %+v %v", back, err)
	}
	// The reply: port, length, the meter's frame.
	reply := Response(&g, g.Seq.Num(), true, true)
	reply.Data, _ = AppendUnits(nil, []uint16{0}, []uint8{1}, nil)
	fr := ForwardReply{Port: 2, Data: inner}
	reply.Data, _ = fr.AppendUnit(reply.Data)
	var h Frame
	if err := h.UnmarshalBinary(marshal(t, reply, nil)); err != nil || h.HasPW() {
		t.Fatal(err)
	}
	us, _ = h.Units(nil)
	var fb ForwardReply
	if err := fb.UnmarshalUnit(us[0].Data); err != nil || fb.Port != 2 || !bytes.Equal(fb.Data, inner) {
		t.Errorf("reply %+v %v", fb, err)
	}
	if _, err := MakeSerialControl(2400, 'X', 8, 1); !errors.Is(err, ErrRange) {
		t.Errorf("parity X: %v", err)
	}
	if fb.UnmarshalUnit([]byte{2, 5, 0, 1}) == nil {
		t.Error("reply length past data accepted")
	}
}

func TestRequests(t *testing.T) {
	f, err := ReadCurrent(term, 1, []uint16{1, 2}, []uint8{129, 131})
	if err != nil || sp(f.Data) != "03 01 05 10" || f.Control != 0x4B || f.AFN != AFNClass1 {
		t.Errorf("0C %s %v", sp(f.Data), err)
	}
	c := ReadClock(term, 1)
	if sp(c.Data) != "00 00 02 00" {
		t.Errorf("0C F2 %s", sp(c.Data))
	}
	d, err := ReadDaily(term, 1, DateTime{Year: 2026, Month: 12, Day: 6}, []uint16{1}, []uint8{161, 163})
	if err != nil || sp(d.Data) != "01 01 05 14 06 12 26 06 12 26" {
		t.Errorf("0D daily %s %v", sp(d.Data), err)
	}
	m, err := ReadMonthly(term, 1, DateTime{Year: 2026, Month: 11, Day: 30}, []uint16{1}, []uint8{177})
	if err != nil || sp(m.Data) != "01 01 01 16 11 26" {
		t.Errorf("0D monthly %s %v", sp(m.Data), err)
	}
	if _, err := ReadDaily(term, 1, DateTime{Year: 2026, Month: 12, Day: 6}, []uint16{1}, []uint8{177}); !errors.Is(err, ErrRange) {
		t.Errorf("F177 as daily: %v", err)
	}
	// Each request decodes back through Units with the request's lengths.
	for _, fr := range []Frame{f, c, d, m} {
		var g Frame
		if err := g.UnmarshalBinary(marshal(t, fr, nil)); err != nil {
			t.Fatal(err)
		}
		if us, err := g.Units(nil); err != nil || len(us) == 0 || us[len(us)-1].Unknown {
			t.Errorf("%v: units %+v %v", g.AFN, us, err)
		}
	}
}
