package anomaly

import (
	"math"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
)

// Kind is what a flag says.
//
// Each kind's delay is how many days of reads from the fault's onset its
// rule needs before it can fire ([Kind.Delay]), with the defaults; a run
// the morning after the onset day holds 1 (that day's instantaneous reads
// and the next 00:00 freeze).
type Kind string

// Flag kinds.
const (
	// Stopped: no energy registered while current flows or load is
	// expected. 1 day when an instantaneous read of the day shows current
	// while the freezes do not advance; Config.StoppedDays (2) when only
	// the meter's baseline expects load.
	Stopped Kind = "stopped"
	// ReverseEnergy: reverse energy on a consumer-only meter. 1 day.
	ReverseEnergy Kind = "reverse_energy"
	// RegisterBack: a register went down, not by a rollover. 1 day when
	// the day's freezes show it (the decrease outweighs the day's use); 2
	// for a smaller one, seen as a day's dip the area's loss shows too,
	// the day after back to normal.
	RegisterBack Kind = "register_back"
	// RegisterJump: a day's energy beyond the meter's history (or its
	// class's typical day, for a new meter) and rating. 1 day.
	RegisterJump Kind = "register_jump"
	// ClockDrift: clock error beyond tolerance. 1 day (the nightly clock
	// read).
	ClockDrift Kind = "clock_drift"
	// PhaseLoss: a phase the meter has lost its voltage.
	// 1 day (Config.PhaseLossReads reads of a day).
	PhaseLoss Kind = "phase_loss"
	// VoltageRange: voltage outside the supply range. 1 day.
	VoltageRange Kind = "voltage_range"
	// CurrentImbalance: phase currents far apart. 1 day.
	CurrentImbalance Kind = "current_imbalance"
	// CoverOpened: the cover-open counter rose. 2 days: the counter is
	// read nightly at 03:00, after the morning run, so an opening is seen
	// by the run of the morning after the next read (up to 45 h).
	CoverOpened Kind = "cover_opened"
	// NoAnswer: daily reads failed Config.NoAnswerDays (3) days running.
	// (The analysis also flags, by the next morning, a meter that answered
	// none of a day's reads from some hour on, over 2 hours at least, nor
	// the daily read after them: 1 day from a silence that began during a
	// day.)
	NoAnswer Kind = "no_answer"
	// LossClassChange: an area's loss class changed. 1 day.
	LossClassChange Kind = "loss_class_change"
	// MovedMeter: two areas' losses explained by a meter in the wrong
	// area. Config.MovedStepDays (3) days for a step, Config.MovedDays
	// (7) for the persistent rule.
	MovedMeter Kind = "moved_meter"
	// Theft: a customer's drop explains the area's loss rise.
	// Config.TheftDays (7) days of the drop, after Config.TheftMinBaseline
	// (7) days of the customer's history.
	Theft Kind = "theft"
)

// Delay returns how many days of reads from a fault's onset a flag of
// kind k needs at the soonest before its rule can fire, with cfg's
// thresholds (zero fields take the defaults); 0 for an unknown kind.
func (k Kind) Delay(cfg Config) int {
	cfg = cfg.withDefaults()
	switch k {
	case Stopped, ReverseEnergy, RegisterBack, RegisterJump, ClockDrift, PhaseLoss, VoltageRange, CurrentImbalance, LossClassChange:
		return 1
	case CoverOpened:
		return 2
	case NoAnswer:
		return cfg.NoAnswerDays
	case MovedMeter:
		return cfg.MovedStepDays
	case Theft:
		return cfg.TheftDays
	}
	return 0
}

// Kinds are the flag kinds, in the order of their declaration.
var Kinds = []Kind{Stopped, ReverseEnergy, RegisterBack, RegisterJump, ClockDrift, PhaseLoss, VoltageRange, CurrentImbalance,
	CoverOpened, NoAnswer, LossClassChange, MovedMeter, Theft}

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
	Reads      []meter.Key // the reads behind it
	Figures    []Figure
	// Delay is how many days of reads from the onset its kind needs at
	// the soonest before it can fire ([Kind.Delay]).
	Delay int
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
	// Phases are the phase counts of meters, known from their history
	// (the phases an earlier run saw with voltage or current): a phase
	// lost before the window's instantaneous reads begin is still one of
	// the meter's phases. Meters without an entry count the phases their
	// reads show.
	Phases map[string]int
	// Explained are customers whose drop in registered energy another
	// flag explains (stopped, no answer, phase loss, reverse energy, a
	// register going back), from the day it starts. The theft ranking
	// leaves them out as candidates and adds back to the area's loss the
	// energy they failed to register, so that a stopped meter neither
	// hides a thief nor is ranked as one. Detect adds what its own flags
	// explain.
	Explained map[string]time.Time
	// Events are the terminals' event records (any order): evidence on
	// the flags they speak of, and enough alone for some (event.go).
	Events []Event
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
