package dlt645

import (
	"errors"
	"strings"
	"testing"
)

// decodeOne decodes data for di and returns "name=value unit" lines.
func decodeStrings(t *testing.T, r *Registry, di DI, data []byte) []string {
	t.Helper()
	vals, err := r.Decode(di, data, nil)
	if err != nil {
		t.Fatalf("Decode %s: %v", di, err)
	}
	var out []string
	for i := range vals {
		s := vals[i].Name + "=" + vals[i].String()
		if vals[i].Unit != "" {
			s += " " + vals[i].Unit
		}
		out = append(out, s)
	}
	return out
}

// Every format, from hand-made bytes (wire order, 33H already removed) to
// values and back to the same bytes.
func TestEveryFormatBothWays(t *testing.T) {
	cases := []struct {
		ed   Edition
		di   DI
		data string
		want string
	}{
		{DLT2007, 0x00010000, "78 56 34 12", "forward active energy total=123456.78 kWh"},
		{DLT2007, 0x00010000, "99 99 99 99", "forward active energy total=999999.99 kWh"},
		{DLT2007, 0x00010000, "00 00 00 00", "forward active energy total=0.00 kWh"},
		{DLT2007, 0x00010000, "EE EE EE EE", "forward active energy total=no data kWh"},
		{DLT2007, 0x00010000, "FF FF FF FF", "forward active energy total=no data kWh"},
		{DLT2007, 0x00000000, "23 01 00 80", "combined active energy total=-1.23 kWh"},
		{DLT2007, 0x00000000, "99 99 99 79", "combined active energy total=799999.99 kWh"},
		{DLT2007, 0x00010200, "50 00 00 00", "forward active energy tariff 2 (peak)=0.50 kWh"},
		{DLT2007, 0x00010003, "00 10 00 00", "forward active energy total, settlement day -3=10.00 kWh"},
		{DLT2007, 0x00020000, "01 00 00 00", "reverse active energy total=0.01 kWh"},
		{DLT2007, 0x00030000, "00 05 00 80", "combined reactive energy 1 total=-5.00 kvarh"},
		{DLT2007, 0x00150000, "00 01 00 00", "phase A forward active energy=1.00 kWh"},
		{DLT2007, 0x01010000, "56 34 12 30 14 22 11 26", "max demand of forward active total=12.3456 kW|max demand of forward active total time=2026-11-22T14:30"},
		{DLT2007, 0x01010000, "00 00 00 00 00 00 00 00", "max demand of forward active total=0.0000 kW|max demand of forward active total time=0-00-00T00:00"},
		{DLT2007, 0x02010100, "05 22", "phase A voltage=220.5 V"},
		{DLT2007, 0x02020200, "00 25 81", "phase B current=-12.500 A"},
		{DLT2007, 0x02030000, "34 12 80", "active power total=-0.1234 kW"},
		{DLT2007, 0x02060000, "87 09", "power factor total=0.987"},
		{DLT2007, 0x02800002, "98 49", "grid frequency=49.98 Hz"},
		{DLT2007, 0x02800007, "50 82", "meter temperature=-25.0 °C"},
		{DLT2007, 0x04000101, "00 22 11 26", "date and weekday=2026-11-22 W0"},
		{DLT2007, 0x04000102, "07 45 13", "time=13:45:07"},
		{DLT2007, 0x04000401, "78 56 34 12 00 00", "communication address=000012345678"},
		{DLT2007, 0x04000501, "10 00", "running status word 1=0010"},
		{DLT2007, 0x04000B01, "00 01", "settlement day 1=---01T00"},
		{DLT2007, 0x0400040B, "00 00 00 00 00 31 2D 53 44 44", "meter model=DDS-1"},
		{DLT2007, 0x03300D00, "12 00 00", "meter cover opened count=12"},
		{DLT2007, 0x05060001, "00 00 22 11 26", "daily freeze -1 time=2026-11-22T00:00"},
		{DLT2007, 0x0506003E, "00 00 22 09 26", "daily freeze -62 time=2026-09-22T00:00"},
		{DLT2007, 0x05040101, "00 00 01 00", "hourly freeze -1 forward active energy total=100.00 kWh"},
		{DLT2007, 0xDEADBEEF, "01 02 03", "unknown data identifier=010203"},
		{DLT1997, 0x9010, "99 99 99 99", "forward active energy total=999999.99 kWh"},
		{DLT1997, 0x9410, "00 00 01 00", "forward active energy total, last month=100.00 kWh"},
		{DLT1997, 0xB611, "20 02", "phase A voltage=220 V"},
		{DLT1997, 0xB621, "50 12", "phase A current=12.50 A"},
		{DLT1997, 0xB630, "00 50 01", "active power total=1.5000 kW"},
		{DLT1997, 0xB650, "00 09", "power factor total=0.900"},
		{DLT1997, 0xA010, "00 50 01", "max demand of forward active total=1.5000 kW"},
		{DLT1997, 0xB010, "30 14 22 11", "max demand of forward active total time=--11-22T14:30"},
		{DLT1997, 0xC010, "00 22 11 26", "date and weekday=2026-11-22 W0"},
		{DLT1997, 0xC011, "07 45 13", "time=13:45:07"},
		{DLT1997, 0xC032, "78 56 34 12 00 00", "meter number (address)=000012345678"},
	}
	for _, c := range cases {
		r := c.ed.Registry()
		data := hx(t, c.data)
		got := strings.Join(decodeStrings(t, r, c.di, data), "|")
		if got != c.want {
			t.Errorf("%s %s % X\n got %s\nwant %s", c.ed, c.di.Format(c.ed), data, got, c.want)
			continue
		}
		spec, ok := r.Lookup(c.di)
		if !ok {
			continue
		}
		vals, _ := r.Decode(c.di, data, nil)
		back, err := spec.Encode(nil, vals)
		if err != nil {
			t.Errorf("%s: Encode: %v", c.di, err)
			continue
		}
		if noData(data) {
			// The filler encodes as EE whichever filler came in.
			data = []byte(strings.Repeat("\xEE", len(data)))
		}
		if string(back) != string(data) {
			t.Errorf("%s: round trip % X, want % X", c.di, back, data)
		}
	}
}

