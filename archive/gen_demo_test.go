package archive_test

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
)

// go test ./archive -run TestDemoArchive -update rewrites
// configs/archive-demo/*.csv from testdata/scenarios/demo.yaml.
var update = flag.Bool("update", false, "rewrite configs/archive-demo from the demo scenario")

const (
	demoScenario = "../testdata/scenarios/demo.yaml"
	demoDir      = "../configs/archive-demo"
)

// DemoBroker is the MQTT broker of the demo when the scenario leaves the
// broker to metersim without an address (metersim --broker).
const DemoBroker = "tcp://127.0.0.1:1883"

// standardKVA are distribution transformer sizes (kVA).
var standardKVA = []float64{30, 50, 63, 80, 100, 125, 160, 200, 250, 315, 400, 500, 630, 800, 1000, 1250, 1600, 2000, 2500}

// capacityKVA is the smallest standard transformer whose rated low-voltage
// current fits the area meter's CT primary (CT ratio × 5 A at 0.4 kV).
func capacityKVA(ct int) float64 {
	s := math.Sqrt(3) * 0.4 * float64(ct*5)
	for _, k := range standardKVA {
		if k >= s {
			return k
		}
	}
	return standardKVA[len(standardKVA)-1]
}

// The archive errors planted in the demo's archive (configs/archive-demo)
// for the archive checks of analysis/review to find. The third, a meter
// exchange whose removal reading is below the old meter's last billed
// reading, is in configs/headend.yaml (archive.exchanges).
const (
	// DemoUnarchived answers on D02's bus (the simulator has it) but the
	// archive does not list it.
	DemoUnarchived = "000002000038"
	// DemoWrongMultiplierMeter is D04's area meter (CT 160, PT 1), whose
	// stored multiplier is DemoWrongMultiplier.
	DemoWrongMultiplierMeter = "000004000000"
	DemoWrongMultiplier      = 120
)

// demoPlace is where the demo puts an area's transformer (WGS 84): areas
// about 1.5 km apart around 30.59 N, 114.30 E.
func demoPlace(i int) (lat, lon float64) {
	return round6(30.59 + 0.014*float64(i/3)), round6(114.30 + 0.016*float64(i%3))
}

// meterPlace spreads an area's meters on a golden-angle spiral within
// about 250 m of the transformer.
func meterPlace(area, i int) (lat, lon float64) {
	clat, clon := demoPlace(area)
	r := 0.00025 * math.Sqrt(float64(i))
	a := float64(i) * 2.399963229728653
	return round6(clat + r*math.Sin(a)), round6(clon + r*math.Cos(a)/math.Cos(clat*math.Pi/180))
}

func round6(f float64) float64 { return math.Round(f*1e6) / 1e6 }

// demoModes are how the demo's head-end reads each area behind a Q/GDW
// 1376.1 concentrator (archive.Channel.Mode); the others are frozen.
var demoModes = map[string]string{"D09": archive.ModeForward}

// demoVerification are the area meters' verification records: D03's is
// due within a month of the demo's June 2025, D04's is overdue.
var demoVerification = map[string]struct {
	on     archive.Date
	months int
}{
	"D01": {archive.Date{Year: 2021, Month: 3, Day: 15}, 96}, "D02": {archive.Date{Year: 2019, Month: 9, Day: 20}, 96},
	"D03": {archive.Date{Year: 2017, Month: 7, Day: 1}, 96}, "D04": {archive.Date{Year: 2015, Month: 5, Day: 20}, 96},
	"D05": {archive.Date{Year: 2022, Month: 11, Day: 8}, 96},
}

