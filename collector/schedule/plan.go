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
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// Plan is the schedule of one reading class.
type Plan struct {
	Class meter.Class
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
func jitter(meterID string, class meter.Class, max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(meterID))
	h.Write([]byte(class))
	return time.Duration(h.Sum64() % uint64(max))
}

// Reading is the reading plan: the data identifiers each class reads
// from a meter, per kind of meter. The collector builds it from its
// configuration (collector.plan; docs/reading-plan.md); a kind of meter
// whose list is empty reads the default's. The load profile is not in
// it: the collector reads the records a meter holds that it does not.
type Reading struct {
	Instantaneous ByEdition
	Daily         ByEdition // 2007: the last freeze (DI0 01), read as freeze n for backfill
	Monthly       ByEdition
	Clock         ByEdition // date and time: poll.DateTime2007, poll.DateTime1997
}

// ByEdition are one class's data identifiers for each kind of meter.
type ByEdition struct {
	DLT2007, DLT1997, Modbus []dlt645.DI
}

// For returns the identifiers for meter t.
func (b ByEdition) For(t poll.Target) []dlt645.DI {
	switch {
	case t.Modbus:
		return b.Modbus
	case t.Edition == dlt645.DLT1997:
		return b.DLT1997
	}
	return b.DLT2007
}

// DefaultReading is the plan a head-end reads unless configured otherwise.
// Modbus meters (an SDM630 through the register map of collector/modbus)
// are read by the same identifiers.
func DefaultReading() Reading {
	return Reading{
		// registers and what the meter measures now: energies by tariff,
		// voltages, currents, power, power factor
		Instantaneous: ByEdition{
			DLT2007: []dlt645.DI{0x0001FF00, 0x0002FF00, 0x0201FF00, 0x0202FF00, 0x02030000, 0x02060000},
			DLT1997: []dlt645.DI{0x901F, 0x902F, 0xB61F, 0xB62F, 0xB630, 0xB650},
			Modbus:  []dlt645.DI{0x00010000, 0x00020000, 0x0201FF00, 0x0202FF00, 0x02030000, 0x02060000},
		},
		// the last daily freeze: its time and the forward and reverse
		// registers frozen at 00:00; meters that keep no freezes (1997,
		// Modbus) are read their registers just after midnight
		Daily: ByEdition{
			DLT2007: []dlt645.DI{0x05060001, 0x05060101, 0x05060201},
			DLT1997: []dlt645.DI{0x901F, 0x902F},
			Modbus:  []dlt645.DI{0x00010000, 0x00020000},
		},
		// the last settlement day's registers and max demand
		Monthly: ByEdition{
			DLT2007: []dlt645.DI{0x0001FF01, 0x0002FF01, 0x01010001},
			DLT1997: []dlt645.DI{0x941F, 0x942F, 0xA410, 0xB410},
		},
		// date and time in one transaction, and the meter-cover-opened
		// count (the flags watch it rise once a day); an SDM630 keeps no
		// clock
		Clock: ByEdition{
			DLT2007: []dlt645.DI{poll.DateTime2007, 0x03300D00},
			DLT1997: []dlt645.DI{poll.DateTime1997},
		},
	}
}

// or is r with every empty list taken from d.
func (r Reading) or(d Reading) Reading {
	pick := func(a, b ByEdition) ByEdition {
		if len(a.DLT2007) == 0 {
			a.DLT2007 = b.DLT2007
		}
		if len(a.DLT1997) == 0 {
			a.DLT1997 = b.DLT1997
		}
		if len(a.Modbus) == 0 {
			a.Modbus = b.Modbus
		}
		return a
	}
	return Reading{pick(r.Instantaneous, d.Instantaneous), pick(r.Daily, d.Daily), pick(r.Monthly, d.Monthly), pick(r.Clock, d.Clock)}
}

// InstantaneousRequests reads what the plan reads of t now.
func (r Reading) InstantaneousRequests(t poll.Target, _ time.Time) []poll.Request {
	return reqs(r.or(DefaultReading()).Instantaneous.For(t)...)
}

// DailyRequests reads the last daily freeze (2007 meters), or the
// registers of meters that keep no freezes.
func (r Reading) DailyRequests(t poll.Target, _ time.Time) []poll.Request {
	if t.Modbus || t.Edition == dlt645.DLT1997 {
		return reqs(r.or(DefaultReading()).Daily.For(t)...)
	}
	return r.FreezeRequests(1)
}

// FreezeRequests reads daily freeze n (1 = the last, up to 62) of a 2007
// meter: the plan's daily identifiers with DI0 set to n.
func (r Reading) FreezeRequests(n int) []poll.Request {
	dis := r.or(DefaultReading()).Daily.DLT2007
	out := make([]poll.Request, len(dis))
	for i, d := range dis {
		if d>>16 == 0x0506 {
			d = d&^0xFF | dlt645.DI(n)
		}
		out[i] = poll.Request{DI: d}
	}
	return out
}

// MonthlyRequests reads the last settlement day.
func (r Reading) MonthlyRequests(t poll.Target, _ time.Time) []poll.Request {
	return reqs(r.or(DefaultReading()).Monthly.For(t)...)
}

// ClockRequests reads the meter's date and time in one transaction
// (poll.DateTime2007, poll.DateTime1997; bracketed date, time, date where
// the meter refuses it) and what else the plan reads with them.
func (r Reading) ClockRequests(t poll.Target, _ time.Time) []poll.Request {
	return reqs(r.or(DefaultReading()).Clock.For(t)...)
}

// InstantaneousRequests, DailyRequests, FreezeRequests, MonthlyRequests
// and ClockRequests are those of DefaultReading, for tools that read a
// meter without a configuration.
func InstantaneousRequests(t poll.Target, due time.Time) []poll.Request {
	return Reading{}.InstantaneousRequests(t, due)
}

// DailyRequests: see InstantaneousRequests.
func DailyRequests(t poll.Target, due time.Time) []poll.Request {
	return Reading{}.DailyRequests(t, due)
}

// FreezeRequests: see InstantaneousRequests.
func FreezeRequests(n int) []poll.Request { return Reading{}.FreezeRequests(n) }

// MonthlyRequests: see InstantaneousRequests.
func MonthlyRequests(t poll.Target, due time.Time) []poll.Request {
	return Reading{}.MonthlyRequests(t, due)
}

// ClockRequests: see InstantaneousRequests.
func ClockRequests(t poll.Target, due time.Time) []poll.Request {
	return Reading{}.ClockRequests(t, due)
}

func reqs(dis ...dlt645.DI) []poll.Request {
	if len(dis) == 0 {
		return nil // the class does not apply to the meter
	}
	out := make([]poll.Request, len(dis))
	for i, d := range dis {
		out[i] = poll.Request{DI: d}
	}
	return out
}
