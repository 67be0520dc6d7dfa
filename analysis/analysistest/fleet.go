// Package analysistest reads a simulated fleet as the collector's default
// schedules would, for tests of the analysis and of what serves its
// results: the simulator's meters and their ground truth, no wire.
package analysistest

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
)

// LoadConfig reads a scenario file into a fleet configuration.
func LoadConfig(t testing.TB, path string) model.Config {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.Parse(filepath.Base(path), data)
	if err != nil {
		t.Fatal(err)
	}
	return sc.Config
}

// ArchiveOf is the head-end's archive of a fleet: what the utility
// registered, which is where the fleet's configuration put each meter.
func ArchiveOf(fl *model.Fleet) *archive.Index {
	var a archive.Archive
	for _, ar := range fl.Areas() {
		a.Areas = append(a.Areas, archive.Area{ID: ar.ID, Name: ar.Name, Feeder: ar.Feeder, VoltageLevel: ar.VoltageLevel})
		add := func(m *model.Meter, role archive.Role) {
			ed := archive.Edition2007
			if m.Edition == 1997 {
				ed = archive.Edition1997
			}
			a.Meters = append(a.Meters, archive.Meter{Address: m.Address, Edition: ed, Area: ar.ID, Role: role, CT: m.CT, PT: m.PT})
		}
		add(ar.Meter, archive.RoleArea)
		for _, c := range ar.Customers {
			role := archive.RoleCustomer
			if c.PVKW > 0 {
				role = archive.RolePV
			}
			add(c, role)
		}
	}
	return a.Index()
}

// offset is a meter's fixed place in a schedule's jitter, as the
// collector's schedules spread meters.
func offset(meter, class string, max time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(meter + class))
	return time.Duration(h.Sum64() % uint64(max))
}

type event struct {
	at   time.Time
	m    *model.Meter
	what string // "daily", "instant", "clock"; "collect", "frozen" (an area's 376.1 concentrator)
	area string // of "collect" and "frozen"
}

// Simulate runs a fleet for days days and reads it as the collector's
// default schedules would: every 2007 meter's daily freeze between 00:05
// and 01:05, every 1997 meter's registers then (they keep no freeze), the
// phase voltages and currents at 03:00, 09:00, 14:00 and 20:00, the clock
// error and the cover-open counter at 03:00 plus up to an hour. A meter
// that does not answer gives failed reads.
//
// Simulate reads the freezes the model has committed: a meter whose clock
// is a few seconds slow, read before 00:15, gives the freeze of the day
// before (the model takes a step's freezes when the step ends).
// [RunMornings] reads what such a meter holds ([model.Meter.DailyFreezesAt]).
func Simulate(t testing.TB, cfg model.Config, days int) (analysis.Input, *model.Fleet) {
	t.Helper()
	in, fl, _ := simulate(t, cfg, days, false, false)
	return in, fl
}

