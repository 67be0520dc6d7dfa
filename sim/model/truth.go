package model

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// GroundTruth is what really happened in a simulation: true energies per
// area and meter per day, recent 15-minute true consumption per meter, and
// the planted faults. Energies are primary kWh (registers × CT × PT).
type GroundTruth struct {
	Scenario    string       `json:"scenario"`
	Seed        int64        `json:"seed"`
	Start       time.Time    `json:"start"`
	Now         time.Time    `json:"now"` // integrated up to here
	StepMinutes int          `json:"step_minutes"`
	Faults      []FaultTruth `json:"faults"`
	Areas       []AreaTruth  `json:"areas"`
	Meters      []MeterTruth `json:"meters,omitempty"`
}

// FaultTruth is one planted fault or wire behaviour.
type FaultTruth struct {
	Meter       string     `json:"meter"`
	Area        string     `json:"area"` // archive area
	Kind        FaultKind  `json:"kind"`
	Start       time.Time  `json:"start"`
	End         *time.Time `json:"end,omitempty"`
	Fraction    float64    `json:"fraction,omitempty"`
	Amount      int64      `json:"amount_centi_kwh,omitempty"`
	DriftPerDay float64    `json:"drift_s_per_day,omitempty"`
	Phase       string     `json:"phase,omitempty"`
	ToArea      string     `json:"to_area,omitempty"`
	Delay       string     `json:"delay,omitempty"`
	Rate        float64    `json:"rate,omitempty"`
	Bytes       int        `json:"bytes,omitempty"`
}

// AreaTruth is an area's archive data and its true daily balance.
type AreaTruth struct {
	ID           string    `json:"id"`
	Feeder       string    `json:"feeder"`
	VoltageLevel string    `json:"voltage_level"`
	AreaMeter    string    `json:"area_meter"`
	Multiplier   int       `json:"multiplier"` // CT × PT of the area meter
	TechLossPct  float64   `json:"tech_loss_pct"`
	Days         []AreaDay `json:"days"`
	Customers    int       `json:"customers"` // in the archive
	Concentrator string    `json:"concentrator,omitempty"`
	Access       string    `json:"access,omitempty"`
}

// AreaDay is an area's truth for one day (00:00 to 00:00 simulated time).
//
// With registered supply = Δ(area meter forward − reverse) × CT × PT and
// registered sales = Σ over the archive's customers Δ(forward − reverse) ×
// CT × PT, the head-end's loss is
//
//	supply − sales = TechLoss + Theft + RegisterError + MovedIn − MovedOut + AreaMeterError
//
// (= ExpectedLoss) up to register rounding: each register difference is off
// by less than 0.01 kWh × multiplier.
type AreaDay struct {
	Date           string  `json:"date"`
	Complete       bool    `json:"complete"`
	Supply         float64 `json:"supply_kwh"`      // true net energy into the area at the transformer
	Consumption    float64 `json:"consumption_kwh"` // customers physically in the area
	PVGeneration   float64 `json:"pv_generation_kwh"`
	PVExport       float64 `json:"pv_export_kwh"` // Σ per-step customer net export
	TechLoss       float64 `json:"tech_loss_kwh"`
	Theft          float64 `json:"theft_kwh"`
	RegisterError  float64 `json:"register_error_kwh"` // energy customers' faulty meters did not register (stopped, phase loss, reverse wiring, jumps: negative)
	MovedIn        float64 `json:"moved_in_kwh"`       // registered by meters here in the field, archived elsewhere
	MovedOut       float64 `json:"moved_out_kwh"`      // registered by meters archived here, in another area in the field
	AreaMeterError float64 `json:"area_meter_error_kwh"`
	ExpectedLoss   float64 `json:"expected_loss_kwh"`
	LossRatePct    float64 `json:"true_loss_rate_pct"` // (TechLoss + Theft) / Supply
}

// MeterTruth is a customer meter's truth.
type MeterTruth struct {
	Address      string      `json:"address"`
	Area         string      `json:"area"`          // archive
	PhysicalArea string      `json:"physical_area"` // now
	Class        string      `json:"class"`
	Days         []MeterDay  `json:"days"`
	Intervals    *Intervals  `json:"intervals,omitempty"`
	Faults       []FaultKind `json:"faults,omitempty"`
}

// MeterDay is a customer's truth for one day.
type MeterDay struct {
	Date          string  `json:"date"`
	Complete      bool    `json:"complete"`
	Consumption   float64 `json:"consumption_kwh"`
	PVGeneration  float64 `json:"pv_generation_kwh"`
	PVExport      float64 `json:"pv_export_kwh"`
	Theft         float64 `json:"theft_kwh"`
	RegisteredNet float64 `json:"registered_net_kwh"` // Δ(forward − reverse) × CT × PT before rounding
}

// Intervals is true consumption per 15-minute step, oldest first, ending
// at GroundTruth.Now.
type Intervals struct {
	Start       time.Time `json:"start"`
	Consumption []float32 `json:"consumption_kwh"`
}

// TruthOptions select what Truth includes.
type TruthOptions struct {
	Area      string // only this area (and its archive customers); "" = all
	Meters    bool   // include per-meter truth
	Intervals bool   // include per-meter 15-minute consumption
}

func kwh(u int64) float64 { return float64(u) / 1e6 }

func (f *Fleet) date(day int32) string {
	t := time.Unix(int64(day)*86400, 0).UTC()
	return t.Format("2006-01-02")
}