func TestNoDataIsNotZero(t *testing.T) {
	vals, _ := registry2007.Decode(0x00010000, []byte{0xEE, 0xEE, 0xEE, 0xEE}, nil)
	zero, _ := registry2007.Decode(0x00010000, []byte{0, 0, 0, 0}, nil)
	if !vals[0].NoData || zero[0].NoData || vals[0].String() == zero[0].String() {
		t.Fatalf("no data %+v vs zero %+v", vals[0], zero[0])
	}
	// A half-EE value is bad BCD, not "no data".
	if _, err := registry2007.Decode(0x00010000, []byte{0xEE, 0xEE, 0x00, 0x00}, nil); !errors.Is(err, ErrBCD) {
		t.Fatalf("half filler: %v", err)
	}
}

func TestBadBCDAndLengthsAreErrors(t *testing.T) {
	cases := []struct {
		di   DI
		data []byte
		want error
	}{
		{0x00010000, []byte{0x1A, 0, 0, 0}, ErrBCD},
		{0x02010100, []byte{0x05}, nil}, // wrong length: plain error
		{0x04000102, []byte{0x60, 0x4A, 0x13}, ErrBCD},
		{0x04000401, []byte{0x78, 0x5B, 0, 0, 0, 0}, ErrBCD},
	}
	for _, c := range cases {
		_, err := registry2007.Decode(c.di, c.data, nil)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s % X: err %v, want %v", c.di, c.data, err, c.want)
		}
		if err != nil && !strings.Contains(err.Error(), c.di.String()) {
			t.Errorf("error %q does not name the DI", err)
		}
	}
}

