package model_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/headend/headend/sim/model"
)

var z = model.DefaultZone
var t0 = time.Date(2025, 3, 1, 0, 0, 0, 0, z)

func day(n int) time.Time { return t0.AddDate(0, 0, n) }

// testConfig: two areas; A has 6 customers (one 3-phase commercial with
// CT 5, two with PV), B has 4. Faults are added by the tests.
func testConfig() model.Config {
	cust := func(prefix string, n int) []model.MeterConfig {
		var out []model.MeterConfig
		for i := 1; i <= n; i++ {
			out = append(out, model.MeterConfig{Address: fmt.Sprintf("%s%06d", prefix, i)})
		}
		return out
	}
	a := model.AreaConfig{ID: "A", Feeder: "F1", TechLossPct: 4, Customers: cust("000001", 6),
		AreaMeter: model.MeterConfig{Address: "000001000000", CT: 10}}
	a.Customers[1].PVKW = 5
	a.Customers[2].PVKW = 3
	a.Customers[5].Class = model.Commercial
	a.Customers[5].Phases = 3
	a.Customers[5].CT = 5
	b := model.AreaConfig{ID: "B", Feeder: "F1", TechLossPct: 6, Customers: cust("000002", 4),
		AreaMeter: model.MeterConfig{Address: "000002000000", CT: 5}}
	return model.Config{Name: "test", Seed: 1, Start: t0, Areas: []model.AreaConfig{a, b}}
}

