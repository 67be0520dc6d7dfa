package model

import (
	"math/bits"
	"time"
)

// RegisterModulus is where an 8-digit XXXXXX.XX register rolls over.
const RegisterModulus = 100_000_000

// Meter is one simulated meter: a customer meter or an area meter. Its
// exported fields are its archive data and are read-only; its state is read
// through its methods, which are safe for concurrent use with
// [Fleet.AdvanceTo].
type Meter struct {
	Address  string // 12 decimal digits
	Edition  int    // 2007 or 1997
	Role     Role
	Class    Class   // customers only
	Phases   int     // 1 (phase A only) or 3
	CT, PT   int     // registers are primary / (CT×PT)
	DailyKWh float64 // mean daily consumption (customers)
	PVKW     float64 // rooftop PV peak power, 0 = none
	Area     *Area   // the area in the archive
	Faults   []Fault // planted faults and wire behaviours, as configured

	f       *Fleet
	h       uint64  // per-meter hash
	pfBase  float64 // typical power factor
	share   [3]float64
	drift   float64 // natural clock drift, seconds per day
	vOff    float64 // voltage offset along the feeder, V
	battLow bool

	// state at the start T0 of the current step, secondary micro-kWh
	fwd, rev [4]int64
	q        [4]int64 // reactive quadrants I..IV, micro-kvarh
	clockOff float64  // meter clock − simulated time at T0, seconds
	rate     float64  // clock rate error during the current step, s/s

	inc   stepInc
	st    stepTruth
	inst  inst
	phys  *Area // physical area during the current step
	state faultState

	maxDemand   int64 // 0.0001 kW since last settlement / reset
	maxDemandAt stamp
	relayOpen   bool
	coverCount  int64
	coverTimes  [10]int64 // unix seconds of the meter clock, ring
	phaseLoss   int64
	clockSets   int64
	lastSet     int64

	daily, settle ring[freezeRec]
	hourly        ring[hourRec]
	profile       ring[profRec]
	truth         ring[meterDay] // closed days
	today         meterDay
	intervals     ring[float32] // true consumption per step, kWh
}

type stepInc struct {
	fwd, rev, q int64 // secondary micro-kWh / micro-kvarh in the step
	meas, measQ int64 // primary flow the terminals see (after theft, before meter faults)
	tariff      uint8 // 0..3
	quad        uint8 // 0..3
}

// inst holds instantaneous values during the current step (secondary).
type inst struct {
	p  [3]int32  // 0.0001 kW
	v  [3]uint16 // 0.1 V
	i  [3]int32  // 0.001 A
	pf int16     // 0.001, total
	qt int32     // total reactive power 0.0001 kvar
}

type faultState struct {
	theft     float64
	stopped   bool
	reverse   bool
	phaseLoss [3]bool
	battLow   bool
}

type freezeRec struct {
	at       stamp
	fwd, rev [5]uint32
	q        [4]uint32
	md       uint32
	mdAt     stamp
}

type hourRec struct {
	at       stamp
	fwd, rev uint32
}

type profRec struct {
	at       stamp
	fwd, rev uint32
	p        int32
	v        uint16
	pf       int16
}

// Registers is a snapshot of what a meter shows. Energies are in 0.01 kWh
// (kvarh for reactive) and roll over at 999999.99; index 0 of Forward and
// Reverse is the total, 1..4 tariffs sharp, peak, flat, valley. Phases a
// single-phase meter does not have read 0.
type Registers struct {
	Time      time.Time // simulated instant
	MeterTime time.Time // the meter's own clock at Time

	Forward   [5]int64 // forward active energy, total + tariffs
	Reverse   [5]int64 // reverse active energy, total + tariffs
	ReactiveQ [4]int64 // reactive energy quadrants I..IV

	MaxDemand     int64     // forward active max demand (15-min average), 0.0001 kW
	MaxDemandTime time.Time // meter clock at the end of that interval; zero if none

	Voltage   [3]int64 // phase A..C, 0.1 V
	Current   [3]int64 // phase A..C, 0.001 A, signed
	Power     [4]int64 // total, phase A..C, 0.0001 kW, signed
	Reactive  int64    // total reactive power, 0.0001 kvar, signed
	PF        int64    // total power factor, 0.001, signed
	Frequency int64    // 0.01 Hz
	Tariff    int      // current tariff 1..4

	Status Status
}

