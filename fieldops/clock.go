package fieldops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/headend/headend/protocol/dlt645"
)

// ClockReading is a meter's clock against the head-end's.
type ClockReading struct {
	Meter       string         `json:"meter"`
	Edition     dlt645.Edition `json:"edition"`
	MeterTime   time.Time      `json:"meter_time"`    // in the meters' zone
	HeadEndTime time.Time      `json:"head_end_time"` // when the meter's time arrived
	// ErrorSeconds is the meter's clock minus the head-end's, in whole
	// seconds (the meter's resolution).
	ErrorSeconds int64 `json:"error_s"`
}

// Offset is the meter's clock minus the head-end's.
func (c *ClockReading) Offset() time.Duration { return time.Duration(c.ErrorSeconds) * time.Second }

// SyncRequest asks to set a meter's clock to the head-end's.
type SyncRequest struct {
	// Write sets the one meter's date and time by an authorised write
	// (function 14, with password and operator code) instead of a
	// broadcast: for a drift beyond what a broadcast may correct.
	Write    bool   `json:"write,omitempty"`
	Password string `json:"password,omitempty"` // for Write; see RelayRequest
	Level    int    `json:"level,omitempty"`
	Operator string `json:"operator,omitempty"`
	// Force broadcasts even when the clock is within the tolerance.
	Force bool `json:"force,omitempty"`
}

// ClockSync is what a sync did.
type ClockSync struct {
	Meter  string `json:"meter"`
	Method string `json:"method"` // broadcast, write or none
	// Bus names the channel a broadcast went out on: it reached every
	// meter there.
	Bus       string        `json:"bus,omitempty"`
	Before    ClockReading  `json:"before"`
	After     *ClockReading `json:"after,omitempty"`
	Corrected bool          `json:"corrected"`
	Note      string        `json:"note,omitempty"`
}

func (s *session) clockDIs() (date, clock dlt645.DI) {
	if s.ed == dlt645.DLT1997 {
		return 0xC010, 0xC011
	}
	return 0x04000101, 0x04000102
}

// readTime reads one date or time DI and returns its value.
func (s *session) readTime(ctx context.Context, meter string, addr dlt645.Address, di dlt645.DI) (dlt645.DateTime, time.Time, error) {
	req, err := s.ed.ReadRequest(addr, di)
	if err != nil {
		return dlt645.DateTime{}, time.Time{}, err
	}
	msg, err := s.exchange(ctx, meter, &req)
	at := s.o.now()
	if err != nil {
		return dlt645.DateTime{}, at, err
	}
	vals, err := s.ed.Registry().Decode(di, msg.Payload, nil)
	if err != nil || len(vals) != 1 || vals[0].Kind != dlt645.KindTime || vals[0].NoData {
		return dlt645.DateTime{}, at, fmt.Errorf("%w: meter %s: DI %s is not a date or time (%v)", ErrBadAnswer, meter, di.Format(s.ed), err)
	}
	return vals[0].Time, at, nil
}

// clock reads the meter's date, then its time (and the date again when
// the time is just after midnight, in case the day turned in between).
func (s *session) clock(ctx context.Context, meter string, addr dlt645.Address) (*ClockReading, error) {
	dateDI, timeDI := s.clockDIs()
	date, _, err := s.readTime(ctx, meter, addr, dateDI)
	if err != nil {
		return nil, err
	}
	tod, at, err := s.readTime(ctx, meter, addr, timeDI)
	if err != nil {
		return nil, err
	}
	if tod.Hour == 0 && tod.Minute == 0 && tod.Second < 10 {
		if date, _, err = s.readTime(ctx, meter, addr, dateDI); err != nil {
			return nil, err
		}
	}
	loc := s.o.loc()
	mt := time.Date(int(date.Year), time.Month(date.Month), int(date.Day), int(tod.Hour), int(tod.Minute), int(tod.Second), 0, loc)
	if mt.Day() != int(date.Day) || date.Month < 1 || date.Month > 12 {
		return nil, fmt.Errorf("%w: meter %s: impossible date %s", ErrBadAnswer, meter, date)
	}
	at = at.In(loc)
	return &ClockReading{Meter: meter, Edition: s.ed, MeterTime: mt, HeadEndTime: at,
		ErrorSeconds: int64(mt.Sub(at).Round(time.Second) / time.Second)}, nil
}

