package fieldops

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/headend/headend/protocol/gdw3761"
)

// clockTerminal is a terminal whose clock runs off the head-end's by
// offset; AFN 05 F31 sets it. It goes through the codec both ways.
type clockTerminal struct {
	now    func() time.Time
	offset time.Duration
	sets   int
}

func (c *clockTerminal) Exchange(_ context.Context, req *gdw3761.Frame) ([]gdw3761.Frame, error) {
	wire, err := req.MarshalBinary()
	if err != nil {
		return nil, err
	}
	var in gdw3761.Frame
	if _, err := in.Decode(wire); err != nil {
		return nil, err
	}
	units, err := in.Units(nil)
	if err != nil {
		return nil, err
	}
	switch {
	case in.AFN == gdw3761.AFNClass1 && units[0].Fn == 2:
		r := gdw3761.Response(&in, 0, true, true)
		data, _ := gdw3761.A1.Append(nil, gdw3761.DateTimeOf(c.now().Add(c.offset).In(time.Local)))
		r.Data, err = gdw3761.AppendUnits(r.Data, []uint16{0}, []uint8{2}, data)
		return []gdw3761.Frame{r}, err
	case in.AFN == gdw3761.AFNControl && units[0].Fn == 31:
		d, err := gdw3761.A1.Decode(units[0].Data)
		if err != nil {
			return []gdw3761.Frame{gdw3761.Deny(&in)}, nil
		}
		c.sets++
		c.offset = d.Time(time.Local).Sub(c.now())
		return []gdw3761.Frame{gdw3761.Confirm(&in)}, nil
	}
	return []gdw3761.Frame{gdw3761.Deny(&in)}, nil
}

func TestSetTerminalClock(t *testing.T) {
	at := time.Date(2026, 3, 10, 10, 0, 0, 0, time.Local)
	now := func() time.Time { return at }
	term := &clockTerminal{now: now, offset: 90 * time.Second}
	c, err := ReadTerminalClock(t.Context(), term, "4401 0001", gdw3761.Address{}, now, time.Local)
	if err != nil || c.ErrorSeconds != 90 {
		t.Fatalf("ReadTerminalClock = %+v, %v", c, err)
	}
	s, err := SetTerminalClock(t.Context(), term, "4401 0001", gdw3761.Address{}, [16]byte{}, now, time.Local, 0, 0, false)
	if err != nil || !s.Set || !s.Corrected || term.sets != 1 {
		t.Fatalf("SetTerminalClock = %+v, %v (sets %d)", s, err, term.sets)
	}
	// Within tolerance: nothing sent.
	if s, err := SetTerminalClock(t.Context(), term, "4401 0001", gdw3761.Address{}, [16]byte{}, now, time.Local, 0, 0, false); err != nil || s.Set {
		t.Fatalf("in tolerance: %+v, %v", s, err)
	}
	// Beyond the largest correction, and near midnight: refused.
	term.offset = time.Hour
	if _, err := SetTerminalClock(t.Context(), term, "4401 0001", gdw3761.Address{}, [16]byte{}, now, time.Local, 0, 0, false); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("an hour off: %v, want ErrNotAllowed", err)
	}
	at = time.Date(2026, 3, 10, 23, 50, 0, 0, time.Local)
	term.offset = time.Minute
	if _, err := SetTerminalClock(t.Context(), term, "4401 0001", gdw3761.Address{}, [16]byte{}, now, time.Local, 0, 0, true); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("at 23:50: %v, want ErrNotAllowed", err)
	}
	if term.sets != 1 {
		t.Errorf("%d sets, want 1", term.sets)
	}
}
