package fieldops

import (
	"context"
	"fmt"
	"time"

	"github.com/headend/headend/protocol/gdw3761"
)

// TerminalComm is a terminal's uplink communication parameters (AFN 0A
// F1) as a person reads them.
type TerminalComm struct {
	Terminal     string `json:"terminal"`
	HeartbeatMin int    `json:"heartbeat_min"`
	RTSMillis    int    `json:"rts_ms"`
	SendDelayMin int    `json:"send_delay_min"`
	TimeoutS     int    `json:"timeout_s"`
	Retries      int    `json:"retries"`
	ConfirmFlags uint8  `json:"confirm_flags"` // D0 class 1 reports, D1 class 2, D2 class 3 confirmed
}

// Heartbeat is the terminal's heartbeat period.
func (c *TerminalComm) Heartbeat() time.Duration { return time.Duration(c.HeartbeatMin) * time.Minute }

func commOf(name string, p *gdw3761.CommParams) *TerminalComm {
	return &TerminalComm{Terminal: name, HeartbeatMin: int(p.Heartbeat / time.Minute), RTSMillis: int(p.RTS / time.Millisecond),
		SendDelayMin: int(p.SendDelay / time.Minute), TimeoutS: int(p.Timeout / time.Second), Retries: int(p.Retries), ConfirmFlags: p.Confirm}
}

// ReadTerminalComm reads terminal t's communication parameters (AFN 0A
// F1).
func ReadTerminalComm(ctx context.Context, t Terminal, name string, a gdw3761.Address) (*gdw3761.CommParams, error) {
	req := gdw3761.ReadCommParams(a, 0)
	replies, err := t.Exchange(ctx, &req)
	if err != nil {
		return nil, fmt.Errorf("terminal %s communication parameters: %w", name, err)
	}
	var units []gdw3761.Unit
	for r := range replies {
		if replies[r].AFN == gdw3761.AFNConfirm {
			if err := gdw3761.Acknowledged(&replies[r]); err != nil {
				return nil, fmt.Errorf("terminal %s communication parameters (AFN 0A F1): %w", name, err)
			}
			continue
		}
		if units, err = replies[r].Units(units[:0]); err != nil {
			return nil, fmt.Errorf("terminal %s communication parameters: %w", name, err)
		}
		for _, u := range units {
			if replies[r].AFN != gdw3761.AFNQuery || u.Fn != 1 || u.Pn != 0 {
				continue
			}
			var p gdw3761.CommParams
			if err := p.UnmarshalUnit(u.Data); err != nil {
				return nil, fmt.Errorf("terminal %s communication parameters: F1: %w", name, err)
			}
			return &p, nil
		}
	}
	return nil, fmt.Errorf("terminal %s communication parameters: no AFN 0A F1 in the reply", name)
}

// TerminalHeartbeatSet is what a heartbeat set did.
type TerminalHeartbeatSet struct {
	Before TerminalComm  `json:"before"`
	After  *TerminalComm `json:"after,omitempty"`
	Set    bool          `json:"set"`
	Agrees bool          `json:"agrees"` // the read-back is the period asked for
	Note   string        `json:"note,omitempty"`
}

