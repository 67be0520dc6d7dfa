package dlt645

import (
	"bytes"
	"errors"
	"testing"
)

var (
	meterA = MustParseAddress("000012345678")
	auth   = func() Auth { a, _ := ParseAuth(2, "123456", "12345678"); return a }()
	when   = DateTime{Layout: YYMMDDhhmmss, Year: 2026, Month: 11, Day: 22, Hour: 13, Minute: 45, Second: 7}
)

// Every function code of both editions, encoded by the builders and
// compared with frames worked out by hand, then decoded back.
func TestEveryFunctionBothWays(t *testing.T) {
	date := DateTime{Layout: YYMMDDWW, Year: 2026, Month: 11, Day: 22, Weekday: 0}
	dateBytes, _ := registry2007.specs[0x04000101].Encode(nil, []Value{TimeValue(date)})
	clockBytes, _ := registry1997.specs[0xC011].Encode(nil, []Value{TimeValue(DateTime{Layout: Hhmmss, Hour: 13, Minute: 45, Second: 7})})
	build := func(f Frame, err error) Frame {
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	cases := []struct {
		name  string
		ed    Edition
		frame Frame
		want  string
		check func(t *testing.T, m Message)
	}{
		{"2007 08 broadcast time", DLT2007, build(DLT2007.BroadcastTimeRequest(when)), "68 99 99 99 99 99 99 68 08 06 3A 78 46 55 44 59 5E 16",
			func(t *testing.T, m Message) { eq(t, m.Time.String(), "2026-11-22T13:45:07") }},
		{"2007 11 read", DLT2007, build(DLT2007.ReadRequest(meterA, 0x00010000)), hexReadReq,
			func(t *testing.T, m Message) { eq(t, m.DI.String(), "00010000") }},
		{"2007 11 read load profile", DLT2007, build(DLT2007.ReadProfileRequest(meterA, 0x06000001, 4, DateTime{Layout: YYMMDDhhmm, Year: 2026, Month: 11, Day: 22, Hour: 13})),
			"68 78 56 34 12 00 00 68 11 0A 34 33 33 39 37 33 46 55 44 59 74 16",
			func(t *testing.T, m Message) { eq(t, m.Blocks, 4); eq(t, m.Time.String(), "2026-11-22T13:00") }},
		{"2007 12 read follow-up", DLT2007, build(DLT2007.ReadFollowUpRequest(meterA, 0x0001FF00, 1)), "68 78 56 34 12 00 00 68 12 05 33 32 34 33 34 FB 16",
			func(t *testing.T, m Message) { eq(t, m.Seq, 1); eq(t, m.DI.String(), "0001FF00") }},
		{"2007 13 read address", DLT2007, build(DLT2007.ReadAddressRequest()), "68 AA AA AA AA AA AA 68 13 00 DF 16", nil},
		{"2007 93 read address reply", DLT2007, build(DLT2007.ReadAddressReply(meterA)), "68 78 56 34 12 00 00 68 93 06 AB 89 67 45 33 33 C3 16",
			func(t *testing.T, m Message) { eq(t, sp(m.Payload), "78 56 34 12 00 00") }},
		{"2007 14 write", DLT2007, build(DLT2007.WriteRequest(meterA, 0x04000101, auth, dateBytes)),
			"68 78 56 34 12 00 00 68 14 10 34 34 33 37 35 89 67 45 AB 89 67 45 33 55 44 59 49 16",
			func(t *testing.T, m Message) {
				eq(t, m.HasAuth, true)
				eq(t, m.Auth.Level, byte(2))
				eq(t, m.Auth.OperatorCode(), "12345678")
				eq(t, sp(m.Payload), "00 22 11 26")
			}},
		{"2007 94 write ack", DLT2007, build(DLT2007.Ack(meterA, OpWrite, nil)), "68 78 56 34 12 00 00 68 94 00 78 16", nil},
		{"2007 15 write address", DLT2007, build(DLT2007.WriteAddressRequest(Wildcard, MustParseAddress("000987654321"))),
			"68 AA AA AA AA AA AA 68 15 06 54 76 98 BA 3C 33 72 16", nil},
		{"2007 16 freeze now", DLT2007, build(DLT2007.FreezeRequest(meterA, FreezeNow)), "68 78 56 34 12 00 00 68 16 04 CC CC CC CC 2E 16",
			func(t *testing.T, m Message) { eq(t, m.Time.Day, int8(99)) }},
		{"2007 17 change baud", DLT2007, build(DLT2007.ChangeBaudRequest(meterA, 9600)), "68 78 56 34 12 00 00 68 17 01 53 4F 16",
			func(t *testing.T, m Message) { b, _ := BaudFromFeature(m.Payload[0]); eq(t, b, 9600) }},
		{"2007 18 change password", DLT2007, build(DLT2007.ChangePasswordRequest(meterA, Auth{Level: 2, Password: auth.Password}, 4, "111111")),
			"68 78 56 34 12 00 00 68 18 0C 38 3F 33 37 35 89 67 45 37 44 44 44 56 16",
			func(t *testing.T, m Message) { eq(t, m.DI.String(), "04000C05") }},
		{"2007 19 demand reset", DLT2007, build(DLT2007.DemandResetRequest(meterA, auth)), "68 78 56 34 12 00 00 68 19 08 35 89 67 45 AB 89 67 45 4F 16", nil},
		{"2007 1A meter reset", DLT2007, build(DLT2007.MeterResetRequest(meterA, auth)), "68 78 56 34 12 00 00 68 1A 08 35 89 67 45 AB 89 67 45 50 16", nil},
		{"2007 1B event reset", DLT2007, build(DLT2007.EventResetRequest(meterA, auth, 0xFFFFFFFF)),
			"68 78 56 34 12 00 00 68 1B 0C 35 89 67 45 AB 89 67 45 32 32 32 32 1D 16",
			func(t *testing.T, m Message) { eq(t, m.DI.String(), "FFFFFFFF") }},
		{"2007 1C relay trip", DLT2007, build(DLT2007.RelayRequest(meterA, auth, RelayTrip, DateTime{Layout: YYMMDDhhmmss, Year: 2026, Month: 11, Day: 23})),
			"68 78 56 34 12 00 00 68 1C 10 35 89 67 45 AB 89 67 45 4D 33 33 33 33 56 44 59 66 16",
			func(t *testing.T, m Message) {
				eq(t, m.Relay, RelayTrip)
				eq(t, m.Time.String(), "2026-11-23T00:00:00")
			}},
		{"2007 B1 read reply with more", DLT2007, build(DLT2007.ReadReply(meterA, 0x0001FF00, []byte{0x11, 0, 0, 0}, true)),
			"68 78 56 34 12 00 00 68 B1 08 33 32 34 33 44 33 33 33 46 16",
			func(t *testing.T, m Message) { eq(t, m.Control.More(), true); eq(t, sp(m.Payload), "11 00 00 00") }},
		{"2007 B2 follow-up reply", DLT2007, build(DLT2007.ReadFollowUpReply(meterA, 0x0001FF00, []byte{0x22, 0, 0, 0}, 1, true)),
			"68 78 56 34 12 00 00 68 B2 09 33 32 34 33 55 33 33 33 34 8D 16",
			func(t *testing.T, m Message) { eq(t, m.Seq, 1); eq(t, sp(m.Payload), "22 00 00 00") }},
		{"1997 01 read", DLT1997, build(DLT1997.ReadRequest(meterA, 0x9010)), hexRead97, func(t *testing.T, m Message) { eq(t, m.DI.Format(DLT1997), "9010") }},
		{"1997 81 read reply", DLT1997, build(DLT1997.ReadReply(meterA, 0x9010, []byte{0x99, 0x99, 0x99, 0x99}, false)), hexReadReply97, nil},
		{"1997 A1 read reply with more", DLT1997, build(DLT1997.ReadReply(meterA, 0x901F, []byte{0x11, 0, 0, 0}, true)), "68 78 56 34 12 00 00 68 A1 06 52 C3 44 33 33 33 7D 16", nil},
		{"1997 02 read follow-up", DLT1997, build(DLT1997.ReadFollowUpRequest(meterA, 0x901F, 0)), "68 78 56 34 12 00 00 68 02 02 52 C3 FD 16", nil},
		{"1997 04 write", DLT1997, build(DLT1997.WriteRequest(meterA, 0xC011, auth, clockBytes)), "68 78 56 34 12 00 00 68 04 09 44 F3 35 89 67 45 3A 78 46 8A 16", nil},
		{"1997 08 broadcast time", DLT1997, build(DLT1997.BroadcastTimeRequest(when)), "68 99 99 99 99 99 99 68 08 06 3A 78 46 55 44 59 5E 16", nil},
		{"1997 0A write address", DLT1997, build(DLT1997.WriteAddressRequest(Broadcast, MustParseAddress("000987654321"))), "68 99 99 99 99 99 99 68 0A 06 54 76 98 BA 3C 33 01 16", nil},
		{"1997 0C change baud", DLT1997, build(DLT1997.ChangeBaudRequest(meterA, 2400)), "68 78 56 34 12 00 00 68 0C 01 3B 2C 16", nil},
		{"1997 0F change password", DLT1997, build(DLT1997.ChangePasswordRequest(meterA, auth, 2, "111111")), "68 78 56 34 12 00 00 68 0F 08 35 89 67 45 35 44 44 44 66 16", nil},
		{"1997 10 max demand reset", DLT1997, build(DLT1997.DemandResetRequest(meterA, auth)), "68 78 56 34 12 00 00 68 10 04 35 89 67 45 62 16", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := mustFrame(t, c.frame, nil)
			if want := hx(t, c.want); !bytes.Equal(got, want) {
				t.Fatalf("encode\n got %s\nwant %s", sp(got), sp(want))
			}
			var f Frame
			if _, err := f.Decode(got); err != nil {
				t.Fatal(err)
			}
			if ed, ok := DetectEdition(f.Control); !ok || (ed != c.ed && f.Control.Function() != 0x08) {
				t.Fatalf("DetectEdition = %v, %v", ed, ok)
			}
			m, err := c.ed.Decode(&f)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if code, _ := c.ed.Code(m.Op); code != f.Control.Function() {
				t.Fatalf("op %s maps back to %02X, frame has %02X", m.Op, code, f.Control.Function())
			}
			if c.check != nil {
				c.check(t, m)
			}
		})
	}
}

