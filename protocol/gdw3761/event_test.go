package gdw3761

import (
	"bytes"
	"errors"
	"testing"
)

// An AFN 0E F1 reply as a terminal sends it: ACD set, EC in AUX, records
// 10 and 11 (a meter found that the archive does not hold, a meter cover
// opened). Checksum summed by hand.
const hexEventsReply = "68 B2 00 B2 00 68 A8 01 44 01 00 00 0E 64 00 00 01 00 " +
	"0C 00 0A 0C " +
	"23 0F 30 09 07 12 26 02 01 78 56 34 12 00 00 01 05 " + // ERC35: port 2, 1 meter 000012345678 on phase A, quality 5
	"25 07 00 10 07 12 26 03 80 " + // ERC37: p3 cover opened at 10:00
	"0C 00 54 16"

func TestEventsReplyFrame(t *testing.T) {
	var f Frame
	if err := f.UnmarshalBinary(hx(t, hexEventsReply)); err != nil {
		t.Fatal(err)
	}
	if !f.HasEC() || f.EC.Important != 12 || f.AFN != AFNClass3 || f.Control.PRM() {
		t.Fatalf("frame %+v", f)
	}
	us, err := f.Units(nil)
	if err != nil || len(us) != 1 || us[0].Fn != 1 || us[0].Pn != 0 {
		t.Fatalf("units %+v %v", us, err)
	}
	var ev Events
	if err := ev.UnmarshalUnit(us[0].Data); err != nil {
		t.Fatal(err)
	}
	if ev.Pm != 10 || ev.Pn != 12 || len(ev.Records) != 2 {
		t.Fatalf("%+v", ev)
	}
	unk, cover := ev.Records[0], ev.Records[1]
	if unk.ERC != ERCUnknownMeter || !unk.Decoded || unk.Port != 2 || unk.Found != 1 ||
		unk.Time != (DateTime{Year: 2026, Month: 12, Day: 7, Hour: 9, Minute: 30}) {
		t.Errorf("ERC35 %+v", unk)
	}
	addr, ph, q, ok := unk.UnknownMeter(0)
	if !ok || addr.String() != "000012345678" || ph != 1 || q != 5 {
		t.Errorf("ERC35 meter %v %d %d %v", addr, ph, q, ok)
	}
	if _, _, _, ok := unk.UnknownMeter(1); ok {
		t.Error("ERC35 has one meter, not two")
	}
	if cover.ERC != ERCMeterCoverOpen || cover.Pn != 3 || !cover.Start || cover.Time.Hour != 10 {
		t.Errorf("ERC37 %+v", cover)
	}
	out, err := ev.AppendUnit(nil)
	if err != nil || !bytes.Equal(out, us[0].Data) {
		t.Errorf("re-encodes to %s (%v)", sp(out), err)
	}
}

func TestERC35Layouts(t *testing.T) {
	// The C source's ERC35: the time alone.
	e := Event{ERC: ERCUnknownMeter, Data: hx(t, "30 09 07 12 26")}
	if err := e.Decode(); err != nil || !e.Decoded || e.Found != 0 {
		t.Errorf("time-only ERC35: %+v %v", e, err)
	}
	// A count the length does not hold.
	e = Event{ERC: ERCUnknownMeter, Data: hx(t, "30 09 07 12 26 02 02 78 56 34 12 00 00 01 05")}
	if err := e.Decode(); !errors.Is(err, ErrLayout) {
		t.Errorf("ERC35 of 2 meters in 1 block: %v", err)
	}
}

func TestEventRange(t *testing.T) {
	var r EventRange
	if err := r.UnmarshalUnit([]byte{0xFE, 0x02}); err != nil || r.Pm != 0xFE || r.Pn != 2 || r.Count() != 4 {
		t.Errorf("%+v %d %v", r, r.Count(), err)
	}
	if b, _ := r.AppendUnit(nil); sp(b) != "FE 02" {
		t.Errorf("appends %s", sp(b))
	}
	if err := r.UnmarshalUnit([]byte{1}); !errors.Is(err, ErrLayout) {
		t.Errorf("1 byte: %v", err)
	}
	// F2 (normal events) asks the same way.
	f := ReadEvents(term, 0, false, 7, 9)
	if sp(f.Data) != "00 00 02 00 07 09" {
		t.Errorf("0E F2 request %s", sp(f.Data))
	}
}

// FuzzEvent decodes one record of any ERC; a decoded ERC35 names only
// the meters its length holds.
func FuzzEvent(f *testing.F) {
	f.Add(uint8(ERCUnknownMeter), hx(f, "30 09 07 12 26 02 01 78 56 34 12 00 00 01 05"))
	f.Add(uint8(ERCVoltageLoop), hx(f, "30 09 07 12 26 01 80 81 00 00 01 22 98 21 00 00 00 72 18 00 72 18 00 89 67 45 23 01"))
	f.Add(uint8(ERCPowerOnOff), hx(f, "00 22 06 12 26 05 06 07 12 26"))
	f.Fuzz(func(t *testing.T, erc uint8, b []byte) {
		e := Event{ERC: erc, Data: b}
		if e.Decode() != nil {
			return
		}
		for i := range int(e.Found) {
			if _, _, _, ok := e.UnknownMeter(i); !ok {
				t.Fatalf("ERC35 meter %d of %d missing in % X", i, e.Found, b)
			}
		}
	})
}

// FuzzEventRange decodes arbitrary AFN 0E requests; what decodes
// re-encodes.
func FuzzEventRange(f *testing.F) {
	f.Add([]byte{3, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		var r EventRange
		if r.UnmarshalUnit(b) != nil {
			return
		}
		if out, _ := r.AppendUnit(nil); !bytes.Equal(out, b) {
			t.Fatalf("% X → % X", b, out)
		}
	})
}
