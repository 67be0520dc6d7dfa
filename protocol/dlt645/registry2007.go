package dlt645

import (
	"fmt"
	"strings"
)

// Formats of DL/T 645-2007 appendix A.
var (
	fEnergy       = Format{Kind: KindNumber, Size: 4, Decimals: 2}               // XXXXXX.XX kWh
	fEnergySigned = Format{Kind: KindNumber, Size: 4, Decimals: 2, Signed: true} // combined energies
	fDemand       = Format{Kind: KindNumber, Size: 3, Decimals: 4}               // XX.XXXX kW
	fDemandSigned = Format{Kind: KindNumber, Size: 3, Decimals: 4, Signed: true}
	fVoltage      = Format{Kind: KindNumber, Size: 2, Decimals: 1}               // XXX.X V
	fCurrent      = Format{Kind: KindNumber, Size: 3, Decimals: 3, Signed: true} // XXX.XXX A
	fPower        = Format{Kind: KindNumber, Size: 3, Decimals: 4, Signed: true} // XX.XXXX kW
	fPF           = Format{Kind: KindNumber, Size: 2, Decimals: 3, Signed: true} // X.XXX
	fAngle        = Format{Kind: KindNumber, Size: 2, Decimals: 1}               // XXX.X °
	fFrequency    = Format{Kind: KindNumber, Size: 2, Decimals: 2}               // XX.XX Hz
	fTemperature  = Format{Kind: KindNumber, Size: 2, Decimals: 1, Signed: true}
	fCount3       = Format{Kind: KindNumber, Size: 3} // XXXXXX
	fCount4       = Format{Kind: KindNumber, Size: 4} // XXXXXXXX
	fNN           = Format{Kind: KindNumber, Size: 1} // NN
	fTime5        = Format{Kind: KindTime, Size: 5, Time: YYMMDDhhmm}
	fTime6        = Format{Kind: KindTime, Size: 6, Time: YYMMDDhhmmss}
	fDate         = Format{Kind: KindTime, Size: 4, Time: YYMMDDWW}
	fClock        = Format{Kind: KindTime, Size: 3, Time: Hhmmss}
	fDDhh         = Format{Kind: KindTime, Size: 2, Time: DDhh}
	fAddress      = Format{Kind: KindAddress, Size: 6}
	fStatus       = Format{Kind: KindBits, Size: 2}
)

var tariffNames = [...]string{1: "sharp", 2: "peak", 3: "flat", 4: "valley"}

func tariffName(t int) string {
	if t == 0 {
		return "total"
	}
	if t < len(tariffNames) {
		return fmt.Sprintf("tariff %d (%s)", t, tariffNames[t])
	}
	return fmt.Sprintf("tariff %d", t)
}

func settlementSuffix(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", settlement day -%d", n)
}

func field(name, unit string, f Format) Field { return Field{Name: name, Unit: unit, Format: f} }

func one(di DI, name, unit string, f Format) *Spec {
	return &Spec{DI: di, Name: name, Fields: []Field{field(name, unit, f)}}
}

func di4(d3, d2, d1, d0 int) DI { return DI(d3<<24 | d2<<16 | d1<<8 | d0) }

var registry2007 = build2007()

// maxTariffs is the most tariffs a block expands to (DI1 01..3F).
const maxTariffs = 63

