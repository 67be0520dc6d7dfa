package config

import (
	"fmt"
	"strings"

	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/protocol/dlt645"
)

// Plan is the reading plan (docs/reading-plan.md): the data identifiers
// each reading class reads, per kind of meter. Every list is a key of its
// own (collector.plan.instantaneous.2007, HEADEND_COLLECTOR_PLAN_
// INSTANTANEOUS_2007="0001FF00,0201FF00"); an empty list reads the
// default. The defaults are schedule.DefaultReading.
type Plan struct {
	Instantaneous PlanDIs `yaml:"instantaneous"` // registers and what the meter measures now
	Daily         PlanDIs `yaml:"daily"`         // 2007: the last daily freeze (DI0 01; backfill reads freeze n)
	Monthly       PlanDIs `yaml:"monthly"`       // the last settlement day
	Clock         PlanDIs `yaml:"clock"`         // date and time (0400010C, C01F) and the cover-opened count
}

// PlanDIs are one class's data identifiers, in hex, per kind of meter.
type PlanDIs struct {
	DLT2007 []string `yaml:"2007" help:"DL/T 645-2007 meters: DIs in hex, 8 digits"`
	DLT1997 []string `yaml:"1997" help:"DL/T 645-1997 meters: DIs in hex, 4 digits"`
	Modbus  []string `yaml:"modbus" help:"Modbus meters: DIs of the register map, 8 digits"`
}

// DefaultPlan is schedule.DefaultReading written as configuration.
func DefaultPlan() Plan {
	d := schedule.DefaultReading()
	hex := func(ed dlt645.Edition, dis []dlt645.DI) []string {
		out := make([]string, len(dis))
		for i, di := range dis {
			out[i] = di.Format(ed)
		}
		return out
	}
	of := func(b schedule.ByEdition) PlanDIs {
		return PlanDIs{hex(dlt645.DLT2007, b.DLT2007), hex(dlt645.DLT1997, b.DLT1997), hex(dlt645.DLT2007, b.Modbus)}
	}
	return Plan{of(d.Instantaneous), of(d.Daily), of(d.Monthly), of(d.Clock)}
}

// Reading is the plan as the schedules read it. It ignores identifiers
// that do not parse (Load has refused them).
func (p Plan) Reading() schedule.Reading {
	r, _ := p.parse(func(string, string, ...any) {})
	return r
}

// check reports every identifier that does not parse or that the edition
// cannot read.
func (p *Plan) check(bad func(key, format string, args ...any)) {
	p.parse(bad)
}

func (p Plan) parse(bad func(key, format string, args ...any)) (schedule.Reading, bool) {
	ok := true
	list := func(key string, ed dlt645.Edition, modbus bool, ss []string) []dlt645.DI {
		var out []dlt645.DI
		for _, s := range ss {
			di, err := planDI(ed, modbus, s)
			if err != nil {
				bad(key, "%v", err)
				ok = false
				continue
			}
			out = append(out, di)
		}
		return out
	}
	class := func(name string, c PlanDIs) schedule.ByEdition {
		k := "collector.plan." + name + "."
		return schedule.ByEdition{
			DLT2007: list(k+"2007", dlt645.DLT2007, false, c.DLT2007),
			DLT1997: list(k+"1997", dlt645.DLT1997, false, c.DLT1997),
			Modbus:  list(k+"modbus", dlt645.DLT2007, true, c.Modbus),
		}
	}
	r := schedule.Reading{
		Instantaneous: class("instantaneous", p.Instantaneous),
		Daily:         class("daily", p.Daily),
		Monthly:       class("monthly", p.Monthly),
		Clock:         class("clock", p.Clock),
	}
	for _, di := range r.Daily.DLT2007 {
		if di>>16 == 0x0506 && di&0xFF != 1 {
			bad("collector.plan.daily.2007", "%s: name the last freeze (DI0 01); backfill reads freeze n itself", di.Format(dlt645.DLT2007))
			ok = false
		}
	}
	return r, ok
}

// planDI parses one identifier of a plan for edition ed: hex of the
// edition's width, and one the head-end can decode (or a date-and-time
// identifier, which the poller reads as a date and a time).
func planDI(ed dlt645.Edition, modbus bool, s string) (dlt645.DI, error) {
	s = strings.TrimSpace(s)
	want := 8
	if ed == dlt645.DLT1997 {
		want = 4
	}
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(h) != want {
		return 0, fmt.Errorf("%q: want %d hex digits", s, want)
	}
	di, err := dlt645.ParseDI(h)
	if err != nil {
		return 0, fmt.Errorf("%q: not a data identifier in hex", s)
	}
	if di == poll.DateTime2007 && !modbus && ed == dlt645.DLT2007 || di == poll.DateTime1997 && ed == dlt645.DLT1997 {
		return di, nil
	}
	if _, known := ed.Registry().Lookup(di); !known && !modbus {
		return 0, fmt.Errorf("%s: not a DL/T 645-%s identifier the head-end knows", di.Format(ed), map[dlt645.Edition]string{dlt645.DLT2007: "2007", dlt645.DLT1997: "1997"}[ed])
	}
	return di, nil
}
