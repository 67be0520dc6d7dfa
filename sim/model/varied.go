package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Mix is the customer mix of a generated area.
type Mix string

// Area mixes of a [Varied] fleet.
const (
	MixResidential Mix = "residential" // households, a few shops
	MixCommercial  Mix = "commercial"  // shops and offices, a few households
	MixMixed       Mix = "mixed"       // households, shops and a workshop or two
)

// VariedOptions shape a [Varied] fleet. Zero fields take the defaults.
type VariedOptions struct {
	Seed int64
	// Areas is the number of areas (default 2 to 4, drawn from the seed).
	Areas int
	// MinCustomers and MaxCustomers bound each area's customers (default
	// 20 and 400); sizes are drawn log-uniformly between them.
	MinCustomers, MaxCustomers int
	// Days is how long the evaluation runs (default 30): onsets are
	// drawn so that a theft has 14 days and every other fault 3 days of
	// it left.
	Days int
}

// Variation is a generated fleet and what was planted in it: the
// evaluation's ground truth besides the fleet's own [GroundTruth].
type Variation struct {
	Config  Config
	Areas   []VariedArea
	Planted []Planted
	Days    int
}

// VariedArea says how an area of a Variation was drawn.
type VariedArea struct {
	ID        string
	Mix       Mix
	Customers int
}

// Planted is one planted fault, intermittent meter or dead meter.
type Planted struct {
	Meter string
	Area  string
	Kind  FaultKind // intermittent meters: WireOffline; dead meters: WireNoAnswer
	// Variant tells apart plantings of one kind: "dead" (no answer from
	// the first days, before the meter has history), "intermittent"
	// (single days without an answer), "paired" (a second fault in an
	// area on the same day as another).
	Variant string
	Onset   time.Time // 00:00 of the day it starts
	Day     int       // Onset as days since the fleet's start
	// Fraction is a theft's share of the consumption; Amount a register
	// jump's or decrease's size (0.01 kWh); DailyKWh the meter's mean
	// daily consumption.
	Fraction float64
	Amount   int64
	DailyKWh float64
	// Multiplier is the meter's CT × PT: Amount × Multiplier is primary.
	Multiplier int
}

func (o VariedOptions) withDefaults(rng *rand.Rand) VariedOptions {
	if o.Areas <= 0 {
		o.Areas = 2 + rng.IntN(3)
	}
	if o.MinCustomers <= 0 {
		o.MinCustomers = 20
	}
	if o.MaxCustomers <= 0 {
		o.MaxCustomers = 400
	}
	o.MaxCustomers = max(o.MaxCustomers, o.MinCustomers)
	if o.Days <= 0 {
		o.Days = 30
	}
	return o
}

// Varied generates an evaluation fleet, deterministic from o.Seed: areas
// of 20 to 400 customers, residential, commercial or mixed, with PV and
// 1997 meters in varying shares, starting on a day of the year drawn
// from the seed. It plants, on distinct customers:
//
//   - a theft in every area, 10 to 60 % of the consumption, starting on
//     any day from day 2 (day 3 one time in four) up to 14 days before
//     the end;
//   - one each of stopped, reverse wiring, register jump (3 to 30 times
//     the meter's daily use), register decrease (a third of a day's use to
//     5 days'), clock drift, cover opened, phase loss (on a three-phase
//     meter, when there is one) and no answer, from day 2 to 3 days
//     before the end;
//   - a dead meter (no answer from day 1 to 3, before it has history);
//   - a stopped or dead meter in a thief's area on the theft's onset day
//     (two faults in one area);
//   - intermittent meters, about 2 % of the customers: 3 to 8 single days
//     without an answer.
func Varied(o VariedOptions) (Variation, error) {
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x7661726965640a)) // "varied"
	o = o.withDefaults(rng)
	if o.Days < 20 {
		return Variation{}, fmt.Errorf("varied fleet: %d days are too few (at least 20)", o.Days)
	}
	start := time.Date(2025, 1, 6, 0, 0, 0, 0, DefaultZone).AddDate(0, 0, rng.IntN(330))
	v := Variation{Days: o.Days, Config: Config{Name: fmt.Sprintf("varied-%d", o.Seed), Seed: o.Seed, Start: start, Zone: DefaultZone}}
	mixes := []Mix{MixResidential, MixCommercial, MixMixed}
	for a := range o.Areas {
		lo, hi := math.Log(float64(o.MinCustomers)), math.Log(float64(o.MaxCustomers))
		n := int(math.Round(math.Exp(lo + (hi-lo)*rng.Float64())))
		mix := mixes[rng.IntN(len(mixes))]
		if a < len(mixes) && o.Areas >= len(mixes) {
			mix = mixes[(a+int(o.Seed))%len(mixes)] // every mix when there are areas enough
		}
		ac := variedArea(rng, a, n, mix)
		v.Config.Areas = append(v.Config.Areas, ac)
		v.Areas = append(v.Areas, VariedArea{ID: ac.ID, Mix: mix, Customers: n})
	}
	v.plant(rng)
	return v, nil
}

