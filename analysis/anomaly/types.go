package anomaly

import (
	"math"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/archive"
)

// Kind is what a flag says.
type Kind string

// Flag kinds.
const (
	Stopped          Kind = "stopped"           // no energy over days while current flows or load is expected
	ReverseEnergy    Kind = "reverse_energy"    // reverse energy on a consumer-only meter
	RegisterBack     Kind = "register_back"     // a register went down, not by a rollover
	RegisterJump     Kind = "register_jump"     // a day's energy beyond the meter's history and rating
	ClockDrift       Kind = "clock_drift"       // clock error beyond tolerance
	PhaseLoss        Kind = "phase_loss"        // a phase the meter has lost its voltage
	VoltageRange     Kind = "voltage_range"     // voltage outside the supply range
	CurrentImbalance Kind = "current_imbalance" // phase currents far apart
	CoverOpened      Kind = "cover_opened"      // the cover-open counter rose
	NoAnswer         Kind = "no_answer"         // daily reads failed N days running
	LossClassChange  Kind = "loss_class_change" // an area's loss class changed
	MovedMeter       Kind = "moved_meter"       // two areas' losses explained by a meter in the wrong area
	Theft            Kind = "theft"             // a customer's drop explains the area's loss rise
)

// Flag is one anomaly.
type Flag struct {
	Kind       Kind
	Meter      string    // empty for an area flag
	Area       string    // archive area (for a moved meter: the area it is archived in)
	Other      string    // moved meter: the area it seems to be in
	Start      time.Time // 00:00 of the day it starts
	End        time.Time // 00:00 of the last day it was seen
	Confidence float64   // in [0, 1]
	Summary    string
	Reads      []loss.Key // the reads behind it
	Figures    []Figure
}

// Figure is a named number behind a flag. Energies are exact; statistics
// are rounded to 4 decimals.
type Figure struct {
	Name  string
	Value loss.Decimal
	Unit  string
}

// Rating is what a meter can register: nominal phase voltage (V),
// maximum current (A) and phase count, all on the meter's terminals
// (secondary for a meter behind CT/PT).
type Rating struct {
	Voltage    float64 `yaml:"voltage"`
	MaxCurrent float64 `yaml:"max_current"`
	Phases     int     `yaml:"phases"`
}

// MaxDailyKWh is the most energy per day the rating allows, in register
// units (secondary kWh).
func (r Rating) MaxDailyKWh() float64 {
	return r.Voltage * r.MaxCurrent * float64(r.Phases) * 24 / 1000
}

// Input is what the flags are raised from.
type Input struct {
	Archive *archive.Index
	// Loss are daily balances (any order, any areas); the days they cover
	// are the days analysed.
	Loss []loss.Result
	// Instant are instantaneous reads (quantities "phase A voltage" ..,
	// "phase A current" .., "clock error" in seconds, "meter cover opened
	// count"), any order. Reads of quality "failed" are ignored; others,
	// suspect ones included, count.
	Instant []loss.Reading
	// Ratings by meter address; meters without one take
	// Config.DirectRating or Config.CTRating.
	Ratings map[string]Rating
	// Explained are customers whose drop in registered energy another
	// flag explains (stopped, no answer, phase loss, reverse energy, a
	// register going back), from the day it starts. The theft ranking
	// leaves them out as candidates and adds back to the area's loss the
	// energy they failed to register, so that a stopped meter neither
	// hides a thief nor is ranked as one. Detect adds what its own flags
	// explain.
	Explained map[string]time.Time
}

// explains reports whether a flag of kind k accounts for its meter's
// missing energy.
func explains(k Kind) bool {
	switch k {
	case Stopped, NoAnswer, PhaseLoss, ReverseEnergy, RegisterBack:
		return true
	}
	return false
}

// Quantities read from Input.Instant.
const (
	QuantityClockError = "clock error"
	QuantityCoverOpen  = "meter cover opened count"
)

func dec4(f float64) loss.Decimal {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 9e14 {
		return loss.Decimal{}
	}
	return loss.Decimal{Units: int64(math.Round(f * 1e4)), Scale: 4}
}

func fig(name string, v loss.Decimal, unit string) Figure {
	return Figure{Name: name, Value: v, Unit: unit}
}

func figf(name string, v float64, unit string) Figure {
	return Figure{Name: name, Value: dec4(v), Unit: unit}
}

func clamp01(f float64) float64 {
	if math.IsNaN(f) {
		return 0
	}
	return min(max(f, 0), 1)
}
