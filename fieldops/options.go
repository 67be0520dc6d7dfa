package fieldops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/protocol/dlt645"
)

// AuditFunc records a control action: what (relay.trip, relay.close,
// clock.sync, clock.write, archive.import), on what (a meter address or
// a file), and the details, among them "result" ("ok", or why not) and,
// when it failed, "error". It never gets a password.
type AuditFunc func(ctx context.Context, action, target string, detail map[string]any)

// Options tune the operations. The zero Options work.
type Options struct {
	// Now is the head-end's clock, the time clocks are compared with and
	// set to; nil is time.Now.
	Now func() time.Time
	// Location is the zone of the meters' clocks; nil is time.Local.
	Location *time.Location
	// Retries is how many more times a request that got no answer is
	// sent; 0 is 1, negative is none.
	Retries int
	// Gap is the quiet time between two transactions on the bus.
	Gap time.Duration
	// ScanTimeout is how long a range search waits at each address; 0 is
	// 500 ms.
	ScanTimeout time.Duration
	// ClockTolerance is the clock error SyncClock leaves alone unless
	// forced; 0 is 2 s.
	ClockTolerance time.Duration
	// RelayValidity is how long a relay command stays valid (its
	// deadline, when the request sets none); 0 is 10 minutes.
	RelayValidity time.Duration
	// Audit, if set, records every control action, with its outcome.
	Audit AuditFunc
	// Guard, if set, is called before a control action goes on the wire
	// (or, for an import, before files are written), with the action's
	// details but no outcome; an error refuses the action. It is how an
	// audit log that must record first (and act only if that worked)
	// gets its turn.
	Guard func(ctx context.Context, action, target string, detail map[string]any) error
	// Logger gets one line per control action; nil discards them.
	Logger *slog.Logger
}

// Standard limits (DOMAIN.md section 2).
const (
	// MaxBroadcastCorrection is the most a broadcast time sync may move
	// a meter's clock.
	MaxBroadcastCorrection = 5 * time.Minute
	// MidnightGuard keeps clock changes away from midnight, when meters
	// freeze their registers.
	MidnightGuard = 15 * time.Minute
	// MaxScan bounds the addresses one range search visits.
	MaxScan = 10000
)

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func (o *Options) loc() *time.Location {
	if o.Location != nil {
		return o.Location
	}
	return time.Local
}

func (o *Options) retries() int {
	switch {
	case o.Retries == 0:
		return 1
	case o.Retries < 0:
		return 0
	}
	return o.Retries
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// audit reports a control action with its outcome.
func (o *Options) audit(ctx context.Context, action, target string, detail map[string]any, err error) {
	d := make(map[string]any, len(detail)+2)
	for k, v := range detail {
		d[k] = v
	}
	d["result"] = outcome(err)
	if err != nil {
		d["error"] = err.Error()
	}
	if o.Logger != nil {
		o.Logger.LogAttrs(ctx, slog.LevelInfo, "field action", slog.String("action", action), slog.String("target", target), slog.Any("detail", d))
	}
	if o.Audit != nil {
		o.Audit(ctx, action, target, d)
	}
}

// guard asks Guard whether the action may go ahead.
func (o *Options) guard(ctx context.Context, action, target string, detail map[string]any) error {
	if o.Guard == nil {
		return nil
	}
	if err := o.Guard(ctx, action, target, detail); err != nil {
		return fmt.Errorf("%s %s not done: %w", action, target, err)
	}
	return nil
}

func outcome(err error) string {
	var pe *ParamError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &pe):
		return "rejected"
	case errors.Is(err, ErrRefused):
		return "refused by the meter"
	case errors.Is(err, ErrNoAnswer), errors.Is(err, ErrBadAnswer):
		return "no answer"
	case errors.Is(err, ErrNotAllowed), errors.Is(err, ErrUnsupported):
		return "not allowed"
	}
	return "failed"
}

// session is one operation's use of a bus: a master, the edition of the
// meters addressed, the gap between its transactions.
type session struct {
	m       *master.Master
	ed      dlt645.Edition
	channel string
	o       *Options
	busy    bool // a transaction went out: the next waits the gap
}

// pace waits the gap after an earlier transaction of the session.
func (s *session) pace(ctx context.Context) error {
	if s.busy && s.o.Gap > 0 {
		t := time.NewTimer(s.o.Gap)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.busy = true
	return ctx.Err()
}

// exchange sends req and waits for its reply, sending it again when no
// answer came. A meter's refusal wraps ErrRefused; no answer wraps
// ErrNoAnswer or ErrBadAnswer.
func (s *session) exchange(ctx context.Context, meter string, req *dlt645.Frame) (dlt645.Message, error) {
	var err error
	for try := 0; try <= s.o.retries(); try++ {
		if err = s.pace(ctx); err != nil {
			return dlt645.Message{}, err
		}
		var msg dlt645.Message
		msg, err = s.m.Exchange(ctx, s.ed, req, nil)
		if err == nil {
			return msg, nil
		}
		if !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	return dlt645.Message{}, s.failure(meter, err)
}

// send writes a request nobody answers (a broadcast).
func (s *session) send(ctx context.Context, req *dlt645.Frame) error {
	if err := s.pace(ctx); err != nil {
		return err
	}
	if _, err := s.m.Send(ctx, req); err != nil {
		return fmt.Errorf("%w: broadcast on %s: %w", ErrBadAnswer, s.where(), err)
	}
	return nil
}

func retryable(err error) bool {
	return errors.Is(err, link.ErrTimeout) || errors.Is(err, master.ErrGarbage)
}

func (s *session) where() string {
	if s.channel == "" {
		return "the bus"
	}
	return "channel " + s.channel
}

func (s *session) timeout() time.Duration { return orDefault(s.m.Timeout, 2*time.Second) }

// failure names what went wrong with a request to meter.
func (s *session) failure(meter string, err error) error {
	var me *dlt645.MeterError
	switch {
	case errors.As(err, &me):
		return fmt.Errorf("%w: %w", ErrRefused, err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, master.ErrGarbage):
		return fmt.Errorf("%w: meter %s on %s: only garbled frames within %s (%w)", ErrBadAnswer, meter, s.where(), s.timeout(), master.ErrGarbage)
	case errors.Is(err, link.ErrTimeout):
		return fmt.Errorf("%w: meter %s on %s: no reply within %s", ErrNoAnswer, meter, s.where(), s.timeout())
	}
	return fmt.Errorf("%w: meter %s on %s: %w", ErrBadAnswer, meter, s.where(), err)
}
