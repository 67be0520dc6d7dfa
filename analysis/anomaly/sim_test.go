package anomaly

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
)

// simInput runs a scenario for days simulated days and turns what its
// meters show into an Input, as the collector would read it: every
// meter's daily freezes (none while the meter does not answer), phase
// voltages and currents at 03:00, 09:00, 14:00 and 20:00, the clock error
// at 03:00 and the cover-open counter at 09:00.
func simInput(t testing.TB, path string, days int, edit func(string) string) (Input, *model.Fleet) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.Parse(filepath.Base(path), []byte(edit(string(data))))
	if err != nil {
		t.Fatal(err)
	}
	fl, err := model.New(sc.Config)
	if err != nil {
		t.Fatal(err)
	}
	var a archive.Archive
	for _, ar := range fl.Areas() {
		a.Areas = append(a.Areas, archive.Area{ID: ar.ID, Feeder: ar.Feeder, VoltageLevel: ar.VoltageLevel})
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
	var inst []loss.Reading
	r := func(m *model.Meter, q string, at time.Time, v loss.Decimal) {
		inst = append(inst, loss.Reading{Key: meter.Key{Meter: m.Address, Class: meter.Instantaneous, Quantity: q, Time: at}, Value: v, Quality: meter.Valid})
	}
	start := fl.Start()
	for d := range days {
		for _, h := range []int{3, 9, 14, 20} {
			at := start.AddDate(0, 0, d).Add(time.Duration(h) * time.Hour)
			fl.AdvanceTo(at)
			for _, m := range fl.Meters() {
				if m.Behaviour(at).Silent {
					continue
				}
				regs := m.Registers(at)
				for p := range m.Phases {
					r(m, fmt.Sprintf("phase %c voltage", 'A'+p), at, loss.Decimal{Units: regs.Voltage[p], Scale: 1})
					r(m, fmt.Sprintf("phase %c current", 'A'+p), at, loss.Decimal{Units: regs.Current[p], Scale: 3})
				}
				switch h {
				case 3:
					r(m, QuantityClockError, at, loss.Decimal{Units: int64(m.Clock(at).Sub(at).Round(time.Second) / time.Second)})
				case 9:
					r(m, QuantityCoverOpen, at, loss.Decimal{Units: m.Events().CoverOpenCount})
				}
			}
		}
	}
	end := start.AddDate(0, 0, days)
	fl.AdvanceTo(end.Add(time.Hour))
	var rs []loss.Reading
	for _, m := range fl.Meters() {
		for _, fz := range m.DailyFreezes() {
			if m.Behaviour(fz.Time.Add(10*time.Minute)).Silent || fz.Time.After(end) {
				continue
			}
			for _, x := range []struct {
				reg loss.Register
				v   int64
			}{{loss.Forward, fz.Forward[0]}, {loss.Reverse, fz.Reverse[0]}} {
				rs = append(rs, loss.Reading{Key: meter.Key{Meter: m.Address, Class: meter.Daily, Quantity: string(x.reg) + " active energy total", Time: fz.Time},
					Register: x.reg, Value: loss.Decimal{Units: x.v, Scale: 2}, Quality: meter.Valid})
			}
		}
	}
	ix, set := a.Index(), loss.NewSet(rs)
	var res []loss.Result
	for d := range days {
		res = append(res, loss.ComputeAll(ix, loss.Day(start.AddDate(0, 0, d)), set, loss.Config{})...)
	}
	return Input{Archive: ix, Loss: res, Instant: inst}, fl
}

// The demo scenario's planted faults are found, each on its meter.
func TestDemoScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 30 days")
	}
	// the planted theft starts on the 12th day of the scenario; moved to
	// there is a history to see it against: here it starts on day 16
	in, fl := simInput(t, "../../testdata/scenarios/demo.yaml", 30, func(s string) string {
		return strings.Replace(s, `kind: theft, fraction: 0.6, start: "2025-06-12 00:00"`, `kind: theft, fraction: 0.6, start: "2025-06-16 00:00"`, 1)
	})
	rep := Detect(in, Config{})
	want := map[model.FaultKind]Kind{
		model.FaultTheft: Theft, model.FaultStopped: Stopped, model.FaultReverseWiring: ReverseEnergy,
		model.FaultJump: RegisterJump, model.FaultClockDrift: ClockDrift, model.FaultPhaseLoss: PhaseLoss,
		model.FaultCoverOpen: CoverOpened, model.FaultMoved: MovedMeter, model.WireNoAnswer: NoAnswer,
	}
	planted := map[string]bool{}
	for _, ft := range fl.Truth(model.TruthOptions{}).Faults {
		k, ok := want[ft.Kind]
		if !ok {
			continue
		}
		found := false
		for _, f := range rep.Flags {
			if f.Kind == k && f.Meter == ft.Meter {
				found = true
				t.Logf("%-14s %s %s: %s from %s (confidence %.2f): %s", ft.Kind, ft.Area, ft.Meter, f.Kind, f.Start.Format(time.DateOnly), f.Confidence, f.Summary)
			}
		}
		if !found {
			t.Errorf("planted %s on %s (area %s) not flagged", ft.Kind, ft.Meter, ft.Area)
		}
		planted[string(k)+"/"+ft.Meter] = true
	}
	// what else was flagged
	other := map[Kind]int{}
	for _, f := range rep.Flags {
		if !planted[string(f.Kind)+"/"+f.Meter] {
			other[f.Kind]++
			if f.Kind != LossClassChange {
				t.Logf("also: %s %s %s from %s: %s", f.Kind, f.Area, f.Meter, f.Start.Format(time.DateOnly), f.Summary)
			}
		}
	}
	t.Logf("other flags: %v", other)
	for _, rk := range rep.Theft {
		var top []string
		for _, c := range rk.Candidates[:min(3, len(rk.Candidates))] {
			top = append(top, fmt.Sprintf("%s %.2f", c.Meter, c.Score))
		}
		t.Logf("theft ranking %s (excess %.2f kWh): %s", rk.Area, rk.Excess, strings.Join(top, ", "))
	}
}