// variedArea draws area a's customers.
func variedArea(rng *rand.Rand, a, n int, mix Mix) AreaConfig {
	id := fmt.Sprintf("V%02d", a+1)
	pfx := fmt.Sprintf("%06d", 900+a+1)
	pv := 0.3 * rng.Float64()
	old := 0.3 * rng.Float64()
	ac := AreaConfig{ID: id, Name: fmt.Sprintf("%s %s", mix, id), Feeder: fmt.Sprintf("F10-%d", 300+a%2),
		VoltageLevel: "10kV/0.4kV", TechLossPct: 2 + 5*rng.Float64()}
	var total float64
	for k := 1; k <= n; k++ {
		mc := MeterConfig{Address: fmt.Sprintf("%s%06d", pfx, k), Edition: 2007, Phases: 1}
		u := rng.Float64()
		switch mix {
		case MixResidential:
			mc.Class = Residential
			if u < 0.05 {
				mc.Class = Commercial
			}
		case MixCommercial:
			mc.Class = Commercial
			if u < 0.2 {
				mc.Class = Residential
			}
		default:
			switch {
			case u < 0.6:
				mc.Class = Residential
			case u < 0.95:
				mc.Class = Commercial
			default:
				mc.Class = Industrial
			}
		}
		cp := classParams[mc.Class]
		mc.DailyKWh = math.Round((cp.minKWh+(cp.maxKWh-cp.minKWh)*rng.Float64())*10) / 10
		if mc.Class != Residential {
			mc.Phases = 3
		}
		if mc.Class == Industrial {
			mc.CT = 20
		}
		if rng.Float64() < old && mc.Class == Residential {
			mc.Edition = 1997
		}
		if rng.Float64() < pv && mc.Class != Industrial {
			mc.PVKW = math.Round((3+7*rng.Float64())*10) / 10
			if mc.Class == Commercial {
				mc.PVKW *= 3
			}
		}
		total += mc.DailyKWh
		ac.Customers = append(ac.Customers, mc)
	}
	// the area meter's CT: a peak of about 2.5 times the mean load on a
	// 5 A secondary, rounded to a standard ratio
	peakA := total / 24 * 2.5 * 1000 / (3 * 230)
	ct := 20
	for _, r := range []int{20, 30, 40, 60, 80, 100, 120, 160, 200, 240, 300, 400} {
		ct = r
		if float64(r)*5 >= peakA {
			break
		}
	}
	ac.AreaMeter = MeterConfig{Address: pfx + "000000", Edition: 2007, Phases: 3, CT: ct}
	return ac
}