// CombinedReactive1 is QI + QII (the default combination), 0.01 kvarh.
func (r Registers) CombinedReactive1() int64 {
	return (r.ReactiveQ[0] + r.ReactiveQ[1]) % RegisterModulus
}

// CombinedReactive2 is QIII + QIV (the default combination), 0.01 kvarh.
func (r Registers) CombinedReactive2() int64 {
	return (r.ReactiveQ[2] + r.ReactiveQ[3]) % RegisterModulus
}

// Status is a meter's running status.
type Status struct {
	ReversePower bool    // active power flows in reverse
	ReverseQ     bool    // reactive power flows in reverse
	RelayOpen    bool    // load switch open (tripped)
	BatteryLow   bool    // clock battery under voltage
	PhaseLoss    [3]bool // loss of voltage on phase A..C
	CoverOpen    bool    // cover currently open
}

// Words returns the DL/T 645-2007 running status words 1..7 (04 00 05 01 ..
// 07) for the status (verify bit layout against the standard): word 1 bit 2
// clock battery, bit 4 active power reverse, bit 5 reactive power reverse;
// word 3 bit 4 relay open; words 4..6 (phase A..C) bit 0 loss of voltage,
// bit 6 power reverse.
func (s Status) Words() [7]uint16 {
	var w [7]uint16
	if s.BatteryLow {
		w[0] |= 1 << 2
	}
	if s.ReversePower {
		w[0] |= 1 << 4
	}
	if s.ReverseQ {
		w[0] |= 1 << 5
	}
	if s.RelayOpen {
		w[2] |= 1 << 4
	}
	for p := 0; p < 3; p++ {
		if s.PhaseLoss[p] {
			w[3+p] |= 1
		}
		if s.ReversePower {
			w[3+p] |= 1 << 6
		}
	}
	return w
}

// Freeze is a frozen record: daily (00:00 of the meter clock), hourly or
// settlement-day. Hourly freezes carry only the totals (Forward[0],
// Reverse[0]); their other fields are 0.
type Freeze struct {
	Time          time.Time // meter clock at the freeze
	Forward       [5]int64
	Reverse       [5]int64
	ReactiveQ     [4]int64
	MaxDemand     int64 // since the previous settlement, 0.0001 kW
	MaxDemandTime time.Time
}

// ProfileRecord is one 15-minute load-profile record. Voltage and current
// are phase A; Power and PF are totals.
type ProfileRecord struct {
	Time    time.Time // meter clock at the end of the interval, whole minute
	Forward int64     // forward active total, 0.01 kWh
	Reverse int64     // reverse active total, 0.01 kWh
	Power   int64     // 0.0001 kW, signed
	Voltage int64     // 0.1 V
	Current int64     // 0.001 A, signed
	PF      int64     // 0.001, signed
}

// Events are a meter's event counters.
type Events struct {
	CoverOpenCount int64
	CoverOpenTimes []time.Time // newest first, at most 10, meter clock
	PhaseLossCount int64
	ClockSetCount  int64
	LastClockSet   time.Time // meter clock after the last set; zero if never
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) {
		q--
	}
	return q
}

// reg converts a micro-kWh accumulator to the register value it shows.
func reg(acc int64) int64 {
	v := floorDiv(acc, 10_000) % RegisterModulus
	if v < 0 {
		v += RegisterModulus
	}
	return v
}

func regs(acc *[4]int64) (r [5]int64) {
	var s int64
	for i, a := range acc {
		r[i+1] = reg(a)
		s += a
	}
	r[0] = reg(s)
	return r
}

// part is floor(inc × e / Step) for 0 <= e <= Step, exact.
func part(inc int64, e time.Duration) int64 {
	if inc <= 0 || e <= 0 {
		return 0
	}
	if e >= Step {
		return inc
	}
	hi, lo := bits.Mul64(uint64(inc), uint64(e))
	q, _ := bits.Div64(hi, lo, uint64(Step))
	return int64(q)
}

// accAt returns the accumulators at elapsed e into the current step.
func (m *Meter) accAt(e time.Duration) (fwd, rev, q [4]int64) {
	fwd, rev, q = m.fwd, m.rev, m.q
	fwd[m.inc.tariff] += part(m.inc.fwd, e)
	rev[m.inc.tariff] += part(m.inc.rev, e)
	q[m.inc.quad] += part(m.inc.q, e)
	return
}

// clockAt is the meter clock at elapsed e into the current step.
func (m *Meter) clockAt(t0 time.Time, e time.Duration) time.Time {
	off := m.clockOff + m.rate*e.Seconds()
	return t0.Add(e + time.Duration(off*1e9))
}