// nearMidnight reports whether t is within MidnightGuard of midnight.
func nearMidnight(t time.Time) bool {
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	tod := t.Sub(day)
	return tod < MidnightGuard || tod > 24*time.Hour-MidnightGuard
}

// syncClock sets meter's clock: by broadcast when the drift allows it,
// by an authorised write when asked.
func (s *session) syncClock(ctx context.Context, meter string, addr dlt645.Address, rq SyncRequest, auth *dlt645.Auth) (*ClockSync, error) {
	before, err := s.clock(ctx, meter, addr)
	if err != nil {
		return nil, err
	}
	out := &ClockSync{Meter: meter, Method: "none", Before: *before}
	drift := before.Offset()
	if drift.Abs() <= orDefault(s.o.ClockTolerance, 2*time.Second) && !rq.Force {
		out.Corrected, out.Note = true, "clock within tolerance: nothing done"
		return out, nil
	}
	if nearMidnight(before.MeterTime) || nearMidnight(before.HeadEndTime) {
		return out, fmt.Errorf("%w: meter %s: within %s of midnight, when meters freeze: try later", ErrNotAllowed, meter, MidnightGuard)
	}
	if rq.Write {
		out.Method = "write"
		if err := s.writeClock(ctx, meter, addr, *auth); err != nil {
			return out, err
		}
	} else {
		if drift.Abs() > MaxBroadcastCorrection {
			return out, fmt.Errorf("%w: meter %s is %s off, beyond the ±%s a broadcast may correct: it needs an authorised write (and is an anomaly in itself)",
				ErrNotAllowed, meter, drift, MaxBroadcastCorrection)
		}
		out.Method, out.Bus = "broadcast", s.channel
		f, err := s.ed.BroadcastTimeRequest(dlt645.DateTimeOf(s.o.now().In(s.o.loc()), dlt645.YYMMDDhhmmss))
		if err != nil {
			return out, err
		}
		if err := s.send(ctx, &f); err != nil {
			return out, err
		}
	}
	after, err := s.clock(ctx, meter, addr)
	if err != nil {
		return out, fmt.Errorf("reading the clock back: %w", err)
	}
	out.After = after
	out.Corrected = after.Offset().Abs() <= orDefault(s.o.ClockTolerance, 2*time.Second)
	if !out.Corrected && out.Method == "broadcast" {
		out.Note = "the meter did not take the broadcast (meters take one a day, and none near midnight)"
	}
	return out, nil
}

// writeClock writes the head-end's date and time to the meter.
func (s *session) writeClock(ctx context.Context, meter string, addr dlt645.Address, auth dlt645.Auth) error {
	dateDI, timeDI := s.clockDIs()
	now := s.o.now().In(s.o.loc())
	for _, w := range []struct {
		di     dlt645.DI
		layout dlt645.TimeLayout
	}{{dateDI, dlt645.YYMMDDWW}, {timeDI, dlt645.Hhmmss}} {
		spec, ok := s.ed.Registry().Lookup(w.di)
		if !ok {
			return fmt.Errorf("%w: %s has no DI %s", ErrUnsupported, s.ed, w.di.Format(s.ed))
		}
		data, err := spec.Encode(nil, []dlt645.Value{dlt645.TimeValue(dlt645.DateTimeOf(now, w.layout))})
		if err != nil {
			return err
		}
		req, err := s.ed.WriteRequest(addr, w.di, auth, data)
		if err != nil {
			return err
		}
		if _, err := s.exchange(ctx, meter, &req); err != nil {
			var me *dlt645.MeterError
			if errors.As(err, &me) && me.Unauthorised() {
				return fmt.Errorf("%w: meter %s: password wrong or unauthorised", ErrRefused, meter)
			}
			return err
		}
		if w.layout == dlt645.YYMMDDWW {
			now = s.o.now().In(s.o.loc()) // the time as it is now, after the date's transaction
		}
	}
	return nil
}
