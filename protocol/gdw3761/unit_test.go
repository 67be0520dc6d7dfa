package gdw3761

import (
	"errors"
	"slices"
	"testing"
)

func TestDADT(t *testing.T) {
	for _, c := range []struct {
		pns  []uint16
		fns  []uint8
		wire string
	}{
		{[]uint16{0}, []uint8{1}, "00 00 01 00"},
		{[]uint16{0}, []uint8{2}, "00 00 02 00"},
		{[]uint16{1}, []uint8{25}, "01 01 01 03"},
		{[]uint16{1, 2, 3, 4, 5, 6, 7, 8}, []uint8{129}, "FF 01 01 10"},
		{[]uint16{9}, []uint8{131}, "01 02 04 10"},
		{[]uint16{2040}, []uint8{248}, "80 FF 80 1E"},
		{[]uint16{0}, []uint8{10}, "00 00 02 01"},
		{[]uint16{0}, []uint8{31}, "00 00 40 03"},
		{[]uint16{3}, []uint8{161, 163}, "04 01 05 14"},
		{[]uint16{1}, []uint8{177}, "01 01 01 16"},
		{[]uint16{1}, []uint8{89}, "01 01 01 0B"},
		{[]uint16{1}, []uint8{101}, "01 01 10 0C"},
		{[]uint16{AllPoints}, []uint8{129}, "FF 00 01 10"},
	} {
		d, err := MakeDADT(c.pns, c.fns)
		if err != nil || sp(d[:]) != c.wire {
			t.Errorf("p%v F%v: %s %v, want %s", c.pns, c.fns, sp(d[:]), err, c.wire)
			continue
		}
		pns, err1 := d.Points(nil)
		fns, err2 := d.Fns(nil)
		if err1 != nil || err2 != nil || !slices.Equal(pns, c.pns) || !slices.Equal(fns, c.fns) {
			t.Errorf("%s decodes to p%v F%v (%v %v)", c.wire, pns, fns, err1, err2)
		}
	}
	for _, bad := range []struct {
		pns []uint16
		fns []uint8
	}{{[]uint16{8, 9}, []uint8{1}}, {[]uint16{1}, []uint8{8, 9}}, {[]uint16{2041}, []uint8{1}}, {[]uint16{1}, []uint8{0}}, {nil, []uint8{1}}} {
		if _, err := MakeDADT(bad.pns, bad.fns); !errors.Is(err, ErrRange) {
			t.Errorf("p%v F%v: %v", bad.pns, bad.fns, err)
		}
	}
	for _, bad := range []DADT{{0x01, 0, 1, 0}, {0, 3, 1, 0}, {0, 0, 0, 0}, {0, 0, 1, 31}} {
		_, err1 := bad.Points(nil)
		_, err2 := bad.Fns(nil)
		if err1 == nil && err2 == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestUnitsOrder: two points and two Fn in one identifier come point by
// point, Fn by Fn within a point.
func TestUnitsOrder(t *testing.T) {
	// AFN 0D F161 + F163 for p1 and p2, 0 tariffs: each unit 3+5+1+5 = 14 bytes.
	one := func(tag byte) string {
		return "06 12 26 05 00 07 12 26 00 " + sp([]byte{tag}) + " 00 00 00 00"
	}
	data := hx(t, "03 01 05 14 "+one(0x11)+" "+one(0x13)+" "+one(0x21)+" "+one(0x23))
	f := Frame{Protocol: GDW3761, Control: MakeControl(true, false, false, false, FuncResponse), AFN: AFNClass2, Data: data}
	us, err := f.Units(nil)
	if err != nil || len(us) != 4 {
		t.Fatalf("%d units, %v", len(us), err)
	}
	want := [][2]int{{1, 161}, {1, 163}, {2, 161}, {2, 163}}
	for i, u := range us {
		if int(u.Pn) != want[i][0] || int(u.Fn) != want[i][1] || u.Data[9] != byte(u.Pn<<4|uint16(u.Fn-160)) {
			t.Errorf("unit %d: p%d F%d tag %02X, want p%d F%d", i, u.Pn, u.Fn, u.Data[9], want[i][0], want[i][1])
		}
	}
	if a := testing.AllocsPerRun(100, func() { us, _ = f.Units(us[:0]) }); a != 0 {
		t.Errorf("Units allocates %v times", a)
	}
}

func TestUnitsUnknownAndShort(t *testing.T) {
	f := Frame{Protocol: GDW3761, Control: MakeControl(true, false, false, false, FuncResponse), AFN: AFNClass1,
		Data: hx(t, "00 00 02 00 45 30 09 07 32 26 00 00 01 00 AA BB")}
	us, err := f.Units(nil)
	if err != nil || len(us) != 2 || us[0].Unknown || !us[1].Unknown || us[1].Fn != 1 || sp(us[1].Data) != "AA BB" {
		t.Fatalf("units %+v %v", us, err)
	}
	f.Data = hx(t, "00 00 02 00 45 30 09")
	_, err = f.Units(nil)
	var ue *UnitError
	if !errors.As(err, &ue) || ue.Fn != 2 || ue.Offset != 4 {
		t.Fatalf("short unit: %v", err)
	}
	f.Data = hx(t, "00 00")
	if _, err = f.Units(nil); !errors.Is(err, ErrLayout) {
		t.Fatalf("short DA DT: %v", err)
	}
}

func TestAppendUnitsGroups(t *testing.T) {
	// p1, p2, p9 and F129, F131: p1/p2 share group 1, p9 is group 2.
	b, err := AppendUnits(nil, []uint16{1, 9, 2}, []uint8{129, 131}, nil)
	if err != nil || sp(b) != "03 01 05 10 01 02 05 10" {
		t.Fatalf("%s %v", sp(b), err)
	}
	// A daily read carries td_d once per (point, Fn).
	b, err = AppendUnits(nil, []uint16{1, 2}, []uint8{161}, []byte{0x06, 0x12, 0x26})
	if err != nil || sp(b) != "03 01 01 14 06 12 26 06 12 26" {
		t.Fatalf("%s %v", sp(b), err)
	}
	// Fn in two groups make two identifiers.
	b, err = AppendUnits(nil, []uint16{0}, []uint8{2, 25}, nil)
	if err != nil || sp(b) != "00 00 02 00 00 00 01 03" {
		t.Fatalf("%s %v", sp(b), err)
	}
}