func build2007() *Registry {
	r := newRegistry(DLT2007)

	// A.1 energy: DI3 00, DI2 class, DI1 tariff (FF block), DI0 settlement (FF block).
	energy := []struct {
		d2     int
		name   string
		unit   string
		signed bool
	}{
		{0x00, "combined active energy", "kWh", true},
		{0x01, "forward active energy", "kWh", false},
		{0x02, "reverse active energy", "kWh", false},
		{0x03, "combined reactive energy 1", "kvarh", true},
		{0x04, "combined reactive energy 2", "kvarh", true},
		{0x05, "reactive energy quadrant I", "kvarh", false},
		{0x06, "reactive energy quadrant II", "kvarh", false},
		{0x07, "reactive energy quadrant III", "kvarh", false},
		{0x08, "reactive energy quadrant IV", "kvarh", false},
		{0x09, "forward apparent energy", "kVAh", false},
		{0x0A, "reverse apparent energy", "kVAh", false},
	}
	for _, c := range energy {
		f := fEnergy
		if c.signed {
			f = fEnergySigned
		}
		for s := 0; s <= 12; s++ {
			var members []*Spec
			for t := 0; t <= maxTariffs; t++ {
				name := c.name + " " + tariffName(t) + settlementSuffix(s)
				members = append(members, r.add(one(di4(0, c.d2, t, s), name, c.unit, f)))
			}
			r.add(&Spec{DI: di4(0, c.d2, 0xFF, s), Name: c.name + " block" + settlementSuffix(s), Members: members})
		}
		for t := 0; t <= maxTariffs; t++ {
			var members []*Spec
			for s := 0; s <= 12; s++ {
				members = append(members, r.specs[di4(0, c.d2, t, s)])
			}
			r.add(&Spec{DI: di4(0, c.d2, t, 0xFF), Name: c.name + " " + tariffName(t) + ", current and 12 settlement days", Members: members})
		}
	}
	// Per-phase energies: A 15..1E, B 29..32, C 3D..46, totals only.
	phaseEnergy := []string{"forward active energy", "reverse active energy", "combined reactive energy 1", "combined reactive energy 2",
		"reactive energy quadrant I", "reactive energy quadrant II", "reactive energy quadrant III", "reactive energy quadrant IV",
		"forward apparent energy", "reverse apparent energy"}
	units := []string{"kWh", "kWh", "kvarh", "kvarh", "kvarh", "kvarh", "kvarh", "kvarh", "kVAh", "kVAh"}
	for p, base := range []int{0x15, 0x29, 0x3D} {
		for i, name := range phaseEnergy {
			f := fEnergy
			if i == 2 || i == 3 {
				f = fEnergySigned
			}
			for s := 0; s <= 12; s++ {
				r.add(one(di4(0, base+i, 0, s), fmt.Sprintf("phase %c %s%s", 'A'+p, name, settlementSuffix(s)), units[i], f))
			}
		}
	}

	// A.2 max demand and its time: DI3 01, classes 01..0A.
	for _, c := range energy[1:] {
		f := fDemand
		if c.signed {
			f = fDemandSigned
		}
		unit := map[string]string{"kWh": "kW", "kvarh": "kvar", "kVAh": "kVA"}[c.unit]
		base := "max demand of " + strings.Replace(c.name, " energy", "", 1)
		for s := 0; s <= 12; s++ {
			var members []*Spec
			for t := 0; t <= maxTariffs; t++ {
				name := base + " " + tariffName(t) + settlementSuffix(s)
				members = append(members, r.add(&Spec{DI: di4(1, c.d2, t, s), Name: name, Fields: []Field{
					field(name, unit, f), field(name+" time", "", fTime5)}}))
			}
			r.add(&Spec{DI: di4(1, c.d2, 0xFF, s), Name: base + " block" + settlementSuffix(s), Members: members})
		}
	}

	// A.3 instantaneous values: DI3 02.
	phases := func(d2 int, name, unit string, f Format, withTotal bool) {
		var members []*Spec
		if withTotal {
			members = append(members, r.add(one(di4(2, d2, 0, 0), name+" total", unit, f)))
		}
		for p := 1; p <= 3; p++ {
			members = append(members, r.add(one(di4(2, d2, p, 0), fmt.Sprintf("phase %c %s", 'A'+p-1, name), unit, f)))
		}
		r.add(&Spec{DI: di4(2, d2, 0xFF, 0), Name: name + " block", Members: members})
	}
	phases(0x01, "voltage", "V", fVoltage, false)
	phases(0x02, "current", "A", fCurrent, false)
	phases(0x03, "active power", "kW", fPower, true)
	phases(0x04, "reactive power", "kvar", fPower, true)
	phases(0x05, "apparent power", "kVA", fPower, true)
	phases(0x06, "power factor", "", fPF, true)
	phases(0x07, "phase angle", "°", fAngle, false)
	phases(0x08, "voltage distortion", "%", fFrequency, false)
	phases(0x09, "current distortion", "%", fFrequency, false)
	r.add(one(0x02800001, "neutral current", "A", fCurrent))
	r.add(one(0x02800002, "grid frequency", "Hz", fFrequency))
	r.add(one(0x02800003, "one-minute average active power", "kW", fPower))
	r.add(one(0x02800004, "current active demand", "kW", fPower))
	r.add(one(0x02800005, "current reactive demand", "kvar", fPower))
	r.add(one(0x02800006, "current apparent demand", "kVA", fPower))
	r.add(one(0x02800007, "meter temperature", "°C", fTemperature))
	r.add(one(0x02800008, "clock battery voltage", "V", fFrequency))
	r.add(one(0x02800009, "reading battery voltage", "V", fFrequency))
	r.add(one(0x0280000A, "internal battery working time", "min", fCount4))

	// A.4 events: DI3 03.
	counts := []struct {
		d1   int
		name string
	}{
		{0x00, "programming"}, {0x01, "meter reset"}, {0x02, "max demand reset"}, {0x03, "event reset"},
		{0x04, "clock set"}, {0x05, "daily period table programming"}, {0x0C, "settlement day programming"},
		{0x0D, "meter cover opened"}, {0x0E, "terminal cover opened"},
	}
	for _, c := range counts {
		r.add(one(di4(3, 0x30, c.d1, 0), c.name+" count", "", fCount3))
	}
	for n := 1; n <= 10; n++ {
		name := fmt.Sprintf("meter cover opened, record -%d", n)
		r.add(&Spec{DI: di4(3, 0x30, 0x0D, n), Name: name, Fields: []Field{
			field(name+" start", "", fTime6), field(name+" end", "", fTime6),
			field(name+" energies", "", Format{Kind: KindRaw})}})
	}
	// Phase loss (断相) totals: count and cumulative minutes per phase (verify).
	var fl []Field
	for p := 'A'; p <= 'C'; p++ {
		fl = append(fl, field(fmt.Sprintf("phase %c phase loss count", p), "", fCount3),
			field(fmt.Sprintf("phase %c phase loss minutes", p), "min", fCount3))
	}
	r.add(&Spec{DI: 0x03040000, Name: "phase loss totals", Fields: fl})
	r.add(one(0x03110000, "power down count", "", fCount3))

	// A.5 parameters: DI3 04.
	r.add(one(0x04000101, "date and weekday", "", fDate))
	r.add(one(0x04000102, "time", "", fClock))
	r.add(one(0x04000103, "max demand period", "min", fNN))
	r.add(one(0x04000104, "demand sliding time", "min", fNN))
	r.add(one(0x04000401, "communication address", "", fAddress))
	r.add(one(0x04000402, "meter number", "", fAddress))
	r.add(one(0x04000403, "asset code", "", Format{Kind: KindASCII, Size: 32}))
	r.add(one(0x04000409, "active constant", "imp/kWh", fCount3))
	r.add(one(0x0400040B, "meter model", "", Format{Kind: KindASCII, Size: 10}))
	r.add(one(0x0400040C, "production date", "", Format{Kind: KindASCII, Size: 10}))
	r.add(one(0x0400040D, "protocol version", "", Format{Kind: KindASCII, Size: 16}))
	var status []*Spec
	for n := 1; n <= 7; n++ {
		status = append(status, r.add(one(di4(4, 0, 5, n), fmt.Sprintf("running status word %d", n), "", fStatus)))
	}
	r.add(&Spec{DI: 0x040005FF, Name: "running status words block", Members: status})
	for n := 1; n <= 3; n++ {
		r.add(one(di4(4, 0, 0x0B, n), fmt.Sprintf("settlement day %d", n), "", fDDhh))
	}
	for n := 0; n <= 9; n++ {
		r.add(one(di4(4, 0, 0x0C, n+1), fmt.Sprintf("password level %d", n), "", Format{Kind: KindRaw, Size: 4}))
	}

	// A.6 freezes: DI3 05; DI2 00 timed (12), 01 instant (3), 04 hourly
	// (254, totals only), 06 daily (62); DI1 data class; DI0 record.
	freezes := []struct {
		d2      int
		name    string
		records int
		hourly  bool
	}{
		{0x00, "timed freeze", 12, false}, {0x01, "instant freeze", 3, false},
		{0x04, "hourly freeze", 254, true}, {0x06, "daily freeze", 62, false},
	}
	for _, fz := range freezes {
		for n := 1; n <= fz.records; n++ {
			pre := fmt.Sprintf("%s -%d", fz.name, n)
			r.add(one(di4(5, fz.d2, 0, n), pre+" time", "", fTime5))
			if fz.hourly {
				r.add(one(di4(5, fz.d2, 1, n), pre+" forward active energy total", "kWh", fEnergy))
				r.add(one(di4(5, fz.d2, 2, n), pre+" reverse active energy total", "kWh", fEnergy))
				continue
			}
			for _, c := range energy[1:9] {
				f := fEnergy
				if c.signed {
					f = fEnergySigned
				}
				var members []*Spec
				for t := 0; t <= 14; t++ {
					members = append(members, one(di4(5, fz.d2, c.d2, n), pre+" "+c.name+" "+tariffName(t), c.unit, f))
				}
				r.add(&Spec{DI: di4(5, fz.d2, c.d2, n), Name: pre + " " + c.name, Members: members})
			}
			for i, dir := range []string{"forward", "reverse"} {
				var members []*Spec
				for t := 0; t <= 14; t++ {
					name := pre + " max demand of " + dir + " active " + tariffName(t)
					members = append(members, &Spec{DI: di4(5, fz.d2, 9+i, n), Name: name, Fields: []Field{
						field(name, "kW", fDemand), field(name+" time", "", fTime5)}})
				}
				r.add(&Spec{DI: di4(5, fz.d2, 9+i, n), Name: pre + " max demand of " + dir + " active", Members: members})
			}
			var vf []Field
			for _, q := range []struct{ name, unit string }{{"active power", "kW"}, {"reactive power", "kvar"}} {
				vf = append(vf, field(pre+" "+q.name+" total", q.unit, fPower))
				for p := 'A'; p <= 'C'; p++ {
					vf = append(vf, field(fmt.Sprintf("%s phase %c %s", pre, p, q.name), q.unit, fPower))
				}
			}
			r.add(&Spec{DI: di4(5, fz.d2, 0x10, n), Name: pre + " power", Fields: vf})
		}
	}

	// A.7 load profile: DI3 06; DI2 00 all classes, 01..06 one class;
	// DI0 00 earliest, 01 from a given time, 02 latest.
	for d2 := 0; d2 <= 6; d2++ {
		for d0 := 0; d0 <= 2; d0++ {
			what := [...]string{"earliest", "from a given time", "latest"}[d0]
			name := fmt.Sprintf("load profile (class %d) %s", d2, what)
			if d2 == 0 {
				name = "load profile " + what
			}
			r.add(&Spec{DI: di4(6, d2, 0, d0), Name: name, Fields: []Field{field(name, "", Format{Kind: KindProfile})}})
		}
	}
	return r
}
