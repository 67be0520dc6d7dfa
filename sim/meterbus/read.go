package meterbus

import (
	"time"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/model"
)

// energies is one set of energy registers: the current ones or a frozen
// record's.
type energies struct {
	fwd, rev [5]int64
	q        [4]int64
}

func (e energies) class(d2, tariff int) (int64, bool) {
	const signedLimit = 80_000_000 // a signed 4-byte field holds 799999.99
	switch {
	case d2 == 0:
		return (e.fwd[tariff] + e.rev[tariff]) % signedLimit, true
	case d2 == 1:
		return e.fwd[tariff], true
	case d2 == 2:
		return e.rev[tariff], true
	case tariff != 0:
		return 0, false // reactive energies are kept as totals only
	case d2 == 3:
		return (e.q[0] + e.q[1]) % signedLimit, true
	case d2 == 4:
		return (e.q[2] + e.q[3]) % signedLimit, true
	case d2 >= 5 && d2 <= 8:
		return e.q[d2-5], true
	}
	return 0, false
}

func fromRegisters(r model.Registers) energies {
	return energies{fwd: r.Forward, rev: r.Reverse, q: r.ReactiveQ}
}

func fromFreeze(f model.Freeze) energies {
	return energies{fwd: f.Forward, rev: f.Reverse, q: f.ReactiveQ}
}

func num(units int64, scale uint8) dlt645.Value {
	return dlt645.Number(dlt645.Decimal{Units: units, Scale: scale})
}

func clock(t time.Time, l dlt645.TimeLayout) dlt645.Value {
	if t.IsZero() {
		return dlt645.TimeValue(dlt645.DateTime{Layout: l})
	}
	return dlt645.TimeValue(dlt645.DateTimeOf(t, l))
}

var noData = dlt645.NoDataValue()

// read returns the value bytes of msg.DI, or false for "no requested
// data".
func (b *Bus) read(ed dlt645.Edition, m *model.Meter, msg *dlt645.Message, now time.Time) ([]byte, bool) {
	spec, ok := ed.Registry().Lookup(msg.DI)
	if !ok {
		return nil, false
	}
	r := m.Registers(now)
	var vals []dlt645.Value
	if ed == dlt645.DLT1997 {
		vals, ok = read1997(m, r, msg.DI)
	} else {
		if msg.DI>>24 == 0x06 {
			return loadProfile(m, msg, now)
		}
		vals, ok = read2007(m, r, msg.DI)
	}
	if !ok {
		return nil, false
	}
	data, err := spec.Encode(nil, vals)
	if err != nil {
		return nil, false
	}
	return data, true
}

// members expands a block DI: calls one for each member DI, and gives
// up if any member is unknown.
func members(di dlt645.DI, count int, member func(dlt645.DI) ([]dlt645.Value, bool)) ([]dlt645.Value, bool) {
	var out []dlt645.Value
	for i := range count {
		var d dlt645.DI
		switch {
		case di>>8&0xFF == 0xFF:
			d = di&^0xFF00 | dlt645.DI(i)<<8
		default:
			d = di&^0xFF | dlt645.DI(i)
		}
		v, ok := member(d)
		if !ok {
			return nil, false
		}
		out = append(out, v...)
	}
	return out, true
}