// Registers returns what the meter shows at simulated instant t. Instants
// before the current step read as its start, instants after it as its end:
// call [Fleet.AdvanceTo] first.
func (m *Meter) Registers(t time.Time) Registers {
	f := m.f
	f.mu.RLock()
	defer f.mu.RUnlock()
	e := f.elapsed(t)
	fwd, rev, q := m.accAt(e)
	r := Registers{
		Time:      f.t0.Add(e),
		MeterTime: m.clockAt(f.t0, e).Truncate(time.Second),
		Forward:   regs(&fwd),
		Reverse:   regs(&rev),
		MaxDemand: m.maxDemand,
		Frequency: int64(f.freq),
		Tariff:    int(m.inc.tariff) + 1,
		PF:        int64(m.inst.pf),
		Reactive:  int64(m.inst.qt),
	}
	for i := range q {
		r.ReactiveQ[i] = reg(q[i])
	}
	r.MaxDemandTime = m.maxDemandAt.time(f.zone)
	for p := 0; p < m.Phases; p++ {
		r.Voltage[p] = int64(m.inst.v[p])
		r.Current[p] = int64(m.inst.i[p])
		r.Power[p+1] = int64(m.inst.p[p])
		r.Power[0] += int64(m.inst.p[p])
	}
	r.Status = m.status()
	return r
}

func (m *Meter) status() Status {
	return Status{
		ReversePower: m.inst.p[0]+m.inst.p[1]+m.inst.p[2] < 0,
		ReverseQ:     m.inst.qt < 0,
		RelayOpen:    m.relayOpen,
		BatteryLow:   m.battLow || m.state.battLow,
		PhaseLoss:    m.state.phaseLoss,
		CoverOpen:    m.coverOpenAt(m.f.t0),
	}
}

func (m *Meter) coverOpenAt(t time.Time) bool {
	for _, ft := range m.Faults {
		if ft.Kind == FaultCoverOpen && ft.activeAt(t) {
			return true
		}
	}
	return false
}

// Clock returns the meter's own clock at simulated instant t, to the second.
func (m *Meter) Clock(t time.Time) time.Time {
	m.f.mu.RLock()
	defer m.f.mu.RUnlock()
	return m.clockAt(m.f.t0, m.f.elapsed(t)).Truncate(time.Second)
}

// PhysicalArea is the area the meter is connected to in the field during
// the current step (differs from Area for a moved meter). For an area
// meter it is its own area.
func (m *Meter) PhysicalArea() *Area {
	m.f.mu.RLock()
	defer m.f.mu.RUnlock()
	return m.phys
}

func (r *freezeRec) freeze(z *time.Location) Freeze {
	fr := Freeze{Time: r.at.time(z), MaxDemand: int64(r.md), MaxDemandTime: r.mdAt.time(z)}
	for i := range r.fwd {
		fr.Forward[i] = int64(r.fwd[i])
		fr.Reverse[i] = int64(r.rev[i])
	}
	for i := range r.q {
		fr.ReactiveQ[i] = int64(r.q[i])
	}
	return fr
}

// DailyFreezes returns the daily freezes (00:00 of the meter clock), newest
// first, at most Retention.Daily (62).
func (m *Meter) DailyFreezes() []Freeze { return m.freezes(&m.daily) }

// Settlements returns the settlement-day freezes, newest first, at most
// Retention.Settlements (12). Max demand is reset at each settlement.
func (m *Meter) Settlements() []Freeze { return m.freezes(&m.settle) }

func (m *Meter) freezes(r *ring[freezeRec]) []Freeze {
	m.f.mu.RLock()
	defer m.f.mu.RUnlock()
	out := make([]Freeze, r.len())
	for i := range out {
		out[i] = r.at(i).freeze(m.f.zone)
	}
	return out
}

// HourlyFreezes returns the hourly freezes (on the hour of the meter
// clock), newest first, with forward and reverse totals only.
func (m *Meter) HourlyFreezes() []Freeze {
	m.f.mu.RLock()
	defer m.f.mu.RUnlock()
	out := make([]Freeze, m.hourly.len())
	for i := range out {
		h := m.hourly.at(i)
		out[i] = Freeze{Time: h.at.time(m.f.zone)}
		out[i].Forward[0] = int64(h.fwd)
		out[i].Reverse[0] = int64(h.rev)
	}
	return out
}

