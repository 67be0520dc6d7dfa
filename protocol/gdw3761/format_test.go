package gdw3761

import (
	"errors"
	"testing"
	"time"
)

func TestNumberFormats(t *testing.T) {
	for _, c := range []struct {
		f    Format
		wire string
		want string
	}{
		{A5, "23 81", "-12.3"},
		{A5, "95 09", "99.5"},
		{A7, "01 22", "220.1"},
		{A9, "45 23 81", "-1.2345"},
		{A9, "99 99 79", "79.9999"},
		{A11, "78 56 34 12", "123456.78"},
		{A13, "89 67 45 23", "2345.6789"},
		{A14, "89 67 45 23 01", "12345.6789"},
		{A14, "99 99 99 99 99", "999999.9999"},
		{A25, "23 51 00", "5.123"},
		{A25, "23 51 80", "-5.123"},
	} {
		n, err := c.f.Decode(hx(t, c.wire))
		if err != nil || n.Missing || n.Value.String() != c.want {
			t.Errorf("%s % s: got %v %v, want %s", c.f.Name, c.wire, n, err, c.want)
			continue
		}
		b, err := c.f.Append(nil, n)
		if err != nil || sp(b) != c.wire {
			t.Errorf("%s %s encodes to %s (%v), want %s", c.f.Name, c.want, sp(b), err, c.wire)
		}
	}
}

func TestNumberFormatErrors(t *testing.T) {
	if n, err := A14.Decode(hx(t, "EE EE EE EE EE")); err != nil || !n.Missing {
		t.Errorf("EE filler: %v %v, want Missing", n, err)
	}
	if b, _ := A7.Append(nil, Num{Missing: true}); sp(b) != "EE EE" {
		t.Errorf("Missing encodes to %s", sp(b))
	}
	if _, err := A14.Decode(hx(t, "89 67 4A 23 01")); !errors.Is(err, ErrBCD) {
		t.Errorf("bad BCD: %v", err)
	}
	if _, err := A9.Decode(hx(t, "45 23")); !errors.Is(err, ErrLayout) {
		t.Errorf("short: %v", err)
	}
	for _, c := range []struct {
		f Format
		n Num
	}{
		{A7, N(-1, 1)},         // negative unsigned
		{A9, N(80_0000, 4)},    // 80 kW does not fit ±79.9999
		{A14, N(123456789, 5)}, // too many decimals: no rounding
		{A5, N(8000, 1)},       // 800.0
	} {
		if _, err := c.f.Append(nil, c.n); !errors.Is(err, ErrRange) {
			t.Errorf("%s %v: %v, want ErrRange", c.f.Name, c.n, err)
		}
	}
	// A value with fewer decimals is exact: 220 V is 220.0.
	if b, err := A7.Append(nil, N(220, 0)); err != nil || sp(b) != "00 22" {
		t.Errorf("220 V: %s %v", sp(b), err)
	}
}

func TestTimeFormats(t *testing.T) {
	// Monday 2026-12-07 09:30:45.
	tm := time.Date(2026, 12, 7, 9, 30, 45, 0, time.UTC)
	d := DateTimeOf(tm)
	for _, c := range []struct {
		f    TimeFormat
		wire string
	}{
		{A1, "45 30 09 07 32 26"}, // weekday 1 in the top bits of the month byte
		{A15, "30 09 07 12 26"},
		{A16, "45 30 09 07"},
		{A20, "07 12 26"},
		{A21, "12 26"},
	} {
		b, err := c.f.Append(nil, d)
		if err != nil || sp(b) != c.wire {
			t.Errorf("%s: %s %v, want %s", c.f.Name, sp(b), err, c.wire)
		}
		got, err := c.f.Decode(hx(t, c.wire))
		if err != nil {
			t.Errorf("%s: %v", c.f.Name, err)
		}
		b2, _ := c.f.Append(nil, got)
		if sp(b2) != c.wire {
			t.Errorf("%s: decoded %v re-encodes to %s", c.f.Name, got, sp(b2))
		}
	}
	got, _ := A1.Decode(hx(t, "45 30 09 07 32 26"))
	if got != d || !got.Time(time.UTC).Equal(tm) {
		t.Errorf("A.1 decodes to %+v, want %+v", got, d)
	}
	sunday, _ := A1.Decode(hx(t, "00 00 00 06 F2 26"))
	if sunday.Weekday != 7 || sunday.Month != 12 {
		t.Errorf("weekday 7: %+v", sunday)
	}
	if got, err := A15.Decode(hx(t, "EE EE EE EE EE")); err != nil || !got.IsZero() {
		t.Errorf("EE time: %v %v", got, err)
	}
	for _, bad := range []string{"60 09 07 12 26", "30 24 07 12 26", "30 09 00 12 26", "30 09 07 13 26", "30 09 07 1A 26"} {
		if _, err := A15.Decode(hx(t, bad)); err == nil {
			t.Errorf("A.15 %s decoded", bad)
		}
	}
	if _, err := A20.Decode(hx(t, "07 12")); !errors.Is(err, ErrLayout) {
		t.Errorf("short A.20: %v", err)
	}
}