func read2007(m *model.Meter, r model.Registers, di dlt645.DI) ([]dlt645.Value, bool) {
	d3, d2, d1, d0 := int(di>>24), int(di>>16&0xFF), int(di>>8&0xFF), int(di&0xFF)
	self := func(d dlt645.DI) ([]dlt645.Value, bool) { return read2007(m, r, d) }
	switch d3 {
	case 0x00: // energy: class d2, tariff d1, settlement d0
		if d1 == 0xFF {
			return members(di, 5, self)
		}
		if d0 == 0xFF {
			return members(di, 13, self)
		}
		if d1 > 4 || d0 > 12 {
			return nil, false
		}
		e := fromRegisters(r)
		if d0 > 0 {
			s := m.Settlements()
			if d0 > len(s) {
				return []dlt645.Value{noData}, true
			}
			e = fromFreeze(s[d0-1])
		}
		v, ok := e.class(d2, d1)
		if !ok {
			return []dlt645.Value{noData}, true
		}
		return []dlt645.Value{num(v, 2)}, true
	case 0x01: // forward active max demand and its time
		if d2 != 1 {
			return nil, false
		}
		if d1 == 0xFF {
			return members(di, 5, self)
		}
		if d1 != 0 {
			return []dlt645.Value{noData, noData}, true
		}
		demand, at := r.MaxDemand, r.MaxDemandTime
		if d0 > 0 {
			s := m.Settlements()
			if d0 > len(s) {
				return []dlt645.Value{noData, noData}, true
			}
			demand, at = s[d0-1].MaxDemand, s[d0-1].MaxDemandTime
		}
		return []dlt645.Value{num(demand, 4), clock(at, dlt645.YYMMDDhhmm)}, true
	case 0x02:
		return instantaneous(r, di)
	case 0x03:
		return events(m, di)
	case 0x04:
		return parameters(m, r, di)
	case 0x05:
		return freezes(m, d2, d1, d0)
	}
	return nil, false
}

func instantaneous(r model.Registers, di dlt645.DI) ([]dlt645.Value, bool) {
	d2, d1 := int(di>>16&0xFF), int(di>>8&0xFF)
	if di == 0x02800002 {
		return []dlt645.Value{num(r.Frequency, 2)}, true
	}
	if di&0xFF != 0 {
		return nil, false
	}
	phase := func(vals [3]int64, scale uint8) ([]dlt645.Value, bool) {
		switch {
		case d1 >= 1 && d1 <= 3:
			return []dlt645.Value{num(vals[d1-1], scale)}, true
		case d1 == 0xFF:
			return []dlt645.Value{num(vals[0], scale), num(vals[1], scale), num(vals[2], scale)}, true
		}
		return nil, false
	}
	switch d2 {
	case 0x01:
		return phase(r.Voltage, 1)
	case 0x02:
		return phase(r.Current, 3)
	case 0x03:
		switch {
		case d1 <= 3:
			return []dlt645.Value{num(r.Power[d1], 4)}, true
		case d1 == 0xFF:
			return []dlt645.Value{num(r.Power[0], 4), num(r.Power[1], 4), num(r.Power[2], 4), num(r.Power[3], 4)}, true
		}
	case 0x04:
		if d1 == 0 {
			return []dlt645.Value{num(r.Reactive, 4)}, true
		}
		return []dlt645.Value{noData}, d1 <= 3
	case 0x06:
		if d1 == 0 {
			return []dlt645.Value{num(r.PF, 3)}, true
		}
		return []dlt645.Value{noData}, d1 <= 3
	}
	return nil, false
}

func events(m *model.Meter, di dlt645.DI) ([]dlt645.Value, bool) {
	ev := m.Events()
	switch {
	case di == 0x03300D00:
		return []dlt645.Value{num(ev.CoverOpenCount, 0)}, true
	case di == 0x03300400:
		return []dlt645.Value{num(ev.ClockSetCount, 0)}, true
	case di>>8 == 0x03300D && di&0xFF >= 1 && di&0xFF <= 10:
		n := int(di & 0xFF)
		if n > len(ev.CoverOpenTimes) {
			return []dlt645.Value{noData, noData, dlt645.RawValue(nil)}, true
		}
		start := ev.CoverOpenTimes[n-1]
		// the simulated cover is shut again at once; no energies recorded
		return []dlt645.Value{clock(start, dlt645.YYMMDDhhmmss), clock(start, dlt645.YYMMDDhhmmss), dlt645.RawValue(nil)}, true
	case di == 0x03040000:
		// phase loss totals: the model counts losses, not which phase
		// or for how long; they are put on the phase that lost voltage
		vals := []dlt645.Value{num(0, 0), num(0, 0), num(0, 0), num(0, 0), num(0, 0), num(0, 0)}
		vals[0] = num(ev.PhaseLossCount, 0)
		return vals, true
	}
	return nil, false
}

