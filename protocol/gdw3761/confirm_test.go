package gdw3761

import (
	"errors"
	"testing"
)

func TestAcknowledged(t *testing.T) {
	up := MakeControl(true, false, false, false, FuncConfirm)
	ok := Frame{Protocol: GDW3761, Control: up, Address: term, AFN: AFNConfirm, Data: hx(t, "00 00 01 00")}
	if err := Acknowledged(&ok); err != nil {
		t.Errorf("F1: %v", err)
	}
	deny := ok
	deny.Data = hx(t, "00 00 02 00")
	if err := Acknowledged(&deny); err == nil {
		t.Error("F2 confirmed")
	}
	// F3: AFN 04, F10 confirmed, F1 of p0 denied with ERR 1.
	f3 := ok
	f3.Data = hx(t, "00 00 04 00 04 00 00 02 01 00 00 00 01 00 01")
	var a Acks
	us, err := f3.Units(nil)
	if err != nil || a.UnmarshalUnit(us[0].Data) != nil || a.AFN != AFNSet || len(a.Acks) != 2 || a.Acks[1].Err != 1 {
		t.Fatalf("F3 %+v %v", a, err)
	}
	if out, _ := a.AppendUnit(nil); sp(out) != sp(us[0].Data) {
		t.Errorf("F3 re-encodes to %s", sp(out))
	}
	if err := Acknowledged(&f3); err == nil {
		t.Error("F3 with a denied unit confirmed")
	}
	f3.Data = hx(t, "00 00 04 00 04 00 00 02 01 00")
	if err := Acknowledged(&f3); err != nil {
		t.Errorf("F3 all confirmed: %v", err)
	}
	if err := Acknowledged(&Frame{AFN: AFNClass1}); !errors.Is(err, ErrLayout) {
		t.Errorf("AFN 0C: %v", err)
	}
	if err := a.UnmarshalUnit(hx(t, "04 00 00")); !errors.Is(err, ErrLayout) {
		t.Errorf("short F3: %v", err)
	}
}