// SetTerminalHeartbeat sets terminal t's heartbeat period to every
// (whole minutes, 1..255) by AFN 04 F1, keeping the other parameters as
// the terminal holds them (read first by AFN 0A F1), then reads them
// back. pw is the PW field; it never appears in an error.
func SetTerminalHeartbeat(ctx context.Context, t Terminal, name string, a gdw3761.Address, pw [16]byte, every time.Duration) (*TerminalHeartbeatSet, error) {
	if err := checkHeartbeat(every); err != nil {
		return nil, err
	}
	p, err := ReadTerminalComm(ctx, t, name, a)
	if err != nil {
		return nil, err
	}
	out := &TerminalHeartbeatSet{Before: *commOf(name, p)}
	if p.Heartbeat == every {
		out.Agrees, out.Note = true, fmt.Sprintf("heartbeat already %v: nothing done", every)
		return out, nil
	}
	p.Heartbeat = every
	req, err := gdw3761.WriteCommParams(a, 0, pw, p)
	if err != nil {
		return out, fmt.Errorf("terminal %s heartbeat set: %w", name, err)
	}
	replies, err := t.Exchange(ctx, &req)
	if err != nil {
		return out, fmt.Errorf("terminal %s heartbeat set: %w", name, err)
	}
	if len(replies) == 0 {
		return out, fmt.Errorf("terminal %s heartbeat set: no reply", name)
	}
	if err := gdw3761.Acknowledged(&replies[0]); err != nil {
		return out, fmt.Errorf("terminal %s heartbeat set (AFN 04 F1): %w", name, err)
	}
	out.Set = true
	back, err := ReadTerminalComm(ctx, t, name, a)
	if err != nil {
		return out, fmt.Errorf("reading the parameters back: %w", err)
	}
	out.After = commOf(name, back)
	out.Agrees = back.Heartbeat == every
	if !out.Agrees {
		return out, fmt.Errorf("terminal %s confirmed heartbeat %v but reads back %v", name, every, back.Heartbeat)
	}
	return out, nil
}

func checkHeartbeat(every time.Duration) error {
	if every%time.Minute != 0 || every < time.Minute || every > 255*time.Minute {
		return badParam("heartbeat", "%v: want whole minutes, 1m..255m (AFN 04 F1 counts minutes)", every)
	}
	return nil
}

// TerminalHeartbeat reads terminal id's communication parameters (AFN 0A
// F1), its heartbeat period among them.
func (d *Daemon) TerminalHeartbeat(ctx context.Context, id string) (*TerminalComm, error) {
	s, _, err := d.terminal(id)
	if err != nil {
		return nil, err
	}
	p, err := ReadTerminalComm(ctx, s, s.ID(), s.Address())
	if err != nil {
		return nil, err
	}
	return commOf(s.ID(), p), nil
}

// SetTerminalHeartbeat sets terminal id's heartbeat period (AFN 04 F1).
// A period longer than the heartbeat of the terminal's gdw3761 channel
// (archive.channels[].heartbeat, 0: 1 min), which the listener checks
// its silence by, is refused: change the channel first (a reload), then
// the terminal. Audited as terminal.heartbeat.set; the PW is never
// recorded.
func (d *Daemon) SetTerminalHeartbeat(ctx context.Context, id string, every time.Duration) (res *TerminalHeartbeatSet, err error) {
	if err := checkHeartbeat(every); err != nil {
		return nil, err
	}
	s, ix, err := d.terminal(id)
	if err != nil {
		return nil, err
	}
	for _, ch := range terminalChannels(ix, id) {
		if want := orDefault(ch.Heartbeat, time.Minute); every > want {
			return nil, fmt.Errorf("%w: terminal %s: heartbeat %v is longer than channel %s's %v (archive.channels[].heartbeat), by which the head-end takes it for silent: set the channel's first, then the terminal",
				ErrNotAllowed, s.ID(), every, ch.ID, want)
		}
	}
	const action = "terminal.heartbeat.set"
	detail := map[string]any{"heartbeat_min": int(every / time.Minute)}
	defer func() {
		dd := map[string]any{"heartbeat_min": int(every / time.Minute)}
		if res != nil {
			dd["before_min"] = res.Before.HeartbeatMin
			dd["set"] = res.Set
			if res.After != nil {
				dd["after_min"] = res.After.HeartbeatMin
			}
		}
		d.audit(ctx, action, s.ID(), dd, err)
	}()
	if err := d.guard(ctx, action, s.ID(), detail); err != nil {
		return nil, err
	}
	return SetTerminalHeartbeat(ctx, s, s.ID(), s.Address(), d.terminalPW(), every)
}
