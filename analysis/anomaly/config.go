package anomaly

import (
	"time"

	"github.com/headend/headend/analysis/loss"
)

// Config holds the thresholds. Energies are primary kWh (register × CT ×
// PT) unless said otherwise. Zero fields take the defaults of
// [DefaultConfig].
type Config struct {
	// History is how many days before a day make a meter's or an area's
	// baseline (the median); MinHistory the fewest that make one.
	History    int `yaml:"history"`
	MinHistory int `yaml:"min_history"`

	// Stopped: forward and reverse differences zero for StoppedDays days
	// running, with a phase current above StoppedCurrent (A) in a read of
	// those days, or a baseline above StoppedExpected.
	StoppedDays     int          `yaml:"stopped_days"`
	StoppedCurrent  float64      `yaml:"stopped_current"`
	StoppedExpected loss.Decimal `yaml:"stopped_expected"`

	// ReverseMin is the daily reverse energy of a customer (not PV) meter
	// above which it is flagged.
	ReverseMin loss.Decimal `yaml:"reverse_min"`

	// Jump: a day's forward energy above the rating's maximum, or above
	// JumpFactor × the baseline and by more than JumpMin.
	JumpFactor float64      `yaml:"jump_factor"`
	JumpMin    loss.Decimal `yaml:"jump_min"`
	// DirectRating and CTRating rate meters without an entry in
	// Input.Ratings: direct-connected (multiplier 1) and behind a CT.
	DirectRating Rating `yaml:"direct_rating"`
	CTRating     Rating `yaml:"ct_rating"`

	// Clock: |error| above ClockTolerance is flagged; at ClockLimit (what
	// a broadcast may correct) the confidence is 1.
	ClockTolerance time.Duration `yaml:"clock_tolerance"`
	ClockLimit     time.Duration `yaml:"clock_limit"`

	// Voltage, as fractions of the rating's nominal voltage: below
	// PhaseLoss a phase is lost; outside [VoltageLow, VoltageHigh] out of
	// range. A day is flagged at PhaseLossReads, VoltageReads such reads.
	PhaseLoss      float64 `yaml:"phase_loss"`
	VoltageLow     float64 `yaml:"voltage_low"`
	VoltageHigh    float64 `yaml:"voltage_high"`
	PhaseLossReads int     `yaml:"phase_loss_reads"`
	VoltageReads   int     `yaml:"voltage_reads"`

	// Imbalance: (max − min) / max of the phase currents above
	// Imbalance percent, with max above ImbalanceCurrent (A), in
	// ImbalanceReads reads of a day.
	Imbalance        float64 `yaml:"imbalance"`
	ImbalanceCurrent float64 `yaml:"imbalance_current"`
	ImbalanceReads   int     `yaml:"imbalance_reads"`

	// NoAnswerDays is how many daily reads running must have failed.
	NoAnswerDays int `yaml:"no_answer_days"`

	// Moved meter. Step rule: on one day one area's loss falls and
	// another's rises, each by more than MovedMin against its baseline,
	// the two differing by at most MovedTolerance of the larger, and so
	// for MovedStepDays days running.
	// Persistent rule: over MovedDays days or more, a customer's
	// consumption explains one area's loss with slope −1 and another's
	// with +1 (within MovedSlope), with partial correlations beyond
	// MovedCorrelation.
	MovedMin         loss.Decimal `yaml:"moved_min"`
	MovedTolerance   float64      `yaml:"moved_tolerance"`
	MovedStepDays    int          `yaml:"moved_step_days"`
	MovedDays        int          `yaml:"moved_days"`
	MovedSlope       float64      `yaml:"moved_slope"`
	MovedCorrelation float64      `yaml:"moved_correlation"`

	// Theft (see [Ranking]): sliding windows of TheftWindow days, of at
	// least TheftMinWindow counting days, each customer split at its
	// onset with at least TheftMinBaseline days before it and 3 from it.
	// An area is shown lossy when its loss rose by more than
	// TheftMinExcess a day; a customer counts when its drop is above
	// TheftMinDeficit percent of its expected energy, and is flagged at a
	// score of TheftScore once its drop has lasted TheftDays days.
	TheftWindow      int          `yaml:"theft_window"`
	TheftMinWindow   int          `yaml:"theft_min_window"`
	TheftMinBaseline int          `yaml:"theft_min_baseline"`
	TheftMinExcess   loss.Decimal `yaml:"theft_min_excess"`
	TheftMinDeficit  float64      `yaml:"theft_min_deficit"`
	TheftScore       float64      `yaml:"theft_score"`
	TheftDays        int          `yaml:"theft_days"`
	TheftSigma       float64      `yaml:"theft_sigma"`  // standard errors a deficit must stand out by, and an excess may fall short by
	TheftSmooth      int          `yaml:"theft_smooth"` // days of the moving average the correlation is taken on; 1 = none
	TheftTop         int          `yaml:"theft_top"`    // candidates kept in a ranking
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		History: 14, MinHistory: 5,
		StoppedDays: 2, StoppedCurrent: 0.1, StoppedExpected: loss.Decimal{Units: 100, Scale: 2},
		ReverseMin: loss.Decimal{Units: 50, Scale: 2},
		JumpFactor: 10, JumpMin: loss.Decimal{Units: 50},
		DirectRating:   Rating{Voltage: 220, MaxCurrent: 60, Phases: 1},
		CTRating:       Rating{Voltage: 220, MaxCurrent: 6, Phases: 3},
		ClockTolerance: 30 * time.Second, ClockLimit: 5 * time.Minute,
		PhaseLoss: 0.6, VoltageLow: 0.9, VoltageHigh: 1.07, PhaseLossReads: 2, VoltageReads: 4,
		Imbalance: 40, ImbalanceCurrent: 0.5, ImbalanceReads: 4,
		NoAnswerDays: 3,
		MovedMin:     loss.Decimal{Units: 5}, MovedTolerance: 0.2, MovedStepDays: 3, MovedDays: 7, MovedSlope: 0.3, MovedCorrelation: 0.8,
		TheftWindow: 14, TheftMinWindow: 7, TheftMinBaseline: 7, TheftMinExcess: loss.Decimal{Units: 1},
		TheftMinDeficit: 20, TheftScore: 0.5, TheftDays: 7, TheftSigma: 3, TheftSmooth: 3, TheftTop: 10,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	def := func(v *int, dv int) {
		if *v <= 0 {
			*v = dv
		}
	}
	deff := func(v *float64, dv float64) {
		if *v <= 0 {
			*v = dv
		}
	}
	defd := func(v *loss.Decimal, dv loss.Decimal) {
		if *v == (loss.Decimal{}) {
			*v = dv
		}
	}
	defr := func(v *Rating, dv Rating) {
		if v.Voltage <= 0 || v.MaxCurrent <= 0 || v.Phases <= 0 {
			*v = dv
		}
	}
	def(&c.History, d.History)
	def(&c.MinHistory, d.MinHistory)
	def(&c.StoppedDays, d.StoppedDays)
	deff(&c.StoppedCurrent, d.StoppedCurrent)
	defd(&c.StoppedExpected, d.StoppedExpected)
	defd(&c.ReverseMin, d.ReverseMin)
	deff(&c.JumpFactor, d.JumpFactor)
	defd(&c.JumpMin, d.JumpMin)
	defr(&c.DirectRating, d.DirectRating)
	defr(&c.CTRating, d.CTRating)
	if c.ClockTolerance <= 0 {
		c.ClockTolerance = d.ClockTolerance
	}
	if c.ClockLimit <= c.ClockTolerance {
		c.ClockLimit = max(d.ClockLimit, 2*c.ClockTolerance)
	}
	deff(&c.PhaseLoss, d.PhaseLoss)
	deff(&c.VoltageLow, d.VoltageLow)
	deff(&c.VoltageHigh, d.VoltageHigh)
	def(&c.PhaseLossReads, d.PhaseLossReads)
	def(&c.VoltageReads, d.VoltageReads)
	deff(&c.Imbalance, d.Imbalance)
	deff(&c.ImbalanceCurrent, d.ImbalanceCurrent)
	def(&c.ImbalanceReads, d.ImbalanceReads)
	def(&c.NoAnswerDays, d.NoAnswerDays)
	defd(&c.MovedMin, d.MovedMin)
	deff(&c.MovedTolerance, d.MovedTolerance)
	def(&c.MovedStepDays, d.MovedStepDays)
	def(&c.MovedDays, d.MovedDays)
	deff(&c.MovedSlope, d.MovedSlope)
	deff(&c.MovedCorrelation, d.MovedCorrelation)
	def(&c.TheftWindow, d.TheftWindow)
	def(&c.TheftMinWindow, d.TheftMinWindow)
	def(&c.TheftMinBaseline, d.TheftMinBaseline)
	defd(&c.TheftMinExcess, d.TheftMinExcess)
	deff(&c.TheftMinDeficit, d.TheftMinDeficit)
	deff(&c.TheftScore, d.TheftScore)
	def(&c.TheftDays, d.TheftDays)
	def(&c.TheftTop, d.TheftTop)
	def(&c.TheftSmooth, d.TheftSmooth)
	deff(&c.TheftSigma, d.TheftSigma)
	c.TheftMinWindow = min(c.TheftMinWindow, c.TheftWindow)
	return c
}
