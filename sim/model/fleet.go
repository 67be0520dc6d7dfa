package model

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Fleet is all areas and meters of a scenario. Its methods and those of
// its meters are safe for concurrent use.
type Fleet struct {
	Name string
	Seed int64

	mu       sync.RWMutex
	cfg      Config
	zone     *time.Location
	start    time.Time
	t0       time.Time // start of the current step
	k        int64     // index of the current step since start
	freq     int32     // 0.01 Hz during the current step
	tou      [24 * 60]uint8
	areas    []*Area
	meters   []*Meter
	byAddr   map[string]*Meter
	areaByID map[string]*Area
	ctx      stepCtx
}

// Area is a transformer area: its area meter and the customers its archive
// lists. Exported fields are read-only.
type Area struct {
	ID           string
	Name         string
	Feeder       string
	VoltageLevel string
	TechLossPct  float64
	Concentrator Concentrator
	Meter        *Meter   // area (total) meter
	Customers    []*Meter // customers in the archive

	h          uint64
	lossA      float64 // fixed loss per step, kWh
	lossB      float64 // load loss per (kWh per step)², 1/kWh
	refPeak    float64 // kWh per step of a typical day's peak
	loadFactor float64 // |net| / refPeak during the current step
	cloud      float64 // PV clear-sky fraction today
	step       areaAcc // physical flows of the current step, micro-kWh
	today      areaAcc
	truth      ring[areaAcc]
}

// areaAcc accumulates an area's true flows, primary micro-kWh.
type areaAcc struct {
	day                     int32 // days since 1970-01-01 in the zone
	supply, cons, gen, exp  int64
	loss, theft, regErr     int64
	movedIn, movedOut, amEr int64
	net, q                  int64 // step only: Σ customers' net flow and reactive load
}

// meterDay is a customer's truth for a day, micro-kWh (primary).
type meterDay struct {
	day                           int32
	cons, gen, exp, theft, regNet int64
}

// stepTruth is a customer's truth for the current step, micro-kWh.
type stepTruth struct {
	load, pv, theft, regP int64
}

// stepCtx is what all meters share in a step.
type stepCtx struct {
	t0, mid  time.Time
	day      int64 // days since start
	yday     int
	weekend  bool
	shape    [3]float64
	season   [3]float64
	clear    float64
	zoneOff  int64 // seconds
	interval int   // ring slot count
}

// New builds a fleet from a config; the fleet starts at cfg.Start.
func New(cfg Config) (*Fleet, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	f := &Fleet{Name: cfg.Name, Seed: cfg.Seed, cfg: cfg, zone: cfg.Zone, start: cfg.Start, t0: cfg.Start,
		byAddr: map[string]*Meter{}, areaByID: map[string]*Area{}}
	for i := range f.tou {
		t := time.Duration(i) * time.Minute
		for _, p := range cfg.TOU {
			if p.Start <= t {
				f.tou[i] = uint8(p.Tariff - 1)
			}
		}
	}
	ret := cfg.Retention
	for _, ac := range cfg.Areas {
		a := &Area{ID: ac.ID, Name: ac.Name, Feeder: ac.Feeder, VoltageLevel: ac.VoltageLevel,
			TechLossPct: ac.TechLossPct, Concentrator: ac.Concentrator, h: strHash(cfg.Seed, "area/"+ac.ID)}
		a.truth.max = int32(ret.TruthDays)
		a.today.day = f.dayNum(cfg.Start)
		f.areas = append(f.areas, a)
		f.areaByID[a.ID] = a
	}
	for i, ac := range cfg.Areas {
		a := f.areas[i]
		for _, mc := range ac.Customers {
			a.Customers = append(a.Customers, f.newMeter(mc, RoleCustomer, a))
		}
		a.Meter = f.newMeter(ac.AreaMeter, RoleArea, a)
		f.calibrate(a)
	}
	f.applyEvents(time.Time{}, f.t0)
	f.prepare()
	return f, nil
}

