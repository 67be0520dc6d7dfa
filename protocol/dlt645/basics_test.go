package dlt645

import (
	"errors"
	"testing"
	"time"
)

func TestParseAddress(t *testing.T) {
	good := map[string]string{
		"000012345678": "000012345678",
		"12345678":     "000012345678",
		"999999999999": "999999999999",
		"AAAAAAAAAAAA": "AAAAAAAAAAAA",
		"aaaaaa123456": "AAAAAA123456",
	}
	for in, want := range good {
		a, err := ParseAddress(in)
		if err != nil || a.String() != want {
			t.Errorf("ParseAddress(%q) = %s, %v", in, a, err)
		}
	}
	for _, in := range []string{"", "1234567890123", "12345678901x", "AAAA", "A00000000000", "-1"} {
		if _, err := ParseAddress(in); !errors.Is(err, ErrAddress) {
			t.Errorf("ParseAddress(%q) accepted", in)
		}
	}
	if !Broadcast.IsBroadcast() || !Wildcard.HasWildcard() || !Wildcard.Matches(meterA) || meterA.Matches(Broadcast) {
		t.Error("broadcast/wildcard predicates")
	}
	var a Address
	if err := a.UnmarshalText([]byte("000012345678")); err != nil || a != meterA {
		t.Errorf("UnmarshalText: %v", err)
	}
}

func TestDecimal(t *testing.T) {
	for _, s := range []string{"0", "999999.99", "-1.23", "0.0001", "123", "-0.500"} {
		d, err := ParseDecimal(s)
		if err != nil || d.String() != s {
			t.Errorf("ParseDecimal(%q) = %s, %v", s, d, err)
		}
	}
	for _, s := range []string{"", "-", ".", "1.2.3", "abc", "1e5", "12345678901234567890"} {
		if _, err := ParseDecimal(s); err == nil {
			t.Errorf("ParseDecimal(%q) accepted", s)
		}
	}
	a, _ := ParseDecimal("1.50")
	b, _ := ParseDecimal("1.5")
	if a.Cmp(b) != 0 || a == b {
		t.Error("1.50 and 1.5 compare equal but are distinct values")
	}
	if _, ok := a.Rescale(1); !ok {
		t.Error("1.50 rescales to 1.5")
	}
	if _, ok := (Decimal{Units: 155, Scale: 2}).Rescale(1); ok {
		t.Error("1.55 does not rescale to one digit")
	}
}

func TestDateTime(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	ts := time.Date(2026, 2, 29-1, 23, 59, 58, 0, loc)
	d := DateTimeOf(ts, YYMMDDhhmmss)
	got, err := d.Time(loc)
	if err != nil || !got.Equal(ts) {
		t.Fatalf("round trip %v %v", got, err)
	}
	if _, err := (DateTime{Layout: YYMMDD, Year: 2026, Month: 2, Day: 30}).Time(loc); err == nil {
		t.Error("30 February accepted")
	}
	if _, err := (DateTime{Layout: Hhmmss, Hour: 24}).Time(loc); err == nil {
		t.Error("24:00 accepted")
	}
	if !(DateTime{Layout: YYMMDDhhmm}).IsZero() {
		t.Error("zero")
	}
}

func TestParseDIAndEdition(t *testing.T) {
	for in, want := range map[string]DI{"00010000": 0x00010000, "0x0201FF00": 0x0201FF00, "9010": 0x9010, "00 01 00 00": 0x00010000} {
		if d, err := ParseDI(in); err != nil || d != want {
			t.Errorf("ParseDI(%q) = %s, %v", in, d, err)
		}
	}
	for _, in := range []string{"", "123", "0001000G", "000100000"} {
		if _, err := ParseDI(in); err == nil {
			t.Errorf("ParseDI(%q) accepted", in)
		}
	}
	if _, err := DLT2007.ParseDI("9010"); err == nil {
		t.Error("a 1997 DI accepted as 2007")
	}
	if d, err := DLT1997.ParseDI("0x9010"); err != nil || d != 0x9010 {
		t.Errorf("1997 ParseDI: %v", err)
	}
	if DI(0x9010).Format(DLT1997) != "9010" || DI(0x10000).Format(DLT2007) != "00010000" {
		t.Error("Format")
	}
	for in, want := range map[string]Edition{"2007": DLT2007, "1997": DLT1997, "": DLT2007} {
		if e, err := ParseEdition(in); err != nil || e != want {
			t.Errorf("ParseEdition(%q)", in)
		}
	}
	if _, err := ParseEdition("2013"); err == nil {
		t.Error("2013 accepted")
	}
}
