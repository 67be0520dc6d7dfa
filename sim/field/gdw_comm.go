package field

import (
	"time"

	"github.com/headend/headend/protocol/gdw3761"
)

// commState is the terminal's uplink communication parameters (AFN 04
// F1, read back by AFN 0A F1): the heartbeat period the head-end set, and
// the rest of the unit kept as it was sent.
type commState struct {
	set     *gdw3761.CommParams // nil: the defaults, heartbeat TerminalOptions.Heartbeat
	changed chan struct{}       // the heartbeat changed: the session makes its ticker anew
}

// HeartbeatInterval returns the interval the terminal heartbeats at: the
// one AFN 04 F1 set, else TerminalOptions.Heartbeat.
func (t *Terminal) HeartbeatInterval() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.heartbeatLocked()
}

func (t *Terminal) heartbeatLocked() time.Duration {
	if t.comm.set != nil {
		return t.comm.set.Heartbeat
	}
	return t.opts.Heartbeat
}

// heartbeatChanged is told when AFN 04 F1 changes the heartbeat.
func (t *Terminal) heartbeatChanged() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.comm.changed == nil {
		t.comm.changed = make(chan struct{}, 1)
	}
	return t.comm.changed
}

// commParamsLocked is what AFN 0A F1 answers: the parameters set, or the
// defaults (RTS 0, 30 s timeout, 3 retries, no confirmations, the
// heartbeat in whole minutes, at least 1).
func (t *Terminal) commParamsLocked() gdw3761.CommParams {
	if t.comm.set != nil {
		return *t.comm.set
	}
	hb := max(time.Minute, t.opts.Heartbeat.Round(time.Minute))
	return gdw3761.CommParams{Timeout: 30 * time.Second, Retries: 3, Heartbeat: min(hb, 255*time.Minute)}
}

// queryComm answers AFN 0A p0 F1.
func (t *Terminal) queryComm(units []gdw3761.Unit) []piece {
	var out []piece
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, u := range units {
		if u.Fn != 1 || u.Pn != 0 {
			continue
		}
		p := t.commParamsLocked()
		if b, err := p.AppendUnit(nil); err == nil {
			out = append(out, piece{0, 1, b})
		}
	}
	return out
}

// setComm takes AFN 04 p0 F1: false unless every unit is one and valid.
func (t *Terminal) setComm(units []gdw3761.Unit) bool {
	var p gdw3761.CommParams
	for _, u := range units {
		if u.Fn != 1 || u.Pn != 0 || p.UnmarshalUnit(u.Data) != nil || p.Heartbeat <= 0 {
			return false
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.comm.set = &p
	if t.comm.changed == nil {
		t.comm.changed = make(chan struct{}, 1)
	}
	select {
	case t.comm.changed <- struct{}{}:
	default:
	}
	return true
}