func parameters(m *model.Meter, r model.Registers, di dlt645.DI) ([]dlt645.Value, bool) {
	switch di {
	case 0x04000101:
		return []dlt645.Value{clock(r.MeterTime, dlt645.YYMMDDWW)}, true
	case 0x04000102:
		return []dlt645.Value{clock(r.MeterTime, dlt645.Hhmmss)}, true
	case 0x04000401:
		a, err := dlt645.ParseAddress(m.Address)
		if err != nil {
			return nil, false
		}
		raw := make([]byte, 6)
		for i := range 6 {
			raw[i] = a[5-i]
		}
		return []dlt645.Value{{Kind: dlt645.KindAddress, Raw: raw}}, true
	case 0x040005FF:
		w := r.Status.Words()
		var vals []dlt645.Value
		for _, x := range w {
			vals = append(vals, dlt645.RawValue([]byte{byte(x), byte(x >> 8)}))
		}
		return vals, true
	}
	if di>>8 == 0x040005 && di&0xFF >= 1 && di&0xFF <= 7 {
		x := r.Status.Words()[di&0xFF-1]
		return []dlt645.Value{dlt645.RawValue([]byte{byte(x), byte(x >> 8)})}, true
	}
	return nil, false
}

// freezes: 0506 daily (time, forward and reverse blocks), 0504 hourly
// (time, forward and reverse totals).
func freezes(m *model.Meter, d2, d1, d0 int) ([]dlt645.Value, bool) {
	var list []model.Freeze
	switch d2 {
	case 0x06:
		list = m.DailyFreezes()
	case 0x04:
		list = m.HourlyFreezes()
	default:
		return nil, false
	}
	if d0 < 1 {
		return nil, false
	}
	hourly := d2 == 0x04
	width := 5
	if hourly {
		width = 1
	}
	if d0 > len(list) {
		switch d1 {
		case 0:
			return []dlt645.Value{noData}, true
		case 1, 2:
			out := make([]dlt645.Value, width)
			for i := range out {
				out[i] = noData
			}
			return out, true
		}
		return nil, false
	}
	fz := list[d0-1]
	switch d1 {
	case 0:
		return []dlt645.Value{clock(fz.Time, dlt645.YYMMDDhhmm)}, true
	case 1, 2:
		src := fz.Forward
		if d1 == 2 {
			src = fz.Reverse
		}
		out := make([]dlt645.Value, width)
		for i := range out {
			out[i] = num(src[i], 2)
		}
		return out, true
	}
	return nil, false
}

func read1997(m *model.Meter, r model.Registers, di dlt645.DI) ([]dlt645.Value, bool) {
	self := func(d dlt645.DI) ([]dlt645.Value, bool) { return read1997(m, r, d) }
	hi, kind, t := int(di>>8), int(di>>4&0xF), int(di&0xF)
	switch {
	case hi == 0x90 || hi == 0x94 || hi == 0x98: // active energy, this month and the last two
		if t == 0xF {
			var out []dlt645.Value
			for i := range 5 {
				v, ok := self(di&^0xF | dlt645.DI(i))
				if !ok {
					return nil, false
				}
				out = append(out, v...)
			}
			return out, true
		}
		if t > 4 || (kind != 1 && kind != 2) {
			return nil, false
		}
		e := fromRegisters(r)
		if back := (hi - 0x90) / 4; back > 0 {
			s := m.Settlements()
			if back > len(s) {
				return []dlt645.Value{noData}, true
			}
			e = fromFreeze(s[back-1])
		}
		v, _ := e.class(kind, t)
		return []dlt645.Value{num(v, 2)}, true
	case di == 0xA010:
		return []dlt645.Value{num(r.MaxDemand, 4)}, true
	case di == 0xB010:
		return []dlt645.Value{clock(r.MaxDemandTime, dlt645.MMDDhhmm)}, true
	case hi == 0xB6:
		return instant1997(r, di)
	case di == 0xC010:
		return []dlt645.Value{clock(r.MeterTime, dlt645.YYMMDDWW)}, true
	case di == 0xC011:
		return []dlt645.Value{clock(r.MeterTime, dlt645.Hhmmss)}, true
	case di == 0xC032:
		return parameters(m, r, 0x04000401)
	}
	return nil, false
}