func eq[T comparable](t *testing.T, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// Every ERR bit of an abnormal reply comes back by name, in each edition.
func TestAbnormalRepliesEveryErrBit(t *testing.T) {
	want := map[Edition][8]string{
		DLT2007: {"other error", "no requested data", "password wrong or unauthorised", "baud rate cannot change", "too many year time zones", "too many daily periods", "too many tariffs", "reserved bit 7"},
		DLT1997: {"illegal data", "wrong data identifier", "password wrong", "reserved bit 3", "too many year time zones", "too many daily periods", "too many tariffs", "reserved bit 7"},
	}
	for ed, names := range want {
		for bit := range 8 {
			for _, op := range []Op{OpRead, OpWrite, OpChangeBaud} {
				f, err := ed.AbnormalReply(meterA, op, ErrBits(1<<bit))
				if err != nil {
					t.Fatal(err)
				}
				b := mustFrame(t, f, nil)
				var g Frame
				g.Decode(b)
				_, err = ed.Decode(&g)
				var me *MeterError
				if !errors.As(err, &me) {
					t.Fatalf("%s %s bit %d: err %v", ed, op, bit, err)
				}
				if got := me.Err.Names(ed); len(got) != 1 || got[0] != names[bit] || !me.Has(uint(bit)) {
					t.Fatalf("%s bit %d: names %v, want %q", ed, bit, got, names[bit])
				}
			}
		}
	}
	// By hand: 2007 D4 with ERR 04 (password wrong); 1997 C1 with ERR 02.
	var f Frame
	f.Decode(hx(t, "68 78 56 34 12 00 00 68 D4 01 37 F0 16"))
	_, err := DLT2007.Decode(&f)
	var me *MeterError
	if !errors.As(err, &me) || !me.Unauthorised() || me.Function != 0x14 {
		t.Fatalf("D4: %v", err)
	}
	f.Decode(hx(t, "68 78 56 34 12 00 00 68 C1 01 35 DB 16"))
	_, err = DLT1997.Decode(&f)
	if !errors.As(err, &me) || !me.NoData() {
		t.Fatalf("C1: %v", err)
	}
	if me.Error() != "dlt645: meter 000012345678 refused read data (01): ERR 02: wrong data identifier" {
		t.Fatalf("message %q", me.Error())
	}
}

func TestDecodeRefusesBadLayouts(t *testing.T) {
	cases := []struct {
		ed   Edition
		f    Frame
		want error
	}{
		{DLT2007, Frame{Control: 0x11, Data: []byte{0, 0}}, ErrLayout},                         // DI cut short
		{DLT2007, Frame{Control: 0x14, Data: []byte{0, 0, 1, 0, 2}}, ErrLayout},                // no room for the password
		{DLT2007, Frame{Control: 0x08, Data: []byte{0, 0, 0}}, ErrLayout},                      // time too short
		{DLT2007, Frame{Control: 0x08, Data: []byte{0x0A, 0, 0, 1, 1, 0x26}}, ErrBCD},          // bad BCD second
		{DLT2007, Frame{Control: 0xD1}, ErrLayout},                                             // abnormal without ERR
		{DLT2007, Frame{Control: 0x92, Data: []byte{0, 0, 1, 0}}, ErrLayout},                   // follow-up reply without SEQ
		{DLT2007, Frame{Control: 0x11, Data: []byte{0, 0, 1, 0, 1, 2}}, ErrLayout},             // read with stray bytes
		{DLT2007, Frame{Control: 0x01}, ErrFunction},                                           // 1997 code in 2007
		{DLT1997, Frame{Control: 0x11}, ErrFunction},                                           // 2007 code in 1997
		{DLT2007, Frame{Control: 0x31, Data: []byte{0, 0, 1, 0}}, ErrLayout},                   // a request with the follow-up bit
		{DLT2007, Frame{Control: 0x93, Data: []byte{1, 2, 3}}, ErrLayout},                      // short address reply
		{DLT2007, Frame{Control: 0x1C, Data: make([]byte, 8+7)}, ErrLayout},                    // relay one byte short
		{DLT1997, Frame{Control: 0x04, Data: []byte{0x11, 0xC0, 2, 0x56}}, ErrLayout},          // 1997 password cut short
		{DLT2007, Frame{Control: 0x16, Data: []byte{0x99, 0x99, 0x99, 0x99, 0x99}}, ErrLayout}, // freeze too long
	}
	for i, c := range cases {
		if _, err := c.ed.Decode(&c.f); !errors.Is(err, c.want) {
			t.Errorf("case %d (%s %s): err %v, want %v", i, c.ed, c.f.Control, err, c.want)
		}
	}
}

func TestEditionsAreSeparateTables(t *testing.T) {
	if got := sp(DLT2007.Functions()); got != "08 11 12 13 14 15 16 17 18 19 1A 1B 1C 1D" {
		t.Fatalf("2007 codes %s", got)
	}
	if got := sp(DLT1997.Functions()); got != "01 02 04 08 0A 0C 0F 10" {
		t.Fatalf("1997 codes %s", got)
	}
	if _, err := DLT1997.RelayRequest(meterA, auth, RelayTrip, when); !errors.Is(err, ErrFunction) {
		t.Fatalf("1997 relay: %v", err)
	}
	if _, err := DLT1997.FreezeRequest(meterA, FreezeNow); !errors.Is(err, ErrFunction) {
		t.Fatalf("1997 freeze: %v", err)
	}
}

func TestAuthAndRelayParsing(t *testing.T) {
	for _, bad := range []struct {
		level   int
		pw, opr string
	}{{10, "123456", ""}, {2, "12345", ""}, {2, "12a456", ""}, {2, "123456", "1234"}, {2, "123456", "zzzzzzzz"}} {
		if _, err := ParseAuth(bad.level, bad.pw, bad.opr); err == nil {
			t.Errorf("ParseAuth(%v) accepted", bad)
		}
	}
	for c, name := range relayNames {
		got, err := ParseRelayCommand(name)
		if err != nil || got != c {
			t.Errorf("ParseRelayCommand(%q) = %v, %v", name, got, err)
		}
	}
	if c, err := ParseRelayCommand("allow-close"); err != nil || c != RelayAllowClose {
		t.Errorf("allow-close: %v %v", c, err)
	}
	if _, err := ParseRelayCommand("explode"); err == nil {
		t.Error("unknown relay command accepted")
	}
}

// Function 1D, multi-function terminal output control (DL/T 645-2007):
// frames built by hand (N = 01 demand period, +33H = 34).
func TestTerminalOutputControl(t *testing.T) {
	for _, c := range []struct {
		hex  string
		want string
	}{
		{"68 78 56 34 12 00 00 68 1D 01 34 36 16", "request N=01"},
		{"68 78 56 34 12 00 00 68 9D 01 34 B6 16", "reply N=01"},
		{"68 78 56 34 12 00 00 68 DD 01 34 F6 16", "refused ERR 01"},
	} {
		var f Frame
		if err := f.UnmarshalBinary(hx(t, c.hex)); err != nil {
			t.Fatalf("%s: %v", c.want, err)
		}
		m, err := DLT2007.Decode(&f)
		if m.Op != OpTerminalOutput || m.Name() != "multi-function terminal output control" {
			t.Errorf("%s: op %v", c.want, m.Op)
		}
		var me *MeterError
		switch {
		case f.Control.Abnormal():
			if !errors.As(err, &me) || me.Function != 0x1D || me.Err != 1 {
				t.Errorf("%s: %v", c.want, err)
			}
		case err != nil || len(m.Payload) != 1 || m.Payload[0] != 0x01:
			t.Errorf("%s: payload % X, %v", c.want, m.Payload, err)
		}
	}
	if code, ok := DLT2007.Code(OpTerminalOutput); !ok || code != 0x1D {
		t.Errorf("code %02X %v", code, ok)
	}
	if _, ok := DLT1997.Code(OpTerminalOutput); ok {
		t.Error("1997 has no terminal output control")
	}
	var f Frame
	f.UnmarshalBinary(hx(t, "68 78 56 34 12 00 00 68 1D 00 01 16"))
	if _, err := DLT2007.Decode(&f); !errors.Is(err, ErrLayout) {
		t.Errorf("1D without N: %v", err)
	}
}
