package dtu

import (
	"errors"
	"strings"
	"testing"
)

func TestAppend(t *testing.T) {
	b, err := AppendRegistration([]byte("x"), "C0001")
	if err != nil || string(b) != "xREG C0001\r\n" {
		t.Fatalf("AppendRegistration = %q, %v", b, err)
	}
	b, err = AppendHeartbeat(nil, "AREA_7-A")
	if err != nil || string(b) != "HB AREA_7-A\r\n" {
		t.Fatalf("AppendHeartbeat = %q, %v", b, err)
	}
	long := strings.Repeat("9", MaxIDLen)
	b, err = AppendRegistration(nil, long)
	if err != nil || len(b) != MaxPacketLen {
		t.Fatalf("longest registration = %d bytes, %v; want %d", len(b), err, MaxPacketLen)
	}
	for _, tc := range []struct {
		id   string
		want error
	}{
		{"", ErrBadID}, {"c001", ErrBadID}, {"C 1", ErrBadID}, {"C\r\n", ErrBadID}, {"h", ErrBadID},
		{long + "9", ErrTooLong},
	} {
		b, err := AppendHeartbeat([]byte("keep"), tc.id)
		var pe *PacketError
		if !errors.Is(err, tc.want) || !errors.As(err, &pe) || string(b) != "keep" {
			t.Errorf("AppendHeartbeat(%q) = %q, %v; want %v and dst untouched", tc.id, b, err, tc.want)
		}
	}
	if _, err := (Packet{ID: "X"}).AppendBinary(nil); err == nil {
		t.Error("zero Kind encoded")
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Packet
		n    int
		err  error
	}{
		{"REG C0001\r\n", Packet{Registration, "C0001"}, 11, nil},
		{"HB C0001\r\nHB", Packet{Heartbeat, "C0001"}, 10, nil},
		{"HB " + strings.Repeat("Z", 32) + "\r\n", Packet{Heartbeat, strings.Repeat("Z", 32)}, 37, nil},
		{"", Packet{}, 0, ErrShort},
		{"R", Packet{}, 0, ErrShort},
		{"HB", Packet{}, 0, ErrShort},
		{"REG C00", Packet{}, 0, ErrShort},
		{"REG C00\r", Packet{}, 0, ErrShort},
		{"\x68REG C\r\n", Packet{}, 0, ErrNotPacket},
		{"HBX C\r\n", Packet{}, 0, ErrNotPacket},
		{"reg C\r\n", Packet{}, 0, ErrNotPacket},
		{"REGC\r\n", Packet{}, 0, ErrNotPacket},
		{"REG \r\n", Packet{}, 4, ErrBadID},
		{"REG  C\r\n", Packet{}, 4, ErrBadID},
		{"REG C0a1\r\n", Packet{}, 6, ErrBadID},
		{"HB C0 1\r\n", Packet{}, 5, ErrNoCRLF},
		{"HB " + strings.Repeat("Z", 33) + "\r\n", Packet{}, 35, ErrTooLong},
		{"HB C01\n", Packet{}, 6, ErrNoCRLF},
		{"HB C01\r\r\n", Packet{}, 6, ErrNoCRLF},
		{"HB C01\x68\x00", Packet{}, 6, ErrNoCRLF},
	} {
		p, n, err := Parse([]byte(tc.in))
		if p != tc.want || n != tc.n || !errors.Is(err, tc.err) {
			t.Errorf("Parse(%q) = %v, %d, %v; want %v, %d, %v", tc.in, p, n, err, tc.want, tc.n, tc.err)
		}
		var pe *PacketError
		if tc.n > 0 && tc.err != nil && (!errors.As(err, &pe) || pe.Kind == 0) {
			t.Errorf("Parse(%q): error %v is not a *PacketError with its kind", tc.in, err)
		}
	}
}

func TestErrorText(t *testing.T) {
	_, _, err := Parse([]byte("REG C0a1\r\n"))
	if got, want := err.Error(), `dtu: bad id in REG packet: byte 'a' at 6 is not allowed in an id`; got != want {
		t.Errorf("error text %q, want %q", got, want)
	}
	if got := (Packet{Heartbeat, "C1"}).String(); got != "HB C1" {
		t.Errorf("String = %q", got)
	}
}