// instant1997 converts to the coarser 1997 formats: volts without
// decimals, amperes to 0.01.
func instant1997(r model.Registers, di dlt645.DI) ([]dlt645.Value, bool) {
	kind, p := int(di>>4&0xF), int(di&0xF)
	phases := func(get func(i int) dlt645.Value, withTotal bool) ([]dlt645.Value, bool) {
		lo, hi := 1, 3
		if withTotal {
			lo = 0
		}
		if p == 0xF {
			var out []dlt645.Value
			for i := lo; i <= hi; i++ {
				out = append(out, get(i))
			}
			return out, true
		}
		if p < lo || p > hi {
			return nil, false
		}
		return []dlt645.Value{get(p)}, true
	}
	switch kind {
	case 1:
		return phases(func(i int) dlt645.Value { return num((r.Voltage[i-1]+5)/10, 0) }, false)
	case 2:
		return phases(func(i int) dlt645.Value { return num(abs(r.Current[i-1])/10, 2) }, false)
	case 3:
		return phases(func(i int) dlt645.Value { return num(abs(r.Power[i]), 4) }, true)
	case 5:
		return phases(func(i int) dlt645.Value {
			if i == 0 {
				return num(abs(r.PF), 3)
			}
			return noData
		}, true)
	}
	return nil, false
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// loadProfile answers 06000000 (earliest), 06000001 (N records from a
// time) and 06000002 (latest) with records of voltage and current,
// power, power factor and energies.
func loadProfile(m *model.Meter, msg *dlt645.Message, now time.Time) ([]byte, bool) {
	if msg.DI>>8 != 0x060000 {
		return nil, false
	}
	var recs []model.ProfileRecord
	switch msg.DI & 0xFF {
	case 0:
		recs = m.LoadProfile(time.Time{}, 1)
	case 1:
		if msg.Time.Layout == 0 || msg.Blocks < 1 {
			return nil, false
		}
		from, err := msg.Time.Time(m.Clock(now).Location())
		if err != nil {
			return nil, false
		}
		recs = m.LoadProfile(from, msg.Blocks)
	case 2:
		all := m.LoadProfile(m.Clock(now).Add(-2*model.Step), 0)
		if len(all) > 0 {
			recs = all[len(all)-1:]
		}
	default:
		return nil, false
	}
	if len(recs) == 0 {
		return nil, false
	}
	var out []byte
	for _, p := range recs {
		rec := dlt645.ProfileRecord{
			Time:   dlt645.DateTimeOf(p.Time, dlt645.YYMMDDhhmm),
			Groups: dlt645.GroupVoltageCurrent | dlt645.GroupPower | dlt645.GroupPowerFactor | dlt645.GroupEnergy,
		}
		rec.Voltage[0] = dlt645.Decimal{Units: p.Voltage, Scale: 1}
		rec.Current[0] = dlt645.Decimal{Units: p.Current, Scale: 3}
		rec.ActivePower[0] = dlt645.Decimal{Units: p.Power, Scale: 4}
		rec.PowerFactor[0] = dlt645.Decimal{Units: p.PF, Scale: 3}
		rec.Energy[0] = dlt645.Decimal{Units: p.Forward, Scale: 2}
		rec.Energy[1] = dlt645.Decimal{Units: p.Reverse, Scale: 2}
		// what a single-phase record does not have is "no data":
		// Ub Uc Ib Ic f, phase powers, reactive powers, phase PFs,
		// combined reactive energies
		rec.Absent = 1<<1 | 1<<2 | 1<<4 | 1<<5 | 1<<6 |
			1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12 | 1<<13 | 1<<14 |
			1<<16 | 1<<17 | 1<<18 | 1<<21 | 1<<22
		var err error
		if out, err = dlt645.AppendProfileRecord(out, &rec); err != nil {
			return nil, false
		}
	}
	return out, true
}
