package dlt645

import "fmt"

var registry1997 = build1997()

// Formats of DL/T 645-1997 that differ from 2007.
var (
	f97Voltage = Format{Kind: KindNumber, Size: 2}              // XXX V
	f97Current = Format{Kind: KindNumber, Size: 2, Decimals: 2} // XX.XX A
	f97Power   = Format{Kind: KindNumber, Size: 3, Decimals: 4} // XX.XXXX kW
	f97Var     = Format{Kind: KindNumber, Size: 2, Decimals: 2} // XX.XX kvar
	f97PF      = Format{Kind: KindNumber, Size: 2, Decimals: 3} // X.XXX
	f97Time4   = Format{Kind: KindTime, Size: 4, Time: MMDDhhmm}
	f97Count2  = Format{Kind: KindNumber, Size: 2} // NNNN
	f97Status  = Format{Kind: KindBits, Size: 1}
)

func build1997() *Registry {
	r := newRegistry(DLT1997)
	periods := []struct {
		nibble int
		suffix string
	}{{0, ""}, {4, ", last month"}, {8, ", month before last"}}
	for _, p := range periods {
		// 9x1t forward active, 9x2t reverse active, 9(x+1)1t forward reactive, 9(x+1)2t reverse reactive.
		classes := []struct {
			di   int
			name string
			unit string
		}{
			{0x9010 | p.nibble<<8, "forward active energy", "kWh"},
			{0x9020 | p.nibble<<8, "reverse active energy", "kWh"},
			{0x9110 | p.nibble<<8, "forward reactive energy", "kvarh"},
			{0x9120 | p.nibble<<8, "reverse reactive energy", "kvarh"},
		}
		for _, c := range classes {
			var members []*Spec
			for t := 0; t <= 4; t++ {
				members = append(members, r.add(one(DI(c.di|t), c.name+" "+tariffName(t)+p.suffix, c.unit, fEnergy)))
			}
			r.add(&Spec{DI: DI(c.di | 0xF), Name: c.name + " block" + p.suffix, Members: members})
		}
		// Axyt max demand, Bxyt its time (MMDDhhmm).
		for i, dir := range []string{"forward", "reverse"} {
			var dm, tm []*Spec
			for t := 0; t <= 4; t++ {
				name := "max demand of " + dir + " active " + tariffName(t) + p.suffix
				dm = append(dm, r.add(one(DI(0xA010|p.nibble<<8|(i+1)<<4|t), name, "kW", fDemand)))
				tm = append(tm, r.add(one(DI(0xB010|p.nibble<<8|(i+1)<<4|t), name+" time", "", f97Time4)))
			}
			r.add(&Spec{DI: DI(0xA010 | p.nibble<<8 | (i+1)<<4 | 0xF), Name: "max demand of " + dir + " active block" + p.suffix, Members: dm})
			r.add(&Spec{DI: DI(0xB010 | p.nibble<<8 | (i+1)<<4 | 0xF), Name: "max demand of " + dir + " active time block" + p.suffix, Members: tm})
		}
	}
	phases := func(base int, name, unit string, f Format, withTotal bool) {
		var members []*Spec
		if withTotal {
			members = append(members, r.add(one(DI(base), name+" total", unit, f)))
		}
		for p := 1; p <= 3; p++ {
			members = append(members, r.add(one(DI(base+p), fmt.Sprintf("phase %c %s", 'A'+p-1, name), unit, f)))
		}
		r.add(&Spec{DI: DI(base + 0xF), Name: name + " block", Members: members})
	}
	phases(0xB610, "voltage", "V", f97Voltage, false)
	phases(0xB620, "current", "A", f97Current, false)
	phases(0xB630, "active power", "kW", f97Power, true)
	phases(0xB640, "reactive power", "kvar", f97Var, true)
	phases(0xB650, "power factor", "", f97PF, true)
	r.add(one(0xB210, "last programming time", "", f97Time4))
	r.add(one(0xB211, "last max demand reset time", "", f97Time4))
	r.add(one(0xB212, "programming count", "", f97Count2))
	r.add(one(0xB213, "max demand reset count", "", f97Count2))
	r.add(one(0xC010, "date and weekday", "", fDate))
	r.add(one(0xC011, "time", "", fClock))
	r.add(one(0xC020, "running status word", "", f97Status))
	r.add(one(0xC030, "active constant", "imp/kWh", fCount3))
	r.add(one(0xC031, "reactive constant", "imp/kvarh", fCount3))
	r.add(one(0xC032, "meter number (address)", "", fAddress))
	r.add(one(0xC033, "customer number", "", fAddress))
	r.add(one(0xC034, "device number", "", fAddress))
	return r
}