// plant draws the faults of a Variation.
func (v *Variation) plant(rng *rand.Rand) {
	type slot struct{ a, c int }
	used := map[slot]bool{}
	var all []slot
	for a := range v.Config.Areas {
		for c := range v.Config.Areas[a].Customers {
			all = append(all, slot{a, c})
		}
	}
	// pick draws an unused customer that ok accepts (of area a, if a >= 0)
	pick := func(a int, ok func(*MeterConfig) bool) (slot, bool) {
		var from []slot
		for _, s := range all {
			if !used[s] && (a < 0 || s.a == a) && ok(&v.Config.Areas[s.a].Customers[s.c]) {
				from = append(from, s)
			}
		}
		if len(from) == 0 {
			return slot{}, false
		}
		s := from[rng.IntN(len(from))]
		used[s] = true
		return s, true
	}
	anyMeter := func(*MeterConfig) bool { return true }
	plain := func(m *MeterConfig) bool { return m.PVKW == 0 }
	threePhase := func(m *MeterConfig) bool { return m.Phases == 3 }
	start := v.Config.Start
	dayAt := func(d int) time.Time { return start.AddDate(0, 0, d) }
	within := func(d int) time.Time { // a time of day d, on a 15-minute step
		return dayAt(d).Add(time.Duration(rng.IntN(24*4)) * 15 * time.Minute)
	}
	plantAt := func(s slot, f Fault, p Planted) {
		m := &v.Config.Areas[s.a].Customers[s.c]
		m.Faults = append(m.Faults, f)
		p.Meter, p.Area, p.DailyKWh = m.Address, v.Config.Areas[s.a].ID, m.DailyKWh
		p.Multiplier = max(m.CT, 1) * max(m.PT, 1)
		if p.Kind == "" {
			p.Kind = f.Kind
		}
		p.Day = int(f.Start.Sub(start) / (24 * time.Hour))
		p.Onset = dayAt(p.Day)
		if p.Kind == FaultTheft {
			p.Fraction = f.Fraction
		}
		if p.Kind == FaultJump || p.Kind == FaultBackwards {
			p.Amount = f.Amount
		}
		v.Planted = append(v.Planted, p)
	}
	lastTheft := v.Days - 14
	lastFault := v.Days - 3
	// a theft in every area
	type theft struct {
		a, day int
	}
	var thefts []theft
	for a := range v.Config.Areas {
		s, ok := pick(a, plain)
		if !ok {
			continue
		}
		d := 2 + rng.IntN(lastTheft-1)
		if rng.IntN(4) == 0 {
			d = 3
		}
		frac := math.Round((0.1+0.5*rng.Float64())*100) / 100
		plantAt(s, Fault{Kind: FaultTheft, Start: dayAt(d), Fraction: frac}, Planted{})
		thefts = append(thefts, theft{a, d})
	}
	faultDay := func() int { return 2 + rng.IntN(lastFault-1) }
	one := func(ok func(*MeterConfig) bool, f func(m *MeterConfig) Fault) {
		s, found := pick(-1, ok)
		if !found {
			return
		}
		plantAt(s, f(&v.Config.Areas[s.a].Customers[s.c]), Planted{})
	}
	one(plain, func(*MeterConfig) Fault { return Fault{Kind: FaultStopped, Start: within(faultDay())} })
	one(plain, func(*MeterConfig) Fault { return Fault{Kind: FaultReverseWiring, Start: within(faultDay())} })
	one(anyMeter, func(m *MeterConfig) Fault {
		day := m.DailyKWh / float64(max(m.CT, 1)*max(m.PT, 1)) * 100 // 0.01 kWh on the register
		return Fault{Kind: FaultJump, Start: within(faultDay()), Amount: int64(day * (3 + 27*rng.Float64()))}
	})
	one(anyMeter, func(m *MeterConfig) Fault {
		day := m.DailyKWh / float64(max(m.CT, 1)*max(m.PT, 1)) * 100
		return Fault{Kind: FaultBackwards, Start: within(faultDay()), Amount: max(int64(day*(0.3+4.7*rng.Float64())), 1)}
	})
	one(anyMeter, func(*MeterConfig) Fault {
		sign := float64(1 - 2*rng.IntN(2))
		return Fault{Kind: FaultClockDrift, Start: within(faultDay()), DriftPerDay: sign * float64(120+rng.IntN(480))}
	})
	one(anyMeter, func(*MeterConfig) Fault { return Fault{Kind: FaultCoverOpen, Start: within(faultDay())} })
	one(threePhase, func(*MeterConfig) Fault {
		return Fault{Kind: FaultPhaseLoss, Start: within(faultDay()), Phase: rng.IntN(3)}
	})
	one(anyMeter, func(*MeterConfig) Fault { return Fault{Kind: WireNoAnswer, Start: within(faultDay())} })
	// a dead meter: no answer before it has history
	if s, ok := pick(-1, anyMeter); ok {
		plantAt(s, Fault{Kind: WireNoAnswer, Start: within(1 + rng.IntN(3))}, Planted{Variant: "dead"})
	}
	// two faults in one area: a stopped or dead meter where a thief is,
	// on the theft's day
	if len(thefts) > 0 {
		th := thefts[rng.IntN(len(thefts))]
		if s, ok := pick(th.a, plain); ok {
			k := FaultStopped
			if rng.IntN(2) == 0 {
				k = WireNoAnswer
			}
			plantAt(s, Fault{Kind: k, Start: dayAt(th.day).Add(time.Duration(rng.IntN(24*4)) * 15 * time.Minute)}, Planted{Variant: "paired"})
		}
	}
	// intermittent meters: single days without an answer (the night's
	// daily read fails; the day's other reads come)
	n := max(len(all)/50, 1)
	for range n {
		s, ok := pick(-1, anyMeter)
		if !ok {
			break
		}
		m := &v.Config.Areas[s.a].Customers[s.c]
		days := map[int]bool{}
		for range 3 + rng.IntN(6) {
			days[1+rng.IntN(v.Days-1)] = true
		}
		first := v.Days
		for d := 1; d < v.Days; d++ {
			if days[d] && !days[d-1] { // never two days running
				m.Faults = append(m.Faults, Fault{Kind: WireOffline, Start: dayAt(d), End: dayAt(d).Add(2 * time.Hour)})
				first = min(first, d)
			}
		}
		if first == v.Days {
			continue
		}
		p := Planted{Meter: m.Address, Area: v.Config.Areas[s.a].ID, Kind: WireOffline, Variant: "intermittent",
			Day: first, Onset: dayAt(first), DailyKWh: m.DailyKWh, Multiplier: max(m.CT, 1) * max(m.PT, 1)}
		v.Planted = append(v.Planted, p)
	}
}