// FromScenario is the archive a utility would hold for a scenario's
// fleet: what the scenario registers (a meter moved in the field stays in
// its archive area), reached the way the scenario's concentrators offer.
// For the demo scenario it plants the archive errors above and places
// the meters on a map.
func FromScenario(s *scenario.Scenario) *archive.Archive {
	demo := s.Config.Name == "demo"
	a := &archive.Archive{}
	for ai, ac := range s.Config.Areas {
		a.Areas = append(a.Areas, archive.Area{ID: ac.ID, Name: ac.Name, Feeder: ac.Feeder,
			VoltageLevel: ac.VoltageLevel, CapacityKVA: capacityKVA(max(ac.AreaMeter.CT, 1))})
		c := ac.Concentrator
		ch := archive.Channel{ID: c.ID + "-1"}
		acc := c.Access
		switch acc.Kind {
		case model.AccessTCPListen:
			ch.Kind, ch.Address = archive.KindTCP, acc.Listen
		case model.AccessTCPDialIn:
			ch.Kind, ch.DialInID = archive.KindDialIn, c.ID
			if t, ok := s.Terminals[c.ID]; ok {
				// a Q/GDW 1376.1 concentrator: read as the demo reads it
				ch.Kind, ch.DialInID, ch.Terminal = archive.KindGDW3761, "", t.Address.String()
				ch.Mode = archive.ModeFrozen
				if m, ok := demoModes[ac.ID]; ok && demo {
					ch.Mode = m
				}
			}
		case model.AccessMQTT:
			exp := strings.NewReplacer("{concentrator}", c.ID, "{id}", c.ID)
			ch.Kind, ch.Broker, ch.Gateway = archive.KindMQTT, acc.Broker, c.ID
			switch {
			case strings.HasPrefix(acc.Broker, "embedded://"):
				// metersim runs the broker at that address
				ch.Broker = "tcp://" + strings.TrimPrefix(acc.Broker, "embedded://")
			case acc.Broker == "" || acc.Broker == "embedded":
				// metersim's own broker listens on a random port; the
				// demo runs it with --broker on the usual one
				ch.Broker = DemoBroker
			}
			ch.TopicDown, ch.TopicUp = exp.Replace(acc.TopicDown), exp.Replace(acc.TopicUp)
		case model.AccessModbusTCP:
			ch.Kind, ch.Address = archive.KindModbusTCP, acc.Listen
		case model.AccessModbusRTU:
			ch.Kind, ch.Device, ch.Baud, ch.Parity = archive.KindModbusRTU, acc.Device, acc.Baud, acc.Parity
		case model.AccessSerial:
			ch.Kind, ch.Device, ch.Baud, ch.Parity = archive.KindSerial, acc.Device, acc.Baud, acc.Parity
		}
		if ch.Kind == archive.KindSerial && ch.Baud > 0 && ch.Baud < 2400 {
			// a slow line: 0.4 s on the wire each way, plus slow meters
			ch.Timeout = 3 * time.Second
		}
		a.Channels = append(a.Channels, ch)
		a.Concentrators = append(a.Concentrators, archive.Concentrator{ID: c.ID, Area: ac.ID, Channels: []string{ch.ID}})

		modbus := ch.Kind.IsModbus()
		terminal := ch.Kind == archive.KindGDW3761
		meter := func(i int, mc model.MeterConfig) archive.Meter {
			m := archive.Meter{Address: mc.Address, Edition: archive.Edition(fmt.Sprint(mc.Edition)),
				Channel: ch.ID, Area: ac.ID, Role: archive.RoleCustomer, CT: max(mc.CT, 1), PT: max(mc.PT, 1)}
			if modbus {
				m.Edition, m.Unit = archive.EditionModbus, i+1 // unit ids in line order, area meter first
			}
			if terminal {
				m.Point = i + 1 // the concentrator's archive: the area meter point 1, customers 2.. (sim/simulator)
			}
			if demo {
				m.Lat, m.Lon = meterPlace(ai, i)
			}
			if i == 0 {
				m.Role = archive.RoleArea
				if v, ok := demoVerification[ac.ID]; ok && demo {
					m.VerifiedOn, m.VerifyMonths, m.Tolerance = v.on, v.months, archive.AccuracyOK
				}
				if demo && m.Address == DemoWrongMultiplierMeter {
					m.Multiplier = DemoWrongMultiplier
				}
			} else {
				m.Customer = fmt.Sprintf("%s-%04d", ac.ID, i)
				m.Tariff = mc.Class.String()
				if mc.PVKW > 0 {
					m.Role = archive.RolePV
				}
			}
			return m
		}
		a.Meters = append(a.Meters, meter(0, ac.AreaMeter))
		for i, mc := range ac.Customers {
			if demo && mc.Address == DemoUnarchived {
				continue
			}
			a.Meters = append(a.Meters, meter(i+1, mc))
		}
	}
	return a
}

// TestDemoArchive checks that configs/archive-demo holds the demo
// scenario's archive, one CSV per area (-update rewrites them).
func TestDemoArchive(t *testing.T) {
	s, err := scenario.Load(demoScenario)
	if err != nil {
		t.Fatal(err)
	}
	want := FromScenario(s)
	if err := want.Validate(); err != nil {
		t.Fatalf("generated archive: %v", err)
	}
	for _, ar := range want.Areas {
		var ms []archive.Meter
		for _, m := range want.Meters {
			if m.Area == ar.ID {
				ms = append(ms, m)
			}
		}
		var buf bytes.Buffer
		if err := archive.WriteMetersCSV(&buf, ms); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(demoDir, ar.ID+".csv")
		if *update {
			if err := os.MkdirAll(demoDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./archive -run TestDemoArchive -update)", err)
		}
		got, err := archive.ReadMetersCSV(bytes.NewReader(data), ar.ID+".csv")
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			got[i].Source = ""
		}
		if !reflect.DeepEqual(got, ms) {
			t.Errorf("%s differs from the scenario's archive (run with -update after checking why)", path)
		}
	}
	// the moved meter stays in its archive area; the unarchived one is
	// not there
	ix := want.Index()
	for _, ac := range s.Config.Areas {
		for _, mc := range ac.Customers {
			m, ok := ix.Meter(mc.Address)
			switch {
			case mc.Address == DemoUnarchived:
				if ok {
					t.Errorf("planted unarchived meter %s is in the archive", mc.Address)
				}
			case !ok || m.Area != ac.ID:
				t.Errorf("meter %s: archive area %v, want %s", mc.Address, m, ac.ID)
			}
		}
	}
	if m, ok := ix.Meter(DemoWrongMultiplierMeter); !ok || m.Multiplier == m.Ratio() || m.Role != archive.RoleArea {
		t.Errorf("planted multiplier: %+v", m)
	}
}
