package gdw3761

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// The hand-built p0 F1 unit: RTS 5 × 20 ms, send delay 1 min, timeout 30
// s (0x01E) with 3 retries (D13..D12) = 1E 30, class 1 reports
// confirmed, heartbeat 5 min.
const hexCommParams = "05 01 1E 30 01 05"

var commParams = CommParams{RTS: 100 * time.Millisecond, SendDelay: time.Minute, Timeout: 30 * time.Second, Retries: 3, Confirm: 1, Heartbeat: 5 * time.Minute}

func TestCommParamsF1(t *testing.T) {
	b := hx(t, hexCommParams)
	var p CommParams
	if err := p.UnmarshalUnit(b); err != nil {
		t.Fatal(err)
	}
	if p != commParams {
		t.Fatalf("decoded %+v, want %+v", p, commParams)
	}
	out, err := commParams.AppendUnit(nil)
	if err != nil || !bytes.Equal(out, b) {
		t.Fatalf("encodes to %s (%v), want %s", sp(out), err, hexCommParams)
	}
	// AFN 0A F1 query, checksum summed by hand: 4B+01+44+01+0A+60+01 = FC.
	q := marshal(t, ReadCommParams(term, 0), nil)
	if want := "68 32 00 32 00 68 4B 01 44 01 00 00 0A 60 00 00 01 00 FC 16"; sp(q) != want {
		t.Errorf("0A F1 query %s, want %s", sp(q), want)
	}
	// AFN 04 F1 setting: PW, CON, the unit whole through a round trip.
	w, err := WriteCommParams(term, 3, [16]byte{}, &commParams)
	if err != nil || sp(w.Data) != "00 00 01 00 "+hexCommParams || !w.HasPW() || !w.Seq.CON() {
		t.Fatalf("04 F1 %s %v", sp(w.Data), err)
	}
	var g Frame
	if err := g.UnmarshalBinary(marshal(t, w, nil)); err != nil {
		t.Fatal(err)
	}
	us, err := g.Units(nil)
	if err != nil || len(us) != 1 || us[0].Fn != 1 || !bytes.Equal(us[0].Data, b) {
		t.Fatalf("04 F1 units %+v %v", us, err)
	}
	// the terminal's AFN 0A F1 reply carries the unit
	r := Response(&g, 3, true, true)
	r.AFN, r.Data = AFNQuery, append(hx(t, "00 00 01 00"), b...)
	var rg Frame
	if err := rg.UnmarshalBinary(marshal(t, r, nil)); err != nil {
		t.Fatal(err)
	}
	if us, err := rg.Units(nil); err != nil || len(us) != 1 || !bytes.Equal(us[0].Data, b) {
		t.Fatalf("0A F1 reply units %+v %v", us, err)
	}
}

func TestCommParamsBad(t *testing.T) {
	var p CommParams
	if err := p.UnmarshalUnit(hx(t, "05 01 1E 30 01")); !errors.Is(err, ErrLayout) {
		t.Errorf("5-byte unit: %v, want ErrLayout", err)
	}
	for name, c := range map[string]func(*CommParams){
		"heartbeat 90s":     func(p *CommParams) { p.Heartbeat = 90 * time.Second },
		"heartbeat 0":       func(p *CommParams) { p.Heartbeat = 0 },
		"heartbeat 256 min": func(p *CommParams) { p.Heartbeat = 256 * time.Minute },
		"retries 4":         func(p *CommParams) { p.Retries = 4 },
		"timeout 4096 s":    func(p *CommParams) { p.Timeout = 4096 * time.Second },
		"RTS 30 ms":         func(p *CommParams) { p.RTS = 30 * time.Millisecond },
		"confirm D3":        func(p *CommParams) { p.Confirm = 0x08 },
	} {
		p := commParams
		c(&p)
		if _, err := p.AppendUnit(nil); !errors.Is(err, ErrRange) {
			t.Errorf("%s: %v, want ErrRange", name, err)
		}
	}
}

func FuzzCommParams(f *testing.F) {
	f.Add(hx(f, hexCommParams))
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p CommParams
		if p.UnmarshalUnit(b) != nil {
			return
		}
		out, err := p.AppendUnit(nil)
		if err != nil {
			return // reserved bits set, or heartbeat 0: not ours to send
		}
		var q CommParams
		if err := q.UnmarshalUnit(out); err != nil || q != p {
			t.Fatalf("%X -> %+v -> %X -> %+v %v", b, p, out, q, err)
		}
	})
}
