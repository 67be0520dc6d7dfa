package dlt645

import (
	"errors"
	"testing"
)

func TestLoadProfileRecordBothWays(t *testing.T) {
	// By hand: A0 A0, length, time 2026-11-22 13:15 (15 13 22 11 26),
	// group 1 (Ua 220.0, Ub 221.0, Uc 222.0, Ia 1.500, Ib 0, Ic 0, f 50.00),
	// groups 2, 3 empty, group 4 (forward 123.45, reverse 0, Q1 0, Q2 0),
	// groups 5, 6 empty, checksum, E5.
	body := "15 13 22 11 26 " +
		"00 22 10 22 20 22 00 15 00 00 00 00 00 00 00 00 50 AA " +
		"AA AA " +
		"45 23 01 00 00 00 00 00 00 00 00 00 00 00 00 00 AA " +
		"AA AA"
	b := hx(t, body)
	rec := append([]byte{0xA0, 0xA0, byte(len(b))}, b...)
	var cs byte
	for _, x := range rec {
		cs += x
	}
	rec = append(rec, cs, 0xE5)
	recs, err := DecodeProfile(rec)
	if err != nil {
		t.Fatal(err)
	}
	r := recs[0]
	if r.Time.String() != "2026-11-22T13:15" || r.Groups != GroupVoltageCurrent|GroupEnergy ||
		r.Voltage[1].String() != "221.0" || r.Current[0].String() != "1.500" || r.Frequency.String() != "50.00" ||
		r.Energy[0].String() != "123.45" {
		t.Fatalf("decoded %+v", r)
	}
	back, err := AppendProfileRecord(nil, &r)
	if err != nil || string(back) != string(rec) {
		t.Fatalf("re-encoded % X\nwant % X (%v)", back, rec, err)
	}
	// Two records back to back, through the registry as values.
	vals, err := registry2007.Decode(0x06000001, append(append([]byte{}, rec...), rec...), nil)
	if err != nil || len(vals) != 2*(1+7+4) || vals[0].Name != "record time" {
		t.Fatalf("values %d %v", len(vals), err)
	}
	// A bad record sum is an error.
	bad := append([]byte{}, rec...)
	bad[len(bad)-2]++
	if _, err := DecodeProfile(bad); !errors.Is(err, ErrChecksum) {
		t.Fatalf("bad sum: %v", err)
	}
	// Missing end code.
	bad = append([]byte{}, rec...)
	bad[len(bad)-1] = 0
	if _, err := DecodeProfile(bad); !errors.Is(err, ErrLayout) {
		t.Fatalf("bad end: %v", err)
	}
}

func TestLoadProfileAllGroupsAndNoData(t *testing.T) {
	r := ProfileRecord{Time: DateTime{Layout: YYMMDDhhmm, Year: 2026, Month: 1, Day: 2, Hour: 3, Minute: 45}, Groups: 0x3F}
	r.ActivePower[0] = Decimal{Units: -12345, Scale: 4}
	r.PowerFactor[0] = Decimal{Units: 999, Scale: 3}
	r.Demand[1] = Decimal{Units: 5, Scale: 4}
	r.Absent = 1 << groupBase[4] // quadrant I: no data
	b, err := AppendProfileRecord(nil, &r)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 3+5+17+24+8+16+16+6+6+2 {
		t.Fatalf("length %d", len(b))
	}
	recs, err := DecodeProfile(b)
	if err != nil {
		t.Fatal(err)
	}
	g := recs[0]
	if g.ActivePower[0] != r.ActivePower[0] || g.PowerFactor[0] != r.PowerFactor[0] || g.Demand[1] != r.Demand[1] || g.Absent != r.Absent {
		t.Fatalf("round trip %+v", g)
	}
}