func mustNew(t testing.TB, c model.Config) *model.Fleet {
	t.Helper()
	f, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func addFault(c *model.Config, addr string, ft model.Fault) {
	for i := range c.Areas {
		if c.Areas[i].AreaMeter.Address == addr {
			c.Areas[i].AreaMeter.Faults = append(c.Areas[i].AreaMeter.Faults, ft)
			return
		}
		for j := range c.Areas[i].Customers {
			if c.Areas[i].Customers[j].Address == addr {
				c.Areas[i].Customers[j].Faults = append(c.Areas[i].Customers[j].Faults, ft)
				return
			}
		}
	}
	panic("no meter " + addr)
}

// snapshot serialises all registers at t plus the ground truth.
func snapshot(t *testing.T, f *model.Fleet, at time.Time) []byte {
	var buf bytes.Buffer
	for _, m := range f.Meters() {
		b, err := json.Marshal(struct {
			R  model.Registers
			D  []model.Freeze
			H  []model.Freeze
			P  []model.ProfileRecord
			Ev model.Events
		}{m.Registers(at), m.DailyFreezes(), m.HourlyFreezes(), m.LoadProfile(time.Time{}, 0), m.Events()})
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
	}
	if err := f.WriteTruth(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func faultyConfig() model.Config {
	c := testConfig()
	addFault(&c, "000001000001", model.Fault{Kind: model.FaultTheft, Start: day(1), Fraction: 0.5})
	addFault(&c, "000002000002", model.Fault{Kind: model.FaultStopped, Start: day(1).Add(6 * time.Hour)})
	addFault(&c, "000001000004", model.Fault{Kind: model.FaultMoved, Start: day(2), Area: "B"})
	addFault(&c, "000001000005", model.Fault{Kind: model.FaultJump, Start: day(2).Add(3 * time.Hour), Amount: 12345})
	addFault(&c, "000002000003", model.Fault{Kind: model.FaultBackwards, Start: day(3).Add(3 * time.Hour), Amount: 500})
	addFault(&c, "000002000004", model.Fault{Kind: model.FaultReverseWiring, Start: day(1)})
	addFault(&c, "000001000006", model.Fault{Kind: model.FaultPhaseLoss, Start: day(2).Add(9 * time.Hour), End: day(3), Phase: 1})
	addFault(&c, "000001000003", model.Fault{Kind: model.FaultClockDrift, Start: day(0), DriftPerDay: 600})
	addFault(&c, "000001000002", model.Fault{Kind: model.FaultCoverOpen, Start: day(1).Add(14*time.Hour + 23*time.Minute + 7*time.Second)})
	addFault(&c, "000001000002", model.Fault{Kind: model.WireSlow, Start: day(1), End: day(2), Delay: time.Second})
	addFault(&c, "000001000002", model.Fault{Kind: model.WireNoAnswer, Start: day(3)})
	return c
}

func TestDeterministic(t *testing.T) {
	run := func(seed int64) []byte {
		c := faultyConfig()
		c.Seed = seed
		f := mustNew(t, c)
		var out []byte
		for _, at := range []time.Time{day(0).Add(7 * time.Minute), day(1).Add(13*time.Hour + 2*time.Second), day(5).Add(time.Hour)} {
			f.AdvanceTo(at)
			out = append(out, snapshot(t, f, at)...)
		}
		return out
	}
	a, b := run(1), run(1)
	if !bytes.Equal(a, b) {
		t.Fatal("same seed and config gave different registers or ground truth")
	}
	if bytes.Equal(a, run(2)) {
		t.Fatal("a different seed gave identical output")
	}
}

// healthy: no fault touches the registers.
func healthy(m *model.Meter) bool {
	for _, ft := range m.Faults {
		if !ft.Kind.IsWire() && ft.Kind != model.FaultClockDrift && ft.Kind != model.FaultCoverOpen && ft.Kind != model.FaultTheft && ft.Kind != model.FaultMoved {
			return false
		}
	}
	return true
}

// Energy registers of healthy meters never decrease over several days, at
// step boundaries and inside steps, and a class total and its tariffs obey
// 0 <= total − Σ tariffs <= 3 (0.01 kWh): each register is floor(acc/10⁴)
// of its own accumulator and the total's accumulator is the sum of the four.
func TestMonotonicAndTariffSum(t *testing.T) {
	f := mustNew(t, faultyConfig())
	prev := map[string]model.Registers{}
	var checked int
	for at := t0; at.Before(day(5)); at = at.Add(model.Step / 3) {
		f.AdvanceTo(at)
		for _, m := range f.Meters() {
			r := m.Registers(at)
			for _, cls := range [][5]int64{r.Forward, r.Reverse} {
				d := cls[0] - (cls[1] + cls[2] + cls[3] + cls[4])
				if d < 0 || d > 3 {
					t.Fatalf("%s at %v: total %d − Σ tariffs = %d", m.Address, at, cls[0], d)
				}
			}
			if p, ok := prev[m.Address]; ok && healthy(m) {
				for i := range 5 {
					if r.Forward[i] < p.Forward[i] || r.Reverse[i] < p.Reverse[i] {
						t.Fatalf("%s: register %d went down at %v: %d → %d", m.Address, i, at, p.Forward[i], r.Forward[i])
					}
				}
				for i := range 4 {
					if r.ReactiveQ[i] < p.ReactiveQ[i] {
						t.Fatalf("%s: reactive Q%d went down at %v", m.Address, i+1, at)
					}
				}
				checked++
			}
			prev[m.Address] = r
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d checks", checked)
	}
}

func TestDailyFreezes(t *testing.T) {
	c := testConfig()
	addFault(&c, "000001000003", model.Fault{Kind: model.FaultClockDrift, Start: t0, DriftPerDay: 300})
	f := mustNew(t, c)
	f.AdvanceTo(day(70).Add(5 * time.Hour))
	for _, m := range f.Meters() {
		fr := m.DailyFreezes()
		if len(fr) != 62 {
			t.Fatalf("%s: %d daily freezes, want the last 62", m.Address, len(fr))
		}
		for i, x := range fr {
			if x.Time.Hour() != 0 || x.Time.Minute() != 0 || x.Time.Location() != z {
				t.Fatalf("%s: freeze %d stamped %v, not 00:00 of the meter clock", m.Address, i, x.Time)
			}
			if i > 0 && !fr[i-1].Time.Equal(x.Time.AddDate(0, 0, 1)) {
				t.Fatalf("%s: freezes %v and %v not a day apart", m.Address, fr[i-1].Time, x.Time)
			}
			if i > 0 && healthy(m) && fr[i-1].Forward[0] < x.Forward[0] {
				t.Fatalf("%s: frozen forward energy went down", m.Address)
			}
		}
		// the newest is today's 00:00 of the meter's clock
		mc := m.Clock(f.Now())
		want := time.Date(mc.Year(), mc.Month(), mc.Day(), 0, 0, 0, 0, z)
		if !fr[0].Time.Equal(want) {
			t.Fatalf("%s: newest freeze %v, want %v", m.Address, fr[0].Time, want)
		}
		if h := m.HourlyFreezes(); len(h) != 254 || h[0].Time.Minute() != 0 {
			t.Fatalf("%s: %d hourly freezes", m.Address, len(h))
		}
		if p := m.LoadProfile(time.Time{}, 0); len(p) != 7*96 {
			t.Fatalf("%s: %d profile records", m.Address, len(p))
		}
		if s := m.Settlements(); len(s) < 2 || len(s) > 3 || s[0].Time.Month() != time.May || s[0].Time.Day() != 1 || s[0].Time.Hour() != 0 {
			// 2 (Apr 1, May 1), or 3 if the meter's clock was behind at
			// the start and crossed Mar 1 00:00 in the first step
			t.Fatalf("%s: settlements %v", m.Address, s)
		}
	}
	// a drifting meter freezes at its own midnight: 300 s/day × 70 days ≈ 5.8 h early
	m := f.Meter("000001000003")
	if d := m.Clock(f.Now()).Sub(f.Now()); d < 5*time.Hour || d > 7*time.Hour {
		t.Fatalf("drift after 70 days %v", d)
	}
	// the freeze value is the register at that instant: between the reads at
	// sim 18:00 and 18:30 the day before (clock ≈ 5.8 h ahead)
	fr := m.DailyFreezes()[0]
	if fr.Forward[0] <= m.DailyFreezes()[1].Forward[0] {
		t.Fatal("no energy between freezes")
	}
}

// readAll reads every meter at t (which must be inside the current step).
func readAll(f *model.Fleet, at time.Time) map[string]model.Registers {
	out := map[string]model.Registers{}
	for _, m := range f.Meters() {
		out[m.Address] = m.Registers(at)
	}
	return out
}

func delta(a, b int64) int64 { // register difference with rollover
	d := b - a
	if d < -model.RegisterModulus/2 {
		d += model.RegisterModulus
	}
	return d
}

// Per day and per area, supply − sales computed from the registers the way
// a head-end does (archive relations, multipliers) equals the ground
// truth's expected loss: tech loss + theft + register errors + moved-in −
// moved-out + area meter error. Rounding: each register difference is off
// by < 0.01 kWh × its multiplier, and forward and reverse are two
// registers, so the tolerance is Σ 2 × 0.01 kWh × multiplier over the area
// meter and the customers involved.
func TestAreaBalance(t *testing.T) {
	c := faultyConfig()
	f := mustNew(t, c)
	const days = 5
	reads := []map[string]model.Registers{readAll(f, t0)}
	for d := 1; d <= days; d++ {
		f.AdvanceTo(day(d))
		reads = append(reads, readAll(f, day(d)))
	}
	g := f.Truth(model.TruthOptions{})
	for _, a := range f.Areas() {
		var at model.AreaTruth
		for _, x := range g.Areas {
			if x.ID == a.ID {
				at = x
			}
		}
		if len(at.Days) != days+1 {
			t.Fatalf("area %s: %d truth days", a.ID, len(at.Days))
		}
		check := func(from, to int) {
			var exp, tol float64
			for _, d := range at.Days[from:to] {
				exp += d.ExpectedLoss
			}
			am := a.Meter
			mult := float64(am.CT * am.PT)
			r0, r1 := reads[from][am.Address], reads[to][am.Address]
			supply := float64(delta(r0.Forward[0], r1.Forward[0])-delta(r0.Reverse[0], r1.Reverse[0])) / 100 * mult
			tol += 0.02 * mult
			var sales float64
			for _, m := range a.Customers {
				cm := float64(m.CT * m.PT)
				r0, r1 := reads[from][m.Address], reads[to][m.Address]
				sales += float64(delta(r0.Forward[0], r1.Forward[0])-delta(r0.Reverse[0], r1.Reverse[0])) / 100 * cm
				tol += 0.02 * cm
			}
			got := supply - sales
			if math.Abs(got-exp) > tol+1e-6 {
				t.Errorf("area %s days %d..%d: supply − sales = %.4f kWh, truth says %.4f (tolerance %.2f)", a.ID, from, to, got, exp, tol)
			} else {
				t.Logf("area %s days %d..%d: supply − sales = %.4f kWh, truth %.4f (±%.2f)", a.ID, from, to, got, exp, tol)
			}
		}
		for d := 0; d < days; d++ {
			check(d, d+1)
		}
		check(0, days)
		// without faults the expected loss is just technical loss
		d0 := at.Days[0]
		if d0.ExpectedLoss-d0.TechLoss > 0.01 || d0.TechLoss <= 0 {
			t.Errorf("area %s day 0: expected %.3f, tech loss %.3f", a.ID, d0.ExpectedLoss, d0.TechLoss)
		}
	}
	// the faults show in the truth where they should
	ga, gb := g.Areas[0], g.Areas[1]
	if ga.Days[1].Theft <= 0 || gb.Days[1].Theft != 0 {
		t.Errorf("theft: A %.3f B %.3f", ga.Days[1].Theft, gb.Days[1].Theft)
	}
	if gb.Days[2].MovedIn <= 0 || ga.Days[2].MovedOut != gb.Days[2].MovedIn || ga.Days[1].MovedOut != 0 {
		t.Errorf("moved: in %.3f out %.3f", gb.Days[2].MovedIn, ga.Days[2].MovedOut)
	}
	if gb.Days[1].RegisterError <= 0 { // stopped + reverse wiring
		t.Errorf("register error in B: %.3f", gb.Days[1].RegisterError)
	}
	// day 2 in A: a jump of +123.45 kWh (registered, not consumed) and
	// phase B loss on the commercial meter (consumed, not registered)
	if r := ga.Days[2].RegisterError; r > -90 || r < -123.46 {
		t.Errorf("A day 2 register error %.3f", r)
	}
}

// The technical loss averages to the configured percentage.
func TestTechLossRate(t *testing.T) {
	f := mustNew(t, testConfig())
	f.AdvanceTo(day(28))
	for _, a := range f.Truth(model.TruthOptions{}).Areas {
		var loss, supply float64
		for _, d := range a.Days {
			loss += d.TechLoss
			supply += d.Supply
		}
		rate := loss / supply * 100
		if math.Abs(rate-a.TechLossPct) > 0.25*a.TechLossPct {
			t.Errorf("area %s: tech loss %.2f %% over 4 weeks, configured %.2f %%", a.ID, rate, a.TechLossPct)
		}
		t.Logf("area %s: tech loss %.2f %% (configured %.1f %%)", a.ID, rate, a.TechLossPct)
	}
}

func TestFaultsInRegisters(t *testing.T) {
	f := mustNew(t, faultyConfig())
	at := func(d time.Time) map[string]model.Registers { f.AdvanceTo(d); return readAll(f, d) }
	r1 := at(day(1).Add(7 * time.Hour))
	r2 := at(day(1).Add(19 * time.Hour))

	// stopped (B#2 from day 1 06:00): no advance while current flows
	s1, s2 := r1["000002000002"], r2["000002000002"]
	if s1.Forward != s2.Forward || s2.Current[0] <= 0 || s2.Power[0] != 0 {
		t.Errorf("stopped: %v → %v, current %d, power %d", s1.Forward[0], s2.Forward[0], s2.Current[0], s2.Power[0])
	}
	// reverse wiring (B#4 from day 1): reverse grows, forward stands, power negative
	w1, w2 := r1["000002000004"], r2["000002000004"]
	if w2.Reverse[0] <= w1.Reverse[0] || w2.Forward[0] != w1.Forward[0] || w2.Power[0] >= 0 || !w2.Status.ReversePower || w2.Status.Words()[0]&(1<<4) == 0 {
		t.Errorf("reverse wiring: reverse %d→%d forward %d→%d power %d", w1.Reverse[0], w2.Reverse[0], w1.Forward[0], w2.Forward[0], w2.Power[0])
	}
	// cover opened at day 1 14:23:07
	ev := f.Meter("000001000002").Events()
	if ev.CoverOpenCount != 1 || len(ev.CoverOpenTimes) != 1 || ev.CoverOpenTimes[0].Sub(day(1).Add(14*time.Hour+23*time.Minute)).Abs() > time.Minute {
		t.Errorf("cover open: %+v", ev)
	}
	// wire behaviours
	m := f.Meter("000001000002")
	if b := m.Behaviour(day(1).Add(time.Hour)); b.Delay != time.Second || b.Silent {
		t.Errorf("slow: %+v", b)
	}
	if b := m.Behaviour(day(2).Add(time.Hour)); b != (model.Behaviour{}) {
		t.Errorf("day 2: %+v", b)
	}
	if b := m.Behaviour(day(3)); !b.Silent {
		t.Errorf("no answer: %+v", b)
	}

	// register jump (A#5 +123.45 kWh at day 2 03:00)
	j0 := at(day(2).Add(2*time.Hour + 45*time.Minute))["000001000005"]
	j1 := at(day(2).Add(3 * time.Hour))["000001000005"]
	if d := j1.Forward[0] - j0.Forward[0]; d < 12345 || d > 12345+200 {
		t.Errorf("jump: forward rose %d, want 12345 + a quarter hour's use", d)
	}
	// phase loss (A#6, phase B, day 2 09:00 .. day 3)
	p1 := at(day(2).Add(12 * time.Hour))["000001000006"]
	pm := f.Meter("000001000006")
	if p1.Voltage[1] > 20 || p1.Voltage[0] < 2000 || p1.Current[1] == 0 || p1.Power[2] != 0 || !p1.Status.PhaseLoss[1] || pm.Events().PhaseLossCount != 1 {
		t.Errorf("phase loss: V %v I %v P %v events %+v", p1.Voltage, p1.Current, p1.Power, pm.Events())
	}
	// register backwards (B#3 −5 kWh at day 3 03:00)
	b0 := at(day(3).Add(2*time.Hour + 45*time.Minute))["000002000003"]
	b1 := at(day(3).Add(3 * time.Hour))["000002000003"]
	if d := b1.Forward[0] - b0.Forward[0]; d > -500+200 || d < -500 {
		t.Errorf("backwards: forward moved %d, want about −500", d)
	}
	// clock drift 600 s/day from day 0 → about 40 min after 4 days
	f.AdvanceTo(day(4))
	if d := f.Meter("000001000003").Clock(day(4)).Sub(day(4)); d < 39*time.Minute || d > 41*time.Minute {
		t.Errorf("clock drift: %v after 4 days", d)
	}
	// theft (A#1 half from day 1): registered ≈ half the consumption
	mt := meterTruth(t, f, "000001000001")
	d1 := mt.Days[2]
	if math.Abs(d1.RegisteredNet-(d1.Consumption-d1.Theft)) > 0.01 || math.Abs(d1.Theft-d1.Consumption/2) > 0.01 {
		t.Errorf("theft: %+v", d1)
	}
	// moved meter: physically in B now, archive A
	if mt := meterTruth(t, f, "000001000004"); mt.Area != "A" || mt.PhysicalArea != "B" {
		t.Errorf("moved: %+v", mt)
	}
	if f.Meter("000001000004").PhysicalArea().ID != "B" {
		t.Error("moved: PhysicalArea")
	}
}

func meterTruth(t *testing.T, f *model.Fleet, addr string) model.MeterTruth {
	for _, m := range f.Truth(model.TruthOptions{Meters: true}).Meters {
		if m.Address == addr {
			return m
		}
	}
	t.Fatalf("no truth for %s", addr)
	return model.MeterTruth{}
}

// Registers interpolate inside a step and roll over at 999999.99.
func TestInterpolationAndRollover(t *testing.T) {
	c := testConfig()
	initial := mustNew(t, c).Meter("000001000001").Registers(t0).Forward[0]
	// push A#1 to 100 kWh below rollover before the start
	addFault(&c, "000001000001", model.Fault{Kind: model.FaultJump, Start: t0.Add(-time.Hour), Amount: 99_990_000 - initial})
	f := mustNew(t, c)
	m := f.Meter("000001000001")
	start := m.Registers(t0).Forward[0]
	if start < 99_989_000 || start > 99_990_000 {
		t.Fatalf("start reading %d", start)
	}
	f.AdvanceTo(t0.Add(5 * time.Minute))
	a, b, e := m.Registers(t0.Add(5*time.Minute)), m.Registers(t0.Add(10*time.Minute)), m.Registers(t0.Add(15*time.Minute))
	if !(a.Forward[0] <= b.Forward[0] && b.Forward[0] <= e.Forward[0]) {
		t.Errorf("no interpolation: %d %d %d", a.Forward[0], b.Forward[0], e.Forward[0])
	}
	wrapped := false
	last := start
	for at := t0; at.Before(day(40)); at = at.Add(6 * time.Hour) {
		f.AdvanceTo(at)
		v := m.Registers(at).Forward[0]
		if v < last {
			wrapped = true
			if v > 1_000_000 {
				t.Fatalf("rolled to %d", v)
			}
		}
		last = v
	}
	if !wrapped {
		t.Errorf("no rollover: %d → %d", start, last)
	}
}

func TestSetClockDemandRelay(t *testing.T) {
	f := mustNew(t, testConfig())
	m := f.Meter("000001000001")
	f.AdvanceTo(day(1).Add(5 * time.Minute))
	at := day(1).Add(5 * time.Minute)
	m.SetClock(at, at.Add(10*time.Minute))
	if d := m.Clock(at).Sub(at); d.Round(time.Second) != 10*time.Minute {
		t.Errorf("after SetClock: offset %v", d)
	}
	if ev := m.Events(); ev.ClockSetCount != 1 {
		t.Errorf("clock set count %d", ev.ClockSetCount)
	}
	r := m.Registers(at)
	if r.MaxDemand <= 0 || r.MaxDemandTime.IsZero() {
		t.Errorf("max demand %d at %v", r.MaxDemand, r.MaxDemandTime)
	}
	m.ResetDemand()
	if r := m.Registers(at); r.MaxDemand != 0 {
		t.Errorf("demand not reset")
	}
	m.SetRelay(true)
	f.AdvanceTo(day(1).Add(time.Hour))
	r1 := m.Registers(day(1).Add(time.Hour))
	f.AdvanceTo(day(1).Add(5 * time.Hour))
	r2 := m.Registers(day(1).Add(5 * time.Hour))
	if r1.Forward != r2.Forward || r2.Current[0] != 0 || !r2.Status.RelayOpen {
		t.Errorf("relay open but energy flows: %d → %d", r1.Forward[0], r2.Forward[0])
	}
	if r2.Frequency < 4990 || r2.Frequency > 5010 || r2.Voltage[0] < 2000 || r2.Voltage[0] > 2450 {
		t.Errorf("implausible instantaneous values: %+v", r2)
	}
}

func TestClock(t *testing.T) {
	real := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	now := real
	c := model.NewClock(t0, 1440, func() time.Time { return now })
	if !c.Sim().Equal(t0) {
		t.Fatalf("sim %v", c.Sim())
	}
	now = now.Add(time.Minute)
	if !c.Sim().Equal(t0.Add(24 * time.Hour)) {
		t.Fatalf("a real minute gave %v", c.Sim().Sub(t0))
	}
	if !c.RealAt(t0.Add(12 * time.Hour)).Equal(real.Add(30 * time.Second)) {
		t.Fatal("RealAt")
	}
	var zero model.Clock
	zero.SimStart, zero.RealStart, zero.Now = t0, real, func() time.Time { return real.Add(time.Second) }
	if !zero.Sim().Equal(t0.Add(time.Second)) {
		t.Fatal("zero speed is real time")
	}
}

func TestConfigErrors(t *testing.T) {
	c := testConfig()
	c.Areas[1].Customers[0].Address = c.Areas[0].Customers[0].Address
	c.Areas[0].AreaMeter.CT = -1
	c.Start = t0.Add(time.Minute)
	_, err := model.New(c)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"areas[1].customers[0].address: 000001000001 duplicates areas[0].customers[0]", "areas[0].area_meter.ct_ratio: must be > 0", "start:"} {
		if !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// Readers may read while the fleet advances (run with -race).
func TestConcurrentReads(t *testing.T) {
	f := mustNew(t, faultyConfig())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			for _, m := range f.Meters() {
				now := f.Now()
				_ = m.Registers(now)
				_ = m.DailyFreezes()
				_ = m.Behaviour(now)
			}
		}
	}()
	for d := 1; d <= 3; d++ {
		f.AdvanceTo(day(d))
		_ = f.Truth(model.TruthOptions{Meters: true})
	}
	<-done
}
