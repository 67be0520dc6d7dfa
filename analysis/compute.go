package analysis

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// Config holds the settings of each stage.
type Config struct {
	VEE     vee.Config
	Loss    loss.Config
	Anomaly anomaly.Config
}

// DefaultConfig returns each stage's defaults, with line loss taking a
// boundary read up to 3 hours after midnight (1997 meters keep no daily
// freeze and are read once the day has begun).
func DefaultConfig() Config {
	c := Config{VEE: vee.DefaultConfig(), Loss: loss.DefaultConfig(), Anomaly: anomaly.DefaultConfig()}
	c.Loss.Tolerance = 3 * time.Hour
	return c
}

// Input is what one computation works on.
type Input struct {
	Archive *archive.Index
	// Days are the days to balance, each as 00:00 in the head-end's zone;
	// a day's balance needs the freezes of that day and the next.
	Days []time.Time
	// Registers are the daily and monthly register reads of the window.
	Registers []meter.Read
	// Instant are instantaneous reads (phase voltages and currents),
	// clock errors and event counters.
	Instant []meter.Read
	// Events are the terminals' event records (reads of class event):
	// evidence on the flags (EventsOf).
	Events []meter.Read
	// Phases are the phase counts of meters known from earlier reads (see
	// anomaly.Input.Phases); Run keeps them from run to run.
	Phases map[string]int
	// Edits are approved corrections of register values: each replaces
	// the validated value at its key (quality edited), and the balances
	// and billing use it.
	Edits []Edit
	// Faults are approved fault energies: each is added back to the
	// balances of the days it covers (loss.AddBackAll).
	Faults []loss.Fault
}

// Edit is a person's correction of one register value, approved.
type Edit struct {
	Key    vee.Key
	Value  dlt645.Decimal
	Who    string // who proposed it, and who approved it
	Reason string
	At     time.Time // when it was approved
	Ref    string    // the correction it comes from
}

// Output is what one computation found.
type Output struct {
	// Values are the validated register values, estimates in place of
	// the gaps they fill, by meter, quantity and time.
	Values []vee.Value
	// Loss are the areas' balances of every day of Input.Days, from the
	// values of usable quality; a customer meter that cannot enter a
	// computable balance (it did not answer, its clock is off, it died
	// before it had history) or whose register jumped is estimated into
	// it, marked estimated, rather than left out.
	Loss []loss.Result
	// Report holds the flags and the theft rankings, raised from the
	// registers as the meters showed them (a register jump is what VEE
	// holds back from the balance and what the flags must see).
	Report anomaly.Report
	// Meter is the archive's view the flags were raised on: the balances
	// of every day from the registers as read.
	MeterLoss []loss.Result
	// Qualities counts the values of each quality, estimates included.
	Qualities map[vee.Quality]int
	Gaps      []vee.Gap // gaps left unestimated, and why
	Stats     vee.Stats
	// Audits are the edits applied, each with the value before it.
	Audits []vee.Audit
}

// applyEdits replaces the values the edits name (sorted as latest sorts
// them) by their edited versions; an edit of a value not in the window
// is left for the run whose window holds it.
func applyEdits(vals []vee.Value, edits []Edit) ([]vee.Value, []vee.Audit) {
	var audits []vee.Audit
	for _, e := range edits {
		i, ok := slices.BinarySearchFunc(vals, e.Key, func(v vee.Value, k vee.Key) int {
			return cmp.Or(strings.Compare(v.Meter, k.Meter), strings.Compare(string(v.Class), string(k.Class)),
				strings.Compare(v.Quantity, k.Quantity), v.Time.Compare(k.Time))
		})
		if !ok {
			continue
		}
		ev, au, err := vee.Edit(vals[i], e.Value, e.Who, e.Reason+" (correction "+e.Ref+")", e.At)
		if err != nil {
			continue
		}
		vals[i] = ev
		audits = append(audits, au)
	}
	return vals, audits
}

