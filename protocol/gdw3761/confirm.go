package gdw3761

import "fmt"

// Ack is one entry of an AFN 00 F3 answer: a data unit identifier of the
// frame answered and its result (ERR 0 = confirmed, anything else denied).
type Ack struct {
	DADT DADT
	Err  uint8
}

// Acks is the data of AFN 00 F3, confirm and deny unit by unit: the AFN
// of the frame answered, and one Ack per data unit identifier.
type Acks struct {
	AFN  AFN
	Acks []Ack // reused
}

// UnmarshalUnit decodes AFN 00 F3, reusing a.Acks.
func (a *Acks) UnmarshalUnit(b []byte) error {
	if len(b) < 1 || (len(b)-1)%5 != 0 {
		return layoutErr("AFN 00 F3 of %d bytes is not an AFN and 5-byte entries", len(b))
	}
	a.AFN = AFN(b[0])
	a.Acks = a.Acks[:0]
	for i := 1; i < len(b); i += 5 {
		a.Acks = append(a.Acks, Ack{DADT: DADT(b[i : i+4]), Err: b[i+4]})
	}
	return nil
}

// AppendUnit appends the data of AFN 00 F3.
func (a *Acks) AppendUnit(b []byte) ([]byte, error) {
	b = append(b, byte(a.AFN))
	for _, x := range a.Acks {
		b = append(b, x.DADT[:]...)
		b = append(b, x.Err)
	}
	return b, nil
}

// Acknowledged reports what an AFN 00 frame answers: nil for "confirm all"
// (F1), an error for "deny all" (F2) or for any unit denied in F3, and an
// error wrapping ErrLayout for a frame that is not AFN 00.
func Acknowledged(f *Frame) error {
	if f.AFN != AFNConfirm {
		return layoutErr("%v is not a confirmation", f.AFN)
	}
	var buf [8]Unit
	us, err := f.Units(buf[:0])
	if err != nil {
		return err
	}
	if len(us) == 0 {
		return layoutErr("AFN 00 frame with no data unit")
	}
	switch u := us[0]; u.Fn {
	case 1:
		return nil
	case 2:
		return fmt.Errorf("gdw3761: terminal %v denied the request", f.Address)
	case 3:
		var a Acks
		if err := a.UnmarshalUnit(u.Data); err != nil {
			return err
		}
		for _, x := range a.Acks {
			if x.Err != 0 {
				fns, _ := x.DADT.Fns(nil)
				pns, _ := x.DADT.Points(nil)
				return fmt.Errorf("gdw3761: terminal %v denied %v p%v F%v (ERR %d)", f.Address, a.AFN, pns, fns, x.Err)
			}
		}
		return nil
	}
	return fmt.Errorf("%w: AFN 00 F%d", ErrUnknown, us[0].Fn)
}