func (f *Fleet) newMeter(mc MeterConfig, role Role, a *Area) *Meter {
	m := &Meter{Address: mc.Address, Edition: mc.Edition, Role: role, Class: mc.Class, Phases: mc.Phases,
		CT: mc.CT, PT: mc.PT, DailyKWh: mc.DailyKWh, PVKW: mc.PVKW, Area: a, Faults: mc.Faults,
		f: f, h: strHash(f.Seed, mc.Address), phys: a}
	r := func(n uint64) float64 { return unit(hash3(m.h, sParam, n)) }
	cp := classParams[m.Class]
	if role == RoleArea {
		m.Class = 0
		m.DailyKWh = 0
		for _, c := range a.Customers {
			m.DailyKWh += c.DailyKWh
		}
		m.pfBase = 0.92
	} else {
		if m.DailyKWh == 0 {
			m.DailyKWh = cp.minKWh + (cp.maxKWh-cp.minKWh)*r(1)
		}
		m.pfBase = cp.minPF + (cp.maxPF-cp.minPF)*r(2)
		m.battLow = r(3) < 0.01
	}
	if m.Phases == 3 {
		var s float64
		for p := range m.share {
			m.share[p] = 1 + 0.18*(r(uint64(10+p))-0.5)
			s += m.share[p]
		}
		for p := range m.share {
			m.share[p] /= s
		}
	} else {
		m.share[0] = 1
	}
	m.drift = r(4) - 0.5           // ±0.5 s/day
	m.clockOff = 20 * (r(5) - 0.5) // ±10 s
	m.vOff = 6 * r(6)
	// initial registers: some years of service
	days := 200 + 1500*r(7)
	mult := float64(m.CT * m.PT)
	total := m.DailyKWh * days / mult * 1e6
	for i, s := range [4]float64{0.10, 0.35, 0.30, 0.25} {
		m.fwd[i] = int64(math.Round(total * s))
	}
	m.q[0] = int64(math.Round(total * 0.3))
	if m.PVKW > 0 {
		m.rev[1] = int64(math.Round(m.PVKW * 1.2 * days / mult * 1e6 * 0.6))
		m.rev[2] = int64(math.Round(m.PVKW * 1.2 * days / mult * 1e6 * 0.4))
	}
	ret := f.cfg.Retention
	m.daily.max = int32(ret.Daily)
	m.hourly.max = int32(ret.Hourly)
	m.settle.max = int32(ret.Settlements)
	m.profile.max = int32(ret.ProfileDays * StepsPerDay)
	m.truth.max = int32(ret.TruthDays)
	m.intervals.max = int32(ret.TruthIntervals)
	m.today.day = f.dayNum(f.t0)
	f.meters = append(f.meters, m)
	f.byAddr[m.Address] = m
	return m
}

// calibrate sets the area's loss coefficients so that on a typical day
// (spring, weekday, average weather) the technical loss is TechLossPct of
// supply: 30 % of it fixed (no-load) and 70 % proportional to the square of
// the net load.
func (f *Fleet) calibrate(a *Area) {
	var sumAbs, sumSq, peak float64
	for s := 0; s < StepsPerDay; s++ {
		tod := time.Duration(s)*Step + Step/2
		var net float64
		for _, c := range a.Customers {
			net += c.DailyKWh / float64(StepsPerDay) * shapeAt(c.Class, tod) * seasonFactor(c.Class, 100)
			net -= c.PVKW * 0.25 * clearSky(100, tod) * 0.75 // mean cloud factor
		}
		sumAbs += math.Abs(net)
		sumSq += net * net
		peak = max(peak, math.Abs(net))
	}
	p := a.TechLossPct / 100
	target := p / (1 - p) * sumAbs
	a.lossA = 0.3 * target / float64(StepsPerDay)
	if sumSq > 0 {
		a.lossB = 0.7 * target / sumSq
	}
	a.refPeak = max(peak, 1e-6)
}

// Meter returns the meter with a 12-digit address, or nil.
func (f *Fleet) Meter(addr string) *Meter { return f.byAddr[addr] }