// Compute validates, estimates, balances and flags.
func Compute(in Input, cfg Config) (Output, error) {
	var out Output
	v, err := vee.NewValidator(cfg.VEE)
	if err != nil {
		return out, fmt.Errorf("vee: %w", err)
	}
	ix := in.Archive
	if ix == nil {
		ix = (&archive.Archive{}).Index()
	}
	// the validator sees the reads in the order they arrived
	all := make([]meter.Read, 0, len(in.Registers)+len(in.Instant))
	all = append(all, in.Instant...)
	all = append(all, in.Registers...)
	slices.SortStableFunc(all, func(a, b meter.Read) int {
		return cmp.Or(a.ReadAt.Compare(b.ReadAt), strings.Compare(a.Meter, b.Meter))
	})
	vals := v.Validate(nil, all...)
	out.Stats = v.Stats()

	current := latest(vals)
	// estimates fill the gaps of each daily register series
	var regs, inst []vee.Value
	series := map[[2]string][]vee.Value{}
	for _, x := range current {
		if x.Class == meter.Daily || x.Class == meter.Monthly {
			if _, ok := loss.RegisterOf(x.Quantity); ok || strings.Contains(x.Quantity, "energy") {
				regs = append(regs, x)
				if x.Class == meter.Daily {
					k := [2]string{x.Meter, x.Quantity}
					series[k] = append(series[k], x)
				}
				continue
			}
		}
		inst = append(inst, x)
	}
	keys := make([][2]string, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
	var est []vee.Value
	for _, k := range keys {
		e, gaps, err := vee.Estimate(cfg.VEE, series[k], nil)
		if err != nil {
			continue // not a register series
		}
		est = append(est, e...)
		out.Gaps = append(out.Gaps, gaps...)
	}
	regs = latest(append(regs, est...))
	regs, out.Audits = applyEdits(regs, in.Edits)
	out.Values = regs
	out.Qualities = map[vee.Quality]int{}
	for i := range regs {
		out.Qualities[regs[i].Quality]++
	}
	for i := range inst {
		out.Qualities[inst[i].Quality]++
	}

	// the balances, from the values billing would use
	var official []loss.Reading
	for i := range regs {
		x := &regs[i]
		reg, ok := loss.RegisterOf(x.Quantity)
		if !ok || x.Quantity != string(reg)+" active energy total" {
			continue
		}
		official = append(official, loss.Reading{Key: x.Key, Register: reg, Value: x.Value, Quality: x.Quality})
	}

	// the flags, from the registers as read
	var raw []loss.Reading
	for i := range in.Registers {
		r := &in.Registers[i]
		reg, ok := loss.RegisterOf(r.Quantity)
		if r.Status != meter.OK || !ok || r.Quantity != string(reg)+" active energy total" || r.Class != meter.Daily {
			continue
		}
		raw = append(raw, loss.Reading{Key: meter.Key{Meter: r.Meter, Class: r.Class, Quantity: r.Quantity, Time: stamp(r)}, Register: reg, Value: r.Value, Quality: meter.Valid})
	}
	out.MeterLoss = balance(ix, in.Days, loss.NewSet(raw), cfg.Loss)
	var instant []loss.Reading
	for i := range inst {
		x := &inst[i]
		if x.Quality == vee.Failed || x.Text != "" {
			continue
		}
		instant = append(instant, loss.Reading{Key: x.Key, Value: x.Value, Quality: x.Quality})
	}
	out.Report = anomaly.Detect(anomaly.Input{Archive: ix, Loss: out.MeterLoss, Instant: instant, Phases: in.Phases, Events: EventsOf(in.Events)}, cfg.Anomaly)
	loc := cfg.VEE.Location
	if loc == nil {
		loc = vee.CST
	}
	out.Report.Flags = silent(asked(out.Report.Flags, in.Registers, cfg.Anomaly.NoAnswerDays, loc), ix, in.Days, in.Registers, in.Instant)
	// the balances, from the values billing would use, the meters that
	// cannot enter them estimated
	out.Loss = loss.AddBackAll(estimate(balance(ix, in.Days, loss.NewSet(official), cfg.Loss), regs, out.Report.Flags, cfg.Loss), in.Faults, cfg.Loss)
	return out, nil
}

// asked keeps the no-answer flags whose meter was asked and failed to
// answer on at least n days of the flag's span: a meter missing from the
// reads because it has not been read yet (a new meter, a backfill still
// under way, days before the head-end began) has not stopped answering.
func asked(flags []anomaly.Flag, regs []meter.Read, n int, loc *time.Location) []anomaly.Flag {
	if n <= 0 {
		n = anomaly.DefaultConfig().NoAnswerDays
	}
	type day struct {
		meter string
		date  string
	}
	ok, failed := map[day]bool{}, map[day]bool{}
	for i := range regs {
		r := &regs[i]
		if r.Class != meter.Daily {
			continue
		}
		d := day{r.Meter, stamp(r).In(loc).Format(time.DateOnly)}
		if r.Status == meter.OK {
			ok[d] = true
		} else if r.Status == meter.Failed {
			failed[d] = true
		}
	}
	out := flags[:0]
	for _, f := range flags {
		if f.Kind == anomaly.NoAnswer && f.Meter != "" {
			k := 0
			for t := f.Start; !t.After(f.End.AddDate(0, 0, 1)); t = t.AddDate(0, 0, 1) {
				if d := (day{f.Meter, t.In(loc).Format(time.DateOnly)}); failed[d] && !ok[d] {
					k++
				}
			}
			if k < n {
				continue
			}
		}
		out = append(out, f)
	}
	return out
}

func balance(ix *archive.Index, days []time.Time, s *loss.Set, cfg loss.Config) []loss.Result {
	var out []loss.Result
	for _, d := range days {
		out = append(out, loss.ComputeAll(ix, loss.Day(d), s, cfg)...)
	}
	return out
}

// PhasesSeen adds to known the phase counts the instantaneous reads show:
// a meter has phase X up to the last phase read with a voltage of at
// least phase-loss level × the direct rating's nominal voltage, or with
// current above the stopped-meter current. It returns known (a new map
// when known is nil).
func PhasesSeen(known map[string]int, reads []meter.Read, cfg anomaly.Config) map[string]int {
	d := anomaly.DefaultConfig()
	vmin := cmp.Or(cfg.PhaseLoss, d.PhaseLoss) * cmp.Or(cfg.DirectRating.Voltage, d.DirectRating.Voltage)
	imin := cmp.Or(cfg.StoppedCurrent, d.StoppedCurrent)
	if known == nil {
		known = map[string]int{}
	}
	for i := range reads {
		r := &reads[i]
		q := r.Quantity
		if r.Status != meter.OK || len(q) < len("phase A ") || !strings.HasPrefix(q, "phase ") || q[6] < 'A' || q[6] > 'C' {
			continue
		}
		v := r.Value.Float64()
		if q[8:] == "voltage" && v >= vmin || q[8:] == "current" && math.Abs(v) > imin {
			known[r.Meter] = max(known[r.Meter], int(q[6]-'A')+1)
		}
	}
	return known
}

// stamp is the time a read stands for: its meter time, else its receipt.
func stamp(r *meter.Read) time.Time {
	if !r.MeterTime.IsZero() {
		return r.MeterTime
	}
	return r.ReadAt
}

// latest keeps the highest version of each key, ordered by meter,
// class, quantity and time.
func latest(vals []vee.Value) []vee.Value {
	slices.SortStableFunc(vals, func(a, b vee.Value) int {
		return cmp.Or(strings.Compare(a.Meter, b.Meter), strings.Compare(string(a.Class), string(b.Class)),
			strings.Compare(a.Quantity, b.Quantity), a.Time.Compare(b.Time), cmp.Compare(a.Version, b.Version))
	})
	out := vals[:0]
	for _, x := range vals {
		if n := len(out); n > 0 && out[n-1].Key == x.Key {
			out[n-1] = x
			continue
		}
		out = append(out, x)
	}
	return out
}