// simulate is [Simulate]; held reads the freezes meters hold before the
// model's step ends, gdw reads the areas of [Through3761] through 376.1
// concentrators (gdw.go).
func simulate(t testing.TB, cfg model.Config, days int, held, gdw bool) (analysis.Input, *model.Fleet, *gdwFleet) {
	t.Helper()
	fl, err := model.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var in analysis.Input
	in.Archive = ArchiveOf(fl)
	start := fl.Start()
	var g *gdwFleet
	through := map[string]bool{}
	clock := &gdwClock{now: start}
	if gdw {
		through = Through3761(fl)
		g = startGDW(t, fl, through, clock)
	}
	failed := func(m *model.Meter, class meter.Class, q string, at time.Time) {
		r := meter.Read{Meter: m.Address, Area: m.Area.ID, Class: class, Quantity: q, ReadAt: at, Status: meter.Failed, Err: "timeout"}
		if class == meter.Daily {
			in.Registers = append(in.Registers, r)
		} else {
			in.Instant = append(in.Instant, r)
		}
	}
	for d := 0; d <= days; d++ {
		day := start.AddDate(0, 0, d)
		var evs []event
		for _, m := range fl.Meters() {
			if (d > 0 || m.Edition == 1997) && (!through[m.Area.ID] || m.Edition == 1997) {
				evs = append(evs, event{at: day.Add(5*time.Minute + offset(m.Address, "daily", time.Hour)), m: m, what: "daily"})
			}
			if d < days {
				for _, h := range []int{3, 9, 14, 20} {
					evs = append(evs, event{at: day.Add(time.Duration(h)*time.Hour + offset(m.Address, "instant", 10*time.Minute)), m: m, what: "instant"})
				}
				evs = append(evs, event{at: day.Add(3*time.Hour + offset(m.Address, "clock", time.Hour)), m: m, what: "clock"})
			}
		}
		for _, a := range fl.Areas() {
			if !through[a.ID] {
				continue
			}
			for _, c := range gdwCollections {
				evs = append(evs, event{at: day.Add(c), what: "collect", area: a.ID})
			}
			if d > 0 {
				evs = append(evs, event{at: day.Add(gdwFrozenRead + offset(a.ID, "frozen", gdwFrozenJitter)), what: "frozen", area: a.ID})
			}
		}
		slices.SortStableFunc(evs, func(a, b event) int { return a.at.Compare(b.at) })
		for _, ev := range evs {
			fl.AdvanceTo(ev.at)
			clock.set(ev.at)
			m, at := ev.m, ev.at
			switch ev.what {
			case "collect":
				g.areas[ev.area].term.Collect(context.Background())
				continue
			case "frozen":
				in.Registers = append(in.Registers, g.frozen(t, ev.area, day)...)
				continue
			case "daily":
				if through[m.Area.ID] { // a 1997 meter: forwarded by AFN 10
					in.Registers = append(in.Registers, g.forwarded(m, at)...)
					continue
				}
			}
			silent := m.Behaviour(at).Silent
			switch ev.what {
			case "daily":
				if silent {
					failed(m, meter.Daily, "forward active energy total", at)
					failed(m, meter.Daily, "reverse active energy total", at)
					continue
				}
				fwd, rev, stampAt := [5]int64{}, [5]int64{}, time.Time{}
				if m.Edition == 1997 {
					regs := m.Registers(at)
					fwd, rev = regs.Forward, regs.Reverse
				} else {
					fz := m.DailyFreezes()
					if held {
						fz = m.DailyFreezesAt(at)
					}
					if len(fz) == 0 {
						continue
					}
					last := fz[0] // newest first
					fwd, rev, stampAt = last.Forward, last.Reverse, last.Time.Truncate(time.Minute)
				}
				for i, q := range []string{"forward active energy total", "reverse active energy total"} {
					v := fwd[0]
					if i == 1 {
						v = rev[0]
					}
					in.Registers = append(in.Registers, meter.Read{Meter: m.Address, Area: m.Area.ID, Class: meter.Daily, Quantity: q, Unit: "kWh",
						Value: dlt645.Decimal{Units: v, Scale: 2}, MeterTime: stampAt, ReadAt: at, Status: meter.OK})
				}
			case "instant":
				if silent {
					failed(m, meter.Instantaneous, "phase A voltage", at)
					continue
				}
				regs := m.Registers(at)
				for p := range m.Phases {
					in.Instant = append(in.Instant,
						meter.Read{Meter: m.Address, Area: m.Area.ID, Class: meter.Instantaneous, Quantity: fmt.Sprintf("phase %c voltage", 'A'+p), Unit: "V",
							Value: dlt645.Decimal{Units: regs.Voltage[p], Scale: 1}, ReadAt: at, Status: meter.OK},
						meter.Read{Meter: m.Address, Area: m.Area.ID, Class: meter.Instantaneous, Quantity: fmt.Sprintf("phase %c current", 'A'+p), Unit: "A",
							Value: dlt645.Decimal{Units: regs.Current[p], Scale: 3}, ReadAt: at, Status: meter.OK})
				}
			case "clock":
				if silent {
					failed(m, meter.Clock, anomaly.QuantityClockError, at)
					continue
				}
				errS := int64(m.Clock(at).Sub(at).Round(time.Second) / time.Second)
				in.Instant = append(in.Instant,
					meter.Read{Meter: m.Address, Area: m.Area.ID, Class: meter.Clock, Quantity: anomaly.QuantityClockError, Unit: "s",
						Value: dlt645.Decimal{Units: errS}, MeterTime: m.Clock(at), ReadAt: at, Status: meter.OK},
					meter.Read{Meter: m.Address, Area: m.Area.ID, Class: meter.Clock, Quantity: anomaly.QuantityCoverOpen,
						Value: dlt645.Decimal{Units: m.Events().CoverOpenCount}, ReadAt: at, Status: meter.OK})
			}
		}
		if d < days {
			in.Days = append(in.Days, day)
		}
	}
	return in, fl, g
}
