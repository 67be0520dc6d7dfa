package dlt645

import (
	"bytes"
	"errors"
	"testing"
)

// A meter answers a long read in three frames; the client loops over 0x12
// with SEQ and joins the parts, all through the wire encoding.
func TestFollowUpMultiFrameAnswer(t *testing.T) {
	for _, ed := range []Edition{DLT2007, DLT1997} {
		di := DI(0x06000001)
		if ed == DLT1997 {
			di = 0x901F
		}
		answer := make([]byte, 450)
		for i := range answer {
			answer[i] = byte(i)
		}
		parts, err := ed.SplitReply(meterA, di, answer)
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) != 3 {
			t.Fatalf("%s: %d parts, want 3", ed, len(parts))
		}
		// the "meter": serves parts[seq] to follow-up requests.
		wire := func(f Frame) Message {
			b := mustFrame(t, f, nil)
			var g Frame
			if _, err := g.Decode(b); err != nil {
				t.Fatal(err)
			}
			m, err := ed.Decode(&g)
			if err != nil {
				t.Fatal(err)
			}
			m.Payload = bytes.Clone(m.Payload)
			return m
		}
		var a Assembler
		first := wire(parts[0])
		if err := a.Start(&first); err != nil {
			t.Fatal(err)
		}
		asked := 0
		for !a.Done() {
			req, err := a.Next()
			if err != nil {
				t.Fatal(err)
			}
			rm := wire(req)
			if rm.Op != OpReadFollowUp || rm.DI != di {
				t.Fatalf("%s: follow-up request %+v", ed, rm)
			}
			asked++
			if ed == DLT2007 && rm.Seq != asked {
				t.Fatalf("request SEQ %d, want %d", rm.Seq, asked)
			}
			reply := wire(parts[asked])
			if err := a.Add(&reply); err != nil {
				t.Fatal(err)
			}
		}
		if asked != 2 || !bytes.Equal(a.Data(), answer) {
			t.Fatalf("%s: asked %d, joined %d bytes", ed, asked, len(a.Data()))
		}
	}
}

func TestFollowUpOutOfOrder(t *testing.T) {
	parts, _ := DLT2007.SplitReply(meterA, 0x06000001, make([]byte, 450))
	msgs := make([]Message, len(parts))
	for i := range parts {
		msgs[i], _ = DLT2007.Decode(&parts[i])
	}
	var a Assembler
	a.Start(&msgs[0])
	if err := a.Add(&msgs[2]); !errors.Is(err, ErrFollowUp) {
		t.Fatalf("SEQ 2 before 1: %v", err)
	}
	other, _ := DLT2007.ReadFollowUpReply(meterA, 0x00010000, nil, 1, false)
	om, _ := DLT2007.Decode(&other)
	if err := a.Add(&om); !errors.Is(err, ErrFollowUp) {
		t.Fatalf("another DI: %v", err)
	}
	if err := a.Start(&msgs[1]); !errors.Is(err, ErrFollowUp) {
		t.Fatalf("start with a follow-up: %v", err)
	}
}