// Meters returns all meters: per area its customers then its area meter,
// areas in config order.
func (f *Fleet) Meters() []*Meter { return f.meters }

// Areas returns the areas in config order.
func (f *Fleet) Areas() []*Area { return f.areas }

// Area returns the area with an ID, or nil.
func (f *Fleet) Area(id string) *Area { return f.areaByID[id] }

// Zone is the zone of simulated timestamps.
func (f *Fleet) Zone() *time.Location { return f.zone }

// Start is the first simulated instant.
func (f *Fleet) Start() time.Time { return f.start }

// Now is the start of the current step: the simulated time up to which all
// state is integrated.
func (f *Fleet) Now() time.Time {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.t0
}

// Frequency is the grid frequency during the current step, 0.01 Hz.
func (f *Fleet) Frequency() int64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return int64(f.freq)
}

func (f *Fleet) elapsed(t time.Time) time.Duration {
	return min(max(t.Sub(f.t0), 0), Step)
}

func (f *Fleet) dayNum(t time.Time) int32 {
	t = t.In(f.zone)
	_, off := t.Zone()
	return int32(math.Floor(float64(t.Unix()+int64(off)) / 86400))
}

// AdvanceTo integrates the fleet up to simulated instant t in 15-minute
// steps. Afterwards t lies inside the current step, where readers see
// interpolated registers. Advancing backwards does nothing.
func (f *Fleet) AdvanceTo(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for !t.Before(f.t0.Add(Step)) {
		f.commit()
		prev := f.t0
		f.t0 = f.t0.Add(Step)
		f.k++
		f.applyEvents(prev, f.t0)
		f.closeDay()
		f.prepare()
	}
}

// prepare computes every meter's energy and instantaneous values for the
// step [t0, t0+Step).
func (f *Fleet) prepare() {
	c := &f.ctx
	c.t0 = f.t0
	c.mid = f.t0.Add(Step / 2).In(f.zone)
	_, off := c.mid.Zone()
	c.zoneOff = int64(off)
	midnight := time.Date(c.mid.Year(), c.mid.Month(), c.mid.Day(), 0, 0, 0, 0, f.zone)
	tod := c.mid.Sub(midnight)
	c.day = int64(f.dayNum(c.mid)) - int64(f.dayNum(f.start))
	c.yday = c.mid.YearDay()
	c.weekend = weekend(c.mid)
	for cl := range c.shape {
		c.shape[cl] = shapeAt(Class(cl), tod)
		c.season[cl] = seasonFactor(Class(cl), c.yday)
		if c.weekend {
			c.season[cl] *= classParams[cl].weekend
		}
	}
	c.clear = clearSky(c.yday, tod)
	f.freq = int32(5000 + math.Round(3*gauss(hash3(uint64(f.Seed), sFreq, uint64(f.k)))))
	for _, a := range f.areas {
		a.step = areaAcc{}
		a.cloud = 0.25 + 0.75*math.Sqrt(unit(hash3(a.h, sWeather, uint64(c.day))))
	}
	for _, m := range f.meters {
		if m.Role == RoleCustomer {
			f.prepareCustomer(m)
		}
	}
	for _, a := range f.areas {
		f.prepareArea(a)
	}
	for _, m := range f.meters {
		f.instant(m)
	}
}

func (f *Fleet) stepState(m *Meter) {
	t := f.t0
	st := faultState{battLow: m.battLow}
	m.phys = m.Area
	rate := m.drift
	for _, ft := range m.Faults {
		if !ft.activeAt(t) {
			continue
		}
		switch ft.Kind {
		case FaultTheft:
			st.theft = max(st.theft, ft.Fraction)
		case FaultStopped:
			st.stopped = true
		case FaultReverseWiring:
			st.reverse = true
		case FaultPhaseLoss:
			st.phaseLoss[ft.Phase] = true
		case FaultBatteryLow:
			st.battLow = true
		case FaultClockDrift:
			rate += ft.DriftPerDay
		case FaultMoved:
			m.phys = f.areaByID[ft.Area]
		}
	}
	m.state = st
	m.rate = rate / 86400
	// tariff by the meter clock at the middle of the step
	mc := f.t0.Unix() + int64(Step/2/time.Second) + int64(math.Floor(m.clockOff+m.rate*Step.Seconds()/2)) + f.ctx.zoneOff
	m.inc = stepInc{tariff: f.tou[((mc/60)%1440+1440)%1440]}
}

