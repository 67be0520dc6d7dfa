// Package schedule decides when each meter is read: per reading class an
// interval aligned to the clock (every 15 minutes on the quarter hour, the
// daily freeze after midnight, the settlement read on settlement day),
// spread over the meters by a jitter that is fixed per meter, so that a
// fleet does not hit its buses at the same instant and a meter is read at
// the same moment of every cycle. It hands tasks to the buses; it never
// talks to a meter itself.
package schedule

import (
	"hash/fnv"
	"time"

	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/collector/read"
	"github.com/headend/headend/protocol/dlt645"
)

// Plan is the schedule of one reading class.
type Plan struct {
	Class read.Class
	// Every is the cycle: 15m, 1h, 24h. Cycles start at multiples of
	// Every from midnight of the clock's zone (for 24h: at midnight).
	Every time.Duration
	// Offset delays each cycle's start, e.g. 5m after midnight for the
	// daily freeze, which meters make at 00:00.
	Offset time.Duration
	// Jitter spreads the meters over [0, Jitter) after the start.
	Jitter time.Duration
	// Requests are what to read from a meter in the cycle starting at
	// due; none means the class does not apply to that meter.
	Requests func(t poll.Target, due time.Time) []poll.Request
	// Next, when set, replaces Every and Offset with a calendar: the
	// first start strictly after t (monthly settlement reads).
	Next func(t time.Time) time.Time
}

// next returns the first due time of p for a meter strictly after t.
func (p *Plan) next(meter string, t time.Time) time.Time {
	if p.Next != nil {
		j := jitter(meter, p.Class, p.Jitter)
		return p.Next(t.Add(-j)).Add(j)
	}
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	every := p.Every
	if every <= 0 {
		every = 24 * time.Hour
	}
	j := jitter(meter, p.Class, p.Jitter)
	// candidate cycles: from the one that started before t, on
	start := day.Add(t.Sub(day) / every * every)
	for k := -1; k < 3; k++ {
		d := start.Add(time.Duration(k)*every + p.Offset + j)
		if d.After(t) {
			return d
		}
	}
	return start.Add(2*every + p.Offset + j)
}

// jitter is a meter's fixed place in [0, max).
func jitter(meter string, class read.Class, max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(meter))
	h.Write([]byte(class))
	return time.Duration(h.Sum64() % uint64(max))
}

// Standard requests of each class.

// InstantaneousRequests reads the registers and what the meter measures
// now: energies by tariff, voltages, currents, power, power factor.
func InstantaneousRequests(t poll.Target, _ time.Time) []poll.Request {
	if t.Modbus {
		return reqs(0x00010000, 0x00020000, 0x0201FF00, 0x0202FF00, 0x02030000, 0x02060000)
	}
	if t.Edition == dlt645.DLT1997 {
		return reqs(0x901F, 0x902F, 0xB61F, 0xB62F, 0xB630, 0xB650)
	}
	return reqs(0x0001FF00, 0x0002FF00, 0x0201FF00, 0x0202FF00, 0x02030000, 0x02060000)
}

// DailyRequests reads the last daily freeze: its time and the forward and
// reverse registers frozen at 00:00 (2007 meters; 1997 meters keep no
// daily freezes, so their registers are read instead).
func DailyRequests(t poll.Target, _ time.Time) []poll.Request {
	if t.Modbus || t.Edition == dlt645.DLT1997 {
		// no freeze history: the registers just after midnight
		if t.Modbus {
			return reqs(0x00010000, 0x00020000)
		}
		return reqs(0x901F, 0x902F)
	}
	return FreezeRequests(1)
}

// FreezeRequests reads daily freeze n (1 = the last, up to 62).
func FreezeRequests(n int) []poll.Request {
	d := dlt645.DI(n)
	return reqs(0x05060000|d, 0x05060100|d, 0x05060200|d)
}

// MonthlyRequests reads the last settlement-day registers and max demand.
func MonthlyRequests(t poll.Target, _ time.Time) []poll.Request {
	if t.Modbus {
		return nil
	}
	if t.Edition == dlt645.DLT1997 {
		return reqs(0x941F, 0x942F, 0xA410, 0xB410)
	}
	return reqs(0x0001FF01, 0x0002FF01, 0x01010001)
}

// IntervalRequests reads the load-profile records of the hour before due
// (four 15-minute records, each stamped with the end of its interval:
// before 10:05, those of 09:15 .. 10:00) from meters that keep a load
// profile. The collector reads from the newest record it holds instead.
func IntervalRequests(t poll.Target, due time.Time) []poll.Request {
	if t.Modbus || t.Edition == dlt645.DLT1997 {
		return nil
	}
	from := due.Truncate(15 * time.Minute).Add(-45 * time.Minute)
	return []poll.Request{{DI: 0x06000001, Blocks: 4, From: dlt645.DateTimeOf(from, dlt645.YYMMDDhhmm)}}
}

// ClockRequests reads the meter's date and time in one transaction
// (poll.DateTime2007, poll.DateTime1997; bracketed date, time, date where
// the meter refuses it), and on 2007 meters the meter-cover-opened count
// (the flags watch it rise once a day).
func ClockRequests(t poll.Target, _ time.Time) []poll.Request {
	if t.Modbus {
		return nil // an SDM630 keeps no clock
	}
	if t.Edition == dlt645.DLT1997 {
		return reqs(poll.DateTime1997)
	}
	return reqs(poll.DateTime2007, 0x03300D00)
}

func reqs(dis ...dlt645.DI) []poll.Request {
	out := make([]poll.Request, len(dis))
	for i, d := range dis {
		out[i] = poll.Request{DI: d}
	}
	return out
}

// DefaultPlans are the schedules a head-end runs unless told otherwise.
func DefaultPlans() []Plan {
	return []Plan{
		{Class: read.Instantaneous, Every: 15 * time.Minute, Jitter: 10 * time.Minute, Requests: InstantaneousRequests},
		{Class: read.Daily, Every: 24 * time.Hour, Offset: 5 * time.Minute, Jitter: 60 * time.Minute, Requests: DailyRequests},
		{Class: read.Clock, Every: 24 * time.Hour, Offset: 3 * time.Hour, Jitter: 60 * time.Minute, Requests: ClockRequests},
	}
}