// LoadProfile returns up to n load-profile records stamped at or after
// from (meter clock), oldest first. n <= 0 means all that are kept.
func (m *Meter) LoadProfile(from time.Time, n int) []ProfileRecord {
	m.f.mu.RLock()
	defer m.f.mu.RUnlock()
	fs := toStamp(from)
	if from.IsZero() {
		fs = 0
	}
	var out []ProfileRecord
	for i := m.profile.len() - 1; i >= 0; i-- {
		p := m.profile.at(i)
		if p.at < fs {
			continue
		}
		if n > 0 && len(out) == n {
			break
		}
		rec := ProfileRecord{Time: p.at.time(m.f.zone), Forward: int64(p.fwd), Reverse: int64(p.rev),
			Power: int64(p.p), Voltage: int64(p.v), PF: int64(p.pf)}
		rec.Current = current(rec.Power, rec.Voltage, rec.PF)
		out = append(out, rec)
	}
	return out
}

// current derives a current in 0.001 A from power (0.0001 kW), voltage
// (0.1 V) and PF (0.001): I = P / (U × PF).
func current(p, v, pf int64) int64 {
	if v <= 0 || pf == 0 {
		return 0
	}
	if pf < 0 {
		pf = -pf
	}
	// P[W] = p/10, U[V] = v/10, PF = pf/1000 → I[mA] = p/10 / (v/10 · pf/1000) · 1000
	return p * 1_000_000 / (v * pf)
}

// Events returns the meter's event counters.
func (m *Meter) Events() Events {
	m.f.mu.RLock()
	defer m.f.mu.RUnlock()
	ev := Events{CoverOpenCount: m.coverCount, PhaseLossCount: m.phaseLoss, ClockSetCount: m.clockSets}
	for i := int64(0); i < min(m.coverCount, 10); i++ {
		ts := m.coverTimes[(m.coverCount-1-i)%10]
		ev.CoverOpenTimes = append(ev.CoverOpenTimes, time.Unix(ts, 0).In(m.f.zone))
	}
	if m.clockSets > 0 {
		ev.LastClockSet = time.Unix(m.lastSet, 0).In(m.f.zone)
	}
	return ev
}

// SetClock sets the meter's clock so that it reads meterTime at simulated
// instant t (a time sync or authorised clock write) and counts the event.
func (m *Meter) SetClock(t, meterTime time.Time) {
	f := m.f
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.elapsed(t)
	m.clockOff = meterTime.Sub(f.t0.Add(e)).Seconds() - m.rate*e.Seconds()
	m.clockSets++
	m.lastSet = meterTime.Unix()
}

// ResetDemand clears the max demand (DL/T 645 function 19).
func (m *Meter) ResetDemand() {
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	m.maxDemand, m.maxDemandAt = 0, 0
}

// SetRelay opens (trips) or closes the meter's load switch. With the relay
// open the customer draws nothing from the next step on.
func (m *Meter) SetRelay(open bool) {
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	m.relayOpen = open
}

// Behaviour is what the wire layer should do with a request to a meter at
// a simulated instant.
type Behaviour struct {
	Silent          bool          // never answers / dropped off (no_answer, offline)
	Delay           time.Duration // answer delay (slow)
	CorruptBytes    int           // bytes of the reply to corrupt (corrupt)
	CorruptRate     float64       // probability a reply is corrupted
	BadChecksumRate float64       // probability a reply carries a wrong CS (bad_checksum)
	Noise           int           // FE/noise bytes before the reply (fe_noise)
	NoBlocks        bool          // refuses block DIs, answers single ones (no_blocks)
}

// Behaviour returns the wire behaviours active at simulated instant t.
func (m *Meter) Behaviour(t time.Time) Behaviour {
	var b Behaviour
	for _, ft := range m.Faults {
		if !ft.Kind.IsWire() || !ft.activeAt(t) {
			continue
		}
		rate := ft.Rate
		if rate == 0 {
			rate = 1
		}
		switch ft.Kind {
		case WireNoAnswer, WireOffline:
			b.Silent = true
		case WireSlow:
			b.Delay = max(b.Delay, ft.Delay)
		case WireCorrupt:
			b.CorruptBytes = max(ft.Bytes, 1)
			b.CorruptRate = rate
		case WireBadChecksum:
			b.BadChecksumRate = rate
		case WireNoBlocks:
			b.NoBlocks = true
		case WireNoise:
			b.Noise = max(ft.Bytes, 1)
		}
	}
	return b
}