func (f *Fleet) prepareCustomer(m *Meter) {
	c := &f.ctx
	f.stepState(m)
	cp := classParams[m.Class]
	var load, pv float64
	if !m.relayOpen {
		dayFac := max(1+cp.dayNoise*gauss(hash3(m.h, sDay, uint64(c.day))), 0.3)
		noise := max(1+cp.noise*gauss(hash3(m.h, sStep, uint64(f.k))), 0.05)
		load = m.DailyKWh / float64(StepsPerDay) * c.shape[m.Class] * c.season[m.Class] * dayFac * noise
		if m.PVKW > 0 && c.clear > 0 {
			pv = m.PVKW * 0.25 * c.clear * m.Area.cloud * (1 + 0.05*gauss(hash3(m.h, sPV, uint64(f.k))))
		}
	}
	L := int64(math.Round(load * 1e6))
	P := int64(math.Round(pv * 1e6))
	net := L - P
	var theft int64
	if net > 0 && m.state.theft > 0 {
		theft = int64(math.Round(float64(net) * m.state.theft))
	}
	ql := int64(math.Round(float64(L) * math.Tan(math.Acos(m.pfBase+0.01*(unit(hash3(m.h, sInst, uint64(f.k)))-0.5)))))
	qm := ql
	if net > 0 {
		qm = ql * (net - theft) / net
	}
	regP := m.register(net-theft, qm)
	m.st = stepTruth{load: L, pv: P, theft: theft, regP: regP}
	a := m.phys
	a.step.net += net
	a.step.q += ql
	a.step.cons += L
	a.step.gen += P
	a.step.exp += max(-net, 0)
	a.step.theft += theft
	a.step.regErr += net - theft - regP
	if a != m.Area {
		a.step.movedIn += regP
		m.Area.step.movedOut += regP
	}
}

// register turns the flow the meter's terminals see (primary micro-kWh,
// signed, and reactive micro-kvarh) into register increments, applying the
// meter's physical faults. It returns the registered primary energy.
func (m *Meter) register(flow, q int64) int64 {
	st := &m.state
	m.inc.fwd, m.inc.rev, m.inc.q = 0, 0, 0
	m.inc.meas, m.inc.measQ = flow, q
	var lost float64
	for p, l := range st.phaseLoss {
		if l && p < m.Phases {
			lost += m.share[p]
		}
	}
	if lost > 0 {
		flow -= int64(math.Round(float64(flow) * lost))
		q -= int64(math.Round(float64(q) * lost))
	}
	if st.stopped {
		flow, q = 0, 0
	}
	if st.reverse {
		flow, q = -flow, -q
	}
	mult := int64(m.CT * m.PT)
	sec, qs := flow/mult, q/mult
	switch {
	case sec >= 0 && qs >= 0:
		m.inc.quad = 0
	case sec < 0 && qs >= 0:
		m.inc.quad = 1
	case sec < 0:
		m.inc.quad = 2
	default:
		m.inc.quad = 3
	}
	if sec >= 0 {
		m.inc.fwd = sec
	} else {
		m.inc.rev = -sec
	}
	m.inc.q = max(qs, -qs)
	return sec * mult
}

func (f *Fleet) prepareArea(a *Area) {
	m := a.Meter
	f.stepState(m)
	netKWh := float64(a.step.net) / 1e6
	loss := int64(math.Round((a.lossA + a.lossB*netKWh*netKWh) * 1e6))
	supply := a.step.net + loss
	a.loadFactor = math.Abs(netKWh) / a.refPeak
	regP := m.register(supply, a.step.q)
	m.inc.meas, m.inc.measQ = supply, a.step.q
	a.step.loss = loss
	a.step.supply = supply
	a.step.amEr = regP - supply
}