func TestBlocksExpandIntoMembers(t *testing.T) {
	// 0001FF00: total and four tariffs.
	data := hx(t, "00 10 00 00 00 01 00 00 00 02 00 00 00 03 00 00 00 04 00 00")
	got := decodeStrings(t, registry2007, 0x0001FF00, data)
	want := []string{
		"forward active energy total=10.00 kWh",
		"forward active energy tariff 1 (sharp)=1.00 kWh",
		"forward active energy tariff 2 (peak)=2.00 kWh",
		"forward active energy tariff 3 (flat)=3.00 kWh",
		"forward active energy tariff 4 (valley)=4.00 kWh",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %v", got)
	}
	vals, _ := registry2007.Decode(0x0001FF00, data, nil)
	if vals[2].DI != 0x00010200 {
		t.Fatalf("member DI %s, want 00010200", vals[2].DI)
	}
	// 000100FF: current and settlement days.
	vals, _ = registry2007.Decode(0x000100FF, hx(t, "00 10 00 00 00 09 00 00 00 08 00 00"), nil)
	if len(vals) != 3 || vals[2].DI != 0x00010002 || vals[2].Number.String() != "8.00" {
		t.Fatalf("settlement block %+v", vals)
	}
	// 0201FF00: voltages A..C.
	got = decodeStrings(t, registry2007, 0x0201FF00, hx(t, "00 22 10 22 20 22"))
	if strings.Join(got, "|") != "phase A voltage=220.0 V|phase B voltage=221.0 V|phase C voltage=222.0 V" {
		t.Fatalf("voltage block %v", got)
	}
	// 01010FF00 members are value and time pairs.
	vals, _ = registry2007.Decode(0x0101FF00, hx(t, "56 34 12 30 14 22 11 26 00 00 00 00 00 00 00 00"), nil)
	if len(vals) != 4 || vals[1].Kind != KindTime || vals[2].DI != 0x01010100 {
		t.Fatalf("demand block %+v", vals)
	}
	// Daily freeze energies: total + tariffs without an FF in the DI.
	vals, _ = registry2007.Decode(0x05060101, hx(t, "00 10 00 00 00 01 00 00 00 02 00 00 00 03 00 00 00 04 00 00"), nil)
	if len(vals) != 5 || vals[4].Name != "daily freeze -1 forward active energy tariff 4 (valley)" {
		t.Fatalf("freeze block %+v", vals)
	}
	// 1997 901F.
	got = decodeStrings(t, registry1997, 0x901F, hx(t, "00 10 00 00 00 01 00 00"))
	if strings.Join(got, "|") != "forward active energy total=10.00 kWh|forward active energy tariff 1 (sharp)=1.00 kWh" {
		t.Fatalf("1997 block %v", got)
	}
	// A block must hold whole members.
	if _, err := registry2007.Decode(0x0001FF00, hx(t, "00 10 00"), nil); err == nil {
		t.Fatal("partial member accepted")
	}
}

func TestRegistryCoversTheDomainTable(t *testing.T) {
	for _, di := range []DI{
		0x00000000, 0x00010000, 0x00010100, 0x00010400, 0x0001FF00, 0x00020000, 0x00030000, 0x00040000,
		0x00050000, 0x00080000, 0x00010001, 0x0001000C, 0x01010000, 0x02010100, 0x02010300, 0x0201FF00,
		0x02020100, 0x02030000, 0x02030300, 0x02060000, 0x02800002, 0x04000101, 0x04000102, 0x04000401,
		0x04000501, 0x04000507, 0x05060001, 0x0506003E, 0x05060101, 0x05060201, 0x05040001, 0x05040101,
		0x06000000, 0x06000001, 0x06000002, 0x03300D00,
	} {
		if _, ok := registry2007.Lookup(di); !ok {
			t.Errorf("2007 DI %s missing", di)
		}
	}
	for _, di := range []DI{0x9010, 0x9011, 0x9014, 0x901F, 0x9020, 0xB611, 0xB613, 0xB621, 0xB623, 0xB630, 0xC010, 0xC011, 0xC032} {
		if _, ok := registry1997.Lookup(di); !ok {
			t.Errorf("1997 DI %s missing", di.Format(DLT1997))
		}
	}
}

func TestDecodeIntoReusedSliceDoesNotAllocate(t *testing.T) {
	data := hx(t, "78 56 34 12")
	dst := make([]Value, 0, 8)
	allocs := testing.AllocsPerRun(100, func() { dst, _ = registry2007.Decode(0x00010000, data, dst[:0]) })
	if allocs != 0 {
		t.Fatalf("%.0f allocations", allocs)
	}
}

func TestEncodeRefusesWhatDoesNotFit(t *testing.T) {
	spec, _ := registry2007.Lookup(0x00010000)
	for _, v := range []Value{
		Number(Decimal{Units: 100000000, Scale: 2}), // 1,000,000.00
		Number(Decimal{Units: -1, Scale: 2}),        // unsigned
		Number(Decimal{Units: 1, Scale: 3}),         // 0.001 loses a digit
	} {
		if _, err := spec.Encode(nil, []Value{v}); err == nil {
			t.Errorf("Encode(%s) accepted", v.Number)
		}
	}
	signed, _ := registry2007.Lookup(0x00000000)
	if _, err := signed.Encode(nil, []Value{Number(Decimal{Units: 80000000, Scale: 2})}); err == nil {
		t.Error("800000.00 fits a signed 4-byte field")
	}
}