func (f *Fleet) areaDay(a areaAcc, complete bool) AreaDay {
	exp := a.loss + a.theft + a.regErr + a.movedIn - a.movedOut + a.amEr
	d := AreaDay{Date: f.date(a.day), Complete: complete, Supply: kwh(a.supply), Consumption: kwh(a.cons),
		PVGeneration: kwh(a.gen), PVExport: kwh(a.exp), TechLoss: kwh(a.loss), Theft: kwh(a.theft),
		RegisterError: kwh(a.regErr), MovedIn: kwh(a.movedIn), MovedOut: kwh(a.movedOut),
		AreaMeterError: kwh(a.amEr), ExpectedLoss: kwh(exp)}
	if a.supply > 0 {
		d.LossRatePct = float64(a.loss+a.theft) / float64(a.supply) * 100
	}
	return d
}

// Truth returns the ground truth up to the current step.
func (f *Fleet) Truth(opt TruthOptions) *GroundTruth {
	f.mu.RLock()
	defer f.mu.RUnlock()
	g := &GroundTruth{Scenario: f.Name, Seed: f.Seed, Start: f.start, Now: f.t0, StepMinutes: int(Step / time.Minute),
		Faults: []FaultTruth{}, Areas: []AreaTruth{}}
	for _, m := range f.meters {
		if opt.Area != "" && m.Area.ID != opt.Area {
			continue
		}
		for _, ft := range m.Faults {
			t := FaultTruth{Meter: m.Address, Area: m.Area.ID, Kind: ft.Kind, Start: ft.Start.In(f.zone),
				Fraction: ft.Fraction, Amount: ft.Amount, DriftPerDay: ft.DriftPerDay, ToArea: ft.Area,
				Rate: ft.Rate, Bytes: ft.Bytes}
			if !ft.End.IsZero() {
				e := ft.End.In(f.zone)
				t.End = &e
			}
			if ft.Kind == FaultPhaseLoss {
				t.Phase = string(rune('A' + ft.Phase))
			}
			if ft.Delay > 0 {
				t.Delay = ft.Delay.String()
			}
			g.Faults = append(g.Faults, t)
		}
	}
	for _, a := range f.areas {
		if opt.Area != "" && a.ID != opt.Area {
			continue
		}
		at := AreaTruth{ID: a.ID, Feeder: a.Feeder, VoltageLevel: a.VoltageLevel, AreaMeter: a.Meter.Address,
			Multiplier: a.Meter.CT * a.Meter.PT, TechLossPct: a.TechLossPct, Customers: len(a.Customers),
			Concentrator: a.Concentrator.ID, Access: a.Concentrator.Access.Kind}
		for i := a.truth.len() - 1; i >= 0; i-- {
			at.Days = append(at.Days, f.areaDay(*a.truth.at(i), true))
		}
		at.Days = append(at.Days, f.areaDay(a.today, false))
		g.Areas = append(g.Areas, at)
	}
	if !opt.Meters {
		return g
	}
	g.Meters = []MeterTruth{}
	for _, m := range f.meters {
		if m.Role != RoleCustomer || (opt.Area != "" && m.Area.ID != opt.Area) {
			continue
		}
		mt := MeterTruth{Address: m.Address, Area: m.Area.ID, PhysicalArea: m.phys.ID, Class: m.Class.String()}
		for _, ft := range m.Faults {
			mt.Faults = append(mt.Faults, ft.Kind)
		}
		day := func(d meterDay, complete bool) MeterDay {
			return MeterDay{Date: f.date(d.day), Complete: complete, Consumption: kwh(d.cons),
				PVGeneration: kwh(d.gen), PVExport: kwh(d.exp), Theft: kwh(d.theft), RegisteredNet: kwh(d.regNet)}
		}
		for i := m.truth.len() - 1; i >= 0; i-- {
			mt.Days = append(mt.Days, day(*m.truth.at(i), true))
		}
		mt.Days = append(mt.Days, day(m.today, false))
		if opt.Intervals && m.intervals.len() > 0 {
			n := m.intervals.len()
			iv := &Intervals{Start: f.t0.Add(-time.Duration(n) * Step), Consumption: make([]float32, n)}
			for i := range n {
				iv.Consumption[i] = *m.intervals.at(n - 1 - i)
			}
			mt.Intervals = iv
		}
		g.Meters = append(g.Meters, mt)
	}
	return g
}

// WriteTruth writes the complete ground truth (areas, faults, meters with
// their intervals) as indented JSON.
func (f *Fleet) WriteTruth(w io.Writer) error {
	return writeJSON(w, f.Truth(TruthOptions{Meters: true, Intervals: true}))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(v)
}

// TruthHandler serves the ground truth as JSON. Query parameters: area=ID
// limits it to one area; meters=0 leaves out per-meter truth; intervals=0
// leaves out the 15-minute series.
func (f *Fleet) TruthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		flag := func(k string) bool {
			v := q.Get(k)
			if v == "" {
				return true
			}
			b, err := strconv.ParseBool(v)
			return err == nil && b
		}
		opt := TruthOptions{Area: q.Get("area"), Meters: flag("meters"), Intervals: flag("intervals")}
		if opt.Area != "" && f.Area(opt.Area) == nil {
			http.Error(w, "unknown area "+strconv.Quote(opt.Area), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = writeJSON(w, f.Truth(opt))
	})
}