// instant sets a meter's instantaneous values for the current step.
func (f *Fleet) instant(m *Meter) {
	mult := float64(m.CT * m.PT)
	// power the terminals see (after theft, before meter faults), secondary kW
	pSec := float64(m.inc.meas) / 1e6 * 4 / mult
	qSec := float64(m.inc.measQ) / 1e6 * 4 / mult
	vBase := 231 - 9*m.phys.loadFactor - m.vOff
	if m.Role == RoleArea {
		vBase = 233 - 4*m.Area.loadFactor
	}
	st := &m.state
	hi := hash3(m.h, sInst, uint64(f.k)+1<<40)
	var in inst
	var pt, qt float64
	for p := 0; p < m.Phases; p++ {
		pp, qp := pSec*m.share[p], qSec*m.share[p]
		v := vBase + 0.6*gauss(mix(hi+uint64(p)))
		vs := v
		if st.phaseLoss[p] {
			vs = 0.8 * gauss(hi^uint64(p))
			vs = max(vs, 0)
		}
		s := math.Hypot(pp, qp)
		cur := s * 1000 / v // A
		if pp < 0 {
			cur = -cur
		}
		dp, dq := pp, qp
		if st.stopped || st.phaseLoss[p] {
			dp, dq = 0, 0
		}
		if st.reverse {
			dp, dq, cur = -dp, -dq, -cur
		}
		in.v[p] = uint16(math.Round(vs * 10))
		in.i[p] = int32(math.Round(cur * 1000))
		in.p[p] = int32(math.Round(dp * 1e4))
		pt += dp
		qt += dq
	}
	in.qt = int32(math.Round(qt * 1e4))
	if s := math.Hypot(pt, qt); s > 1e-9 {
		in.pf = int16(math.Round(math.Abs(pt) / s * 1000))
		if pt < 0 {
			in.pf = -in.pf
		}
	} else {
		in.pf = 1000
	}
	m.inst = in
}

// commit adds the current step to the registers and takes the freezes,
// demand and profile records that fall inside it.
func (f *Fleet) commit() {
	for _, m := range f.meters {
		f.commitMeter(m)
	}
	for _, a := range f.areas {
		s := &a.step
		t := &a.today
		t.supply += s.supply
		t.cons += s.cons
		t.gen += s.gen
		t.exp += s.exp
		t.loss += s.loss
		t.theft += s.theft
		t.regErr += s.regErr
		t.movedIn += s.movedIn
		t.movedOut += s.movedOut
		t.amEr += s.amEr
	}
}

