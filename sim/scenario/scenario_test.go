package scenario

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/headend/headend/sim/model"
)

const dir = "../../testdata/scenarios/"

func count(c model.Config) (areas, meters int) {
	for _, a := range c.Areas {
		meters += 1 + len(a.Customers)
	}
	return len(c.Areas), meters
}

func TestLoadFiles(t *testing.T) {
	for _, tc := range []struct {
		file               string
		minAreas, maxAreas int
		minMeters, maxMet  int
		faults             []model.FaultKind
	}{
		{"tiny.yaml", 2, 2, 8, 12, []model.FaultKind{model.FaultTheft, model.FaultStopped}},
		{"demo.yaml", 4, 12, 200, 600, []model.FaultKind{model.FaultTheft, model.FaultStopped, model.FaultReverseWiring, model.WireNoAnswer, model.FaultMoved}},
		{"large.yaml", 100, 10000, 20000, 1 << 30, nil},
	} {
		s, err := Load(dir + tc.file)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		a, m := count(s.Config)
		if a < tc.minAreas || a > tc.maxAreas || m < tc.minMeters || m > tc.maxMet {
			t.Errorf("%s: %d areas, %d meters", tc.file, a, m)
		}
		kinds := map[model.FaultKind]bool{}
		editions := map[int]int{}
		for _, ar := range s.Config.Areas {
			for _, c := range append(ar.Customers, ar.AreaMeter) {
				editions[c.Edition]++
				for _, f := range c.Faults {
					kinds[f.Kind] = true
				}
			}
		}
		for _, k := range tc.faults {
			if !kinds[k] {
				t.Errorf("%s: no %s fault", tc.file, k)
			}
		}
		if editions[1997] == 0 || editions[2007] == 0 {
			t.Errorf("%s: editions %v, want both", tc.file, editions)
		}
		if _, err := model.New(s.Config); err != nil {
			t.Errorf("%s: %v", tc.file, err)
		}
		if tc.file == "demo.yaml" && s.Speed != 1440 {
			t.Errorf("demo speed %v", s.Speed)
		}
	}
}

func TestAddressesDeterministic(t *testing.T) {
	a, err := Load(dir + "demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Load(dir + "demo.yaml")
	for i := range a.Config.Areas {
		for j, c := range a.Config.Areas[i].Customers {
			d := b.Config.Areas[i].Customers[j]
			if c.Address != d.Address || c.Edition != d.Edition || c.PVKW != d.PVKW || len(c.Address) != 12 {
				t.Fatalf("differs: %+v %+v", c, d)
			}
		}
	}
	if got := a.Config.Areas[1].Customers[0].Address; got != "000002000001" {
		t.Errorf("second area's first customer %s", got)
	}
	// repeat counts up the area id, the address prefix, the port and a
	// 376.1 terminal's address
	l, _ := Load(dir + "large.yaml")
	for _, tc := range []struct{ area, meter, listen, terminal string }{
		{"L-080", "100080000000", "", "4401 0050"},
		{"T-020", "100100000000", "127.0.0.1:21020", ""},
	} {
		var got *model.AreaConfig
		for i := range l.Config.Areas {
			if l.Config.Areas[i].ID == tc.area {
				got = &l.Config.Areas[i]
			}
		}
		if got == nil {
			t.Errorf("large.yaml: no area %s", tc.area)
			continue
		}
		term := ""
		if tm, ok := l.Terminals[got.Concentrator.ID]; ok {
			term = tm.Address.String()
		}
		if got.AreaMeter.Address != tc.meter || got.Concentrator.Access.Listen != tc.listen || term != tc.terminal {
			t.Errorf("repeat: %s %s %q %q, want %+v", got.ID, got.AreaMeter.Address, got.Concentrator.Access.Listen, term, tc)
		}
	}
}

// As in the field, most areas of the demo and of the large scenario are
// behind Q/GDW 1376.1 concentrators; the demo keeps one area on each other
// path (a DTU dialling in, an MQTT gateway, Modbus, an RS-485 line).
func TestMostAreasBehind3761(t *testing.T) {
	for _, name := range []string{"demo.yaml", "large.yaml"} {
		s, err := Load(dir + name)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, a := range s.Config.Areas {
			if _, ok := s.Terminals[a.Concentrator.ID]; !ok {
				kinds[a.Concentrator.Access.Kind]++
			}
		}
		if n := len(s.Terminals); 2*n <= len(s.Config.Areas) {
			t.Errorf("%s: %d of %d areas behind 376.1 concentrators, want most", name, n, len(s.Config.Areas))
		}
		if name != "demo.yaml" {
			continue
		}
		for _, k := range []string{model.AccessTCPDialIn, model.AccessMQTT, model.AccessModbusTCP, model.AccessSerial} {
			if kinds[k] != 1 {
				t.Errorf("demo.yaml: %d areas reached by %s, want 1 (%v)", kinds[k], k, kinds)
			}
		}
	}
}

const good = `name: t
seed: 1
start: 2025-03-01T00:00:00+08:00
areas:
  - id: A1
    ct_ratio: 10
    address_prefix: "000001"
    customers: {residential: 3}
  - id: A2
    ct_ratio: 20
    address_prefix: "000002"
    customers: {residential: 2}
`

func TestErrors(t *testing.T) {
	if _, err := Parse("t.yaml", []byte(good)); err != nil {
		t.Fatalf("good: %v", err)
	}
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"malformed", "name: t\nareas: [\n  - id: x\n", []string{"bad.yaml: ", "line"}},
		{"unknown key", strings.Replace(good, "    ct_ratio: 20\n", "    ct_ratio: 20\n    colour: red\n", 1),
			[]string{"bad.yaml: areas[1].colour: unknown key"}},
		{"unknown top key", good + "speedy: 3\n", []string{"bad.yaml: speedy: unknown key"}},
		{"bad ct", strings.Replace(good, "ct_ratio: 20", "ct_ratio: 0", 1), []string{"bad.yaml: areas[1].ct_ratio: must be > 0"}},
		{"bad ct type", strings.Replace(good, "ct_ratio: 20", "ct_ratio: lots", 1), []string{"bad.yaml: areas[1].ct_ratio: cannot unmarshal"}},
		{"duplicate prefix", strings.Replace(good, `"000002"`, `"000001"`, 1), []string{"bad.yaml: areas[1].address_prefix: meter address 000001000000 duplicates areas[0].address_prefix"}},
		{"duplicate address", good + `    meters:
      - {index: 2, address: "000001000003"}
`, []string{"bad.yaml: areas[1].meters[0].address: meter address 000001000003 duplicates areas[0]"}},
		{"duplicate id", strings.Replace(good, "id: A2", "id: A1", 1), []string{"bad.yaml: areas[1].id: \"A1\" duplicates areas[0]"}},
		{"bad start", strings.Replace(good, "2025-03-01T00:00:00+08:00", "2025-03-01 00:07", 1), []string{"bad.yaml: start: must lie on a 15-minute boundary"}},
		{"bad fault", good + "faults:\n  - {area: A1, index: 9, kind: theft, fraction: 0.5, start: 2025-03-02}\n  - {meter: \"000001000001\", kind: sleepy, start: 2025-03-02}\n  - {meter: \"000001000001\", kind: theft, start: 2025-03-02}\n  - {meter: \"000001000001\", kind: moved, to: Z9, start: 2025-03-02}\n",
			[]string{"bad.yaml: faults[0].index: must be 0..3", "bad.yaml: faults[1].kind: \"sleepy\" is not one of", "bad.yaml: faults[2].fraction: must be in (0, 1]", "bad.yaml: faults[3].to: no area \"Z9\""}},
		{"bad access", strings.Replace(good, "    customers: {residential: 2}\n", "    customers: {residential: 2}\n    concentrator: {access: {kind: carrier-pigeon}}\n", 1),
			[]string{"bad.yaml: areas[1].concentrator.access.kind: \"carrier-pigeon\" is not one of"}},
		{"phase loss single phase", good + "faults:\n  - {meter: \"000001000001\", kind: phase_loss, phase: B, start: 2025-03-02}\n",
			[]string{"bad.yaml: faults[0].phase: meter 000001000001 is single-phase"}},
	} {
		_, err := Parse("bad.yaml", []byte(tc.yaml))
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
	}
}

func TestLoadNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(p, []byte(strings.Replace(good, "ct_ratio: 10", "ct_ratio: -5", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p)
	if err == nil || !strings.HasPrefix(err.Error(), "broken.yaml: areas[0].ct_ratio: must be > 0") {
		t.Fatalf("got %v", err)
	}
}

// The demo scenario balances per area and day (registers at midnight vs
// ground truth), including its moved meter and faults.
func TestDemoBalance(t *testing.T) {
	s, err := Load(dir + "demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := model.New(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	read := func() map[string][2]int64 {
		out := map[string][2]int64{}
		for _, m := range f.Meters() {
			r := m.Registers(f.Now())
			out[m.Address] = [2]int64{r.Forward[0], r.Reverse[0]}
		}
		return out
	}
	const days = 6
	reads := []map[string][2]int64{read()}
	for d := 1; d <= days; d++ {
		f.AdvanceTo(s.Config.Start.AddDate(0, 0, d))
		reads = append(reads, read())
	}
	g := f.Truth(model.TruthOptions{})
	diff := func(a, b [2]int64) float64 {
		w := func(x int64) int64 {
			if x < -model.RegisterModulus/2 {
				x += model.RegisterModulus
			}
			return x
		}
		return float64(w(b[0]-a[0])-w(b[1]-a[1])) / 100
	}
	var sawMoved bool
	for i, a := range f.Areas() {
		for d := 0; d < days; d++ {
			mult := float64(a.Meter.CT * a.Meter.PT)
			supply := diff(reads[d][a.Meter.Address], reads[d+1][a.Meter.Address]) * mult
			tol := 0.02 * mult
			var sales float64
			for _, m := range a.Customers {
				cm := float64(m.CT * m.PT)
				sales += diff(reads[d][m.Address], reads[d+1][m.Address]) * cm
				tol += 0.02 * cm
			}
			td := g.Areas[i].Days[d]
			if got := supply - sales; got-td.ExpectedLoss > tol || td.ExpectedLoss-got > tol {
				t.Errorf("%s %s: supply − sales %.2f, truth %.2f (±%.2f)", a.ID, td.Date, got, td.ExpectedLoss, tol)
			}
			if td.MovedIn > 0 || td.MovedOut > 0 {
				sawMoved = true
			}
		}
	}
	if !sawMoved {
		t.Error("the moved meter shows nowhere")
	}
}
