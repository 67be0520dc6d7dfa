package fieldops

import (
	"context"
	"fmt"
	"time"

	"github.com/headend/headend/protocol/gdw3761"
)

// TerminalClock is a terminal's clock against the head-end's.
type TerminalClock struct {
	Terminal     string    `json:"terminal"`
	TerminalTime time.Time `json:"terminal_time"`
	HeadEndTime  time.Time `json:"head_end_time"` // when the terminal's time arrived
	ErrorSeconds int64     `json:"error_s"`       // terminal minus head-end, whole seconds
}

// Offset is the terminal's clock minus the head-end's.
func (c *TerminalClock) Offset() time.Duration { return time.Duration(c.ErrorSeconds) * time.Second }

// ReadTerminalClock reads terminal t's clock (AFN 0C F2, format A.1).
// now is the head-end's clock and loc the terminals' zone.
func ReadTerminalClock(ctx context.Context, t Terminal, name string, a gdw3761.Address, now func() time.Time, loc *time.Location) (*TerminalClock, error) {
	req := gdw3761.ReadClock(a, 0)
	replies, err := t.Exchange(ctx, &req)
	at := now()
	if err != nil {
		return nil, fmt.Errorf("terminal %s clock: %w", name, err)
	}
	var units []gdw3761.Unit
	for r := range replies {
		units, err = replies[r].Units(units[:0])
		if err != nil {
			return nil, fmt.Errorf("terminal %s clock: %w", name, err)
		}
		for _, u := range units {
			if replies[r].AFN != gdw3761.AFNClass1 || u.Fn != 2 {
				continue
			}
			d, err := gdw3761.A1.Decode(u.Data)
			if err != nil {
				return nil, fmt.Errorf("terminal %s clock: F2: %w", name, err)
			}
			tt := d.Time(loc)
			return &TerminalClock{Terminal: name, TerminalTime: tt, HeadEndTime: at,
				ErrorSeconds: int64(tt.Sub(at).Round(time.Second) / time.Second)}, nil
		}
	}
	return nil, fmt.Errorf("terminal %s clock: no AFN 0C F2 in the reply", name)
}

// TerminalClockSet is what a terminal clock set did.
type TerminalClockSet struct {
	Before    TerminalClock  `json:"before"`
	After     *TerminalClock `json:"after,omitempty"`
	Set       bool           `json:"set"`
	Corrected bool           `json:"corrected"`
	Note      string         `json:"note,omitempty"`
}

// SetTerminalClock sets terminal t's clock to the head-end's (AFN 05
// F31) under the rules of the meters' clock: nothing within tolerance
// (0: 2 s) unless force, never within MidnightGuard of midnight (the
// terminal freezes its meters then), never more than maxCorrection (0:
// MaxBroadcastCorrection) unless force. pw is the PW field; it never
// appears in an error.
func SetTerminalClock(ctx context.Context, t Terminal, name string, a gdw3761.Address, pw [16]byte, now func() time.Time, loc *time.Location,
	tolerance, maxCorrection time.Duration, force bool) (*TerminalClockSet, error) {
	before, err := ReadTerminalClock(ctx, t, name, a, now, loc)
	if err != nil {
		return nil, err
	}
	out := &TerminalClockSet{Before: *before}
	drift := before.Offset()
	if drift.Abs() <= orDefault(tolerance, 2*time.Second) && !force {
		out.Corrected, out.Note = true, "clock within tolerance: nothing done"
		return out, nil
	}
	if nearMidnight(before.TerminalTime.In(loc)) || nearMidnight(before.HeadEndTime.In(loc)) {
		return out, fmt.Errorf("%w: terminal %s: within %s of midnight, when terminals freeze: try later", ErrNotAllowed, name, MidnightGuard)
	}
	if mc := orDefault(maxCorrection, MaxBroadcastCorrection); drift.Abs() > mc && !force {
		return out, fmt.Errorf("%w: terminal %s is %s off, beyond the ±%s it may be corrected by: force it, after checking why", ErrNotAllowed, name, drift, mc)
	}
	req, err := gdw3761.SetClock(a, 0, pw, gdw3761.DateTimeOf(now().In(loc)))
	if err != nil {
		return out, fmt.Errorf("terminal %s clock set: %w", name, err)
	}
	replies, err := t.Exchange(ctx, &req)
	if err != nil {
		return out, fmt.Errorf("terminal %s clock set: %w", name, err)
	}
	if len(replies) == 0 {
		return out, fmt.Errorf("terminal %s clock set: no reply", name)
	}
	if err := gdw3761.Acknowledged(&replies[0]); err != nil {
		return out, fmt.Errorf("terminal %s clock set: %w", name, err)
	}
	out.Set = true
	after, err := ReadTerminalClock(ctx, t, name, a, now, loc)
	if err != nil {
		return out, fmt.Errorf("reading the clock back: %w", err)
	}
	out.After = after
	out.Corrected = after.Offset().Abs() <= orDefault(tolerance, 2*time.Second)
	return out, nil
}