func (f *Fleet) commitMeter(m *Meter) {
	t0 := f.t0
	c0 := m.clockAt(t0, 0)
	c1 := m.clockAt(t0, Step)
	span := c1.Sub(c0)
	at := func(b time.Time) time.Duration { // elapsed when the meter clock reads b
		if span <= 0 {
			return Step
		}
		return time.Duration(float64(b.Sub(c0)) / float64(span) * float64(Step))
	}
	// demand of the interval ending now
	if d := m.inc.fwd / 25; d > m.maxDemand {
		m.maxDemand = d
		m.maxDemandAt = toStamp(c1.Add(30 * time.Second))
	}
	lc1 := c1.In(f.zone)
	hour := time.Date(lc1.Year(), lc1.Month(), lc1.Day(), lc1.Hour(), 0, 0, 0, f.zone)
	if hour.After(c0) {
		fwd, rev, _ := m.accAt(at(hour))
		var s int64
		var r int64
		for i := range fwd {
			s += fwd[i]
			r += rev[i]
		}
		m.hourly.push(hourRec{at: toStamp(hour), fwd: uint32(reg(s)), rev: uint32(reg(r))})
		if hour.Hour() == 0 {
			m.daily.push(m.freezeAt(hour, at(hour)))
		}
	}
	sd := f.cfg.Settlement
	set := time.Date(lc1.Year(), lc1.Month(), sd.Day, sd.Hour, 0, 0, 0, f.zone)
	if set.After(c0) && !set.After(c1) {
		m.settle.push(m.freezeAt(set, at(set)))
		m.maxDemand, m.maxDemandAt = 0, 0
	}
	m.fwd[m.inc.tariff] += m.inc.fwd
	m.rev[m.inc.tariff] += m.inc.rev
	m.q[m.inc.quad] += m.inc.q
	m.clockOff += m.rate * Step.Seconds()
	if m.profile.max > 0 {
		r := regs(&m.fwd)
		rv := regs(&m.rev)
		var p int32
		for _, x := range m.inst.p {
			p += x
		}
		m.profile.push(profRec{at: toStamp(c1.Add(30 * time.Second)), fwd: uint32(r[0]), rev: uint32(rv[0]), p: p, v: m.inst.v[0], pf: m.inst.pf})
	}
	if m.Role == RoleCustomer {
		s := m.st
		net := s.load - s.pv
		m.today.cons += s.load
		m.today.gen += s.pv
		m.today.exp += max(-net, 0)
		m.today.theft += s.theft
		m.today.regNet += s.regP
		if m.intervals.max > 0 {
			m.intervals.push(float32(float64(s.load) / 1e6))
		}
	}
}

func (m *Meter) freezeAt(at time.Time, e time.Duration) freezeRec {
	fwd, rev, q := m.accAt(e)
	r := freezeRec{at: toStamp(at), md: uint32(m.maxDemand), mdAt: m.maxDemandAt}
	rf, rr := regs(&fwd), regs(&rev)
	for i := range rf {
		r.fwd[i] = uint32(rf[i])
		r.rev[i] = uint32(rr[i])
	}
	for i := range q {
		r.q[i] = uint32(reg(q[i]))
	}
	return r
}

// applyEvents applies one-off faults whose time lies in (prev, now]; a zero
// prev means since ever.
func (f *Fleet) applyEvents(prev, now time.Time) {
	for _, m := range f.meters {
		for _, ft := range m.Faults {
			if ft.Start.After(now) || (!prev.IsZero() && !ft.Start.After(prev)) {
				continue
			}
			switch ft.Kind {
			case FaultJump, FaultBackwards:
				amt := ft.Amount * 10_000
				if ft.Kind == FaultJump {
					m.fwd[m.inc.tariff] += amt
				} else {
					// take it from the current tariff first, never below 0
					taken := int64(0)
					for j := range m.fwd {
						i := (int(m.inc.tariff) + j) % 4
						d := min(amt-taken, m.fwd[i])
						m.fwd[i] -= d
						taken += d
					}
					amt = -taken
				}
				if prev.IsZero() {
					break // before the simulation: already in the start reading
				}
				mult := int64(m.CT * m.PT)
				if m.Role == RoleArea {
					m.Area.today.amEr += amt * mult
				} else {
					m.phys.today.regErr -= amt * mult
					m.today.regNet += amt * mult
					if m.phys != m.Area {
						m.phys.today.movedIn += amt * mult
						m.Area.today.movedOut += amt * mult
					}
				}
			case FaultCoverOpen:
				m.coverTimes[m.coverCount%10] = m.clockAt(f.t0, 0).Add(ft.Start.Sub(now)).Unix()
				m.coverCount++
			case FaultPhaseLoss:
				m.phaseLoss++
			}
		}
	}
}

// closeDay closes the ground-truth day when the current step starts at a
// new day.
func (f *Fleet) closeDay() {
	d := f.dayNum(f.t0)
	for _, a := range f.areas {
		if a.today.day != d {
			a.truth.push(a.today)
			a.today = areaAcc{day: d}
		}
	}
	for _, m := range f.meters {
		if m.today.day != d {
			m.truth.push(m.today)
			m.today = meterDay{day: d}
		}
	}
}

func (a *Area) String() string { return fmt.Sprintf("area %s", a.ID) }
