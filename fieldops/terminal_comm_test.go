package fieldops

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/headend/headend/protocol/gdw3761"
)

// commTerminal holds communication parameters; AFN 04 F1 sets them
// (deny sets ignores them), AFN 0A F1 reads them. Through the codec
// both ways.
type commTerminal struct {
	p         gdw3761.CommParams
	sets, pws int
	deny      bool
}

func (c *commTerminal) Exchange(_ context.Context, req *gdw3761.Frame) ([]gdw3761.Frame, error) {
	wire, err := req.MarshalBinary()
	if err != nil {
		return nil, err
	}
	var in gdw3761.Frame
	if _, err := in.Decode(wire); err != nil {
		return nil, err
	}
	units, err := in.Units(nil)
	if err != nil || len(units) != 1 || units[0].Fn != 1 {
		return []gdw3761.Frame{gdw3761.Deny(&in)}, nil
	}
	switch in.AFN {
	case gdw3761.AFNQuery:
		r := gdw3761.Response(&in, in.Seq.Num(), true, true)
		data, _ := c.p.AppendUnit(nil)
		r.Data, err = gdw3761.AppendUnits(r.Data, []uint16{0}, []uint8{1}, data)
		return []gdw3761.Frame{r}, err
	case gdw3761.AFNSet:
		if in.HasPW() {
			c.pws++
		}
		if err := c.p.UnmarshalUnit(units[0].Data); err != nil || c.deny {
			return []gdw3761.Frame{gdw3761.Deny(&in)}, nil
		}
		c.sets++
		return []gdw3761.Frame{gdw3761.Confirm(&in)}, nil
	}
	return []gdw3761.Frame{gdw3761.Deny(&in)}, nil
}

func TestSetTerminalHeartbeat(t *testing.T) {
	term := &commTerminal{p: gdw3761.CommParams{RTS: 40 * time.Millisecond, Timeout: 30 * time.Second, Retries: 3, Heartbeat: time.Minute}}
	s, err := SetTerminalHeartbeat(t.Context(), term, "4401 0001", gdw3761.Address{}, [16]byte{}, 5*time.Minute)
	if err != nil || !s.Set || !s.Agrees || s.Before.HeartbeatMin != 1 || s.After == nil || s.After.HeartbeatMin != 5 {
		t.Fatalf("SetTerminalHeartbeat = %+v, %v", s, err)
	}
	if term.sets != 1 || term.pws != 1 || term.p.RTS != 40*time.Millisecond || term.p.Timeout != 30*time.Second || term.p.Retries != 3 {
		t.Errorf("terminal holds %+v after %d sets (%d with PW): the other parameters must stay", term.p, term.sets, term.pws)
	}
	// the same again: nothing sent
	if s, err = SetTerminalHeartbeat(t.Context(), term, "4401 0001", gdw3761.Address{}, [16]byte{}, 5*time.Minute); err != nil || s.Set || term.sets != 1 {
		t.Errorf("same period: %+v %v, %d sets", s, err, term.sets)
	}
	var pe *ParamError
	for _, bad := range []time.Duration{90 * time.Second, 0, 256 * time.Minute} {
		if _, err := SetTerminalHeartbeat(t.Context(), term, "4401 0001", gdw3761.Address{}, [16]byte{}, bad); !errors.As(err, &pe) {
			t.Errorf("heartbeat %v: %v, want a ParamError", bad, err)
		}
	}
	term.deny = true
	if _, err := SetTerminalHeartbeat(t.Context(), term, "4401 0001", gdw3761.Address{}, [16]byte{}, 2*time.Minute); err == nil {
		t.Error("a denied set reported no error")
	}
}
