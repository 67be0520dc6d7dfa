package loss

import (
	"fmt"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
)

// Status is how a meter took part in a balance.
type Status string

// Meter statuses.
const (
	StatusRead      Status = "read"      // all four reads usable, none estimated
	StatusEstimated Status = "estimated" // usable, at least one read estimated
	StatusMissing   Status = "missing"   // not usable: see Issue
)

// Issue is why a meter's difference is unusable.
type Issue string

// Issues.
const (
	IssueNoRead   Issue = "no_read"  // a boundary read is absent
	IssueQuality  Issue = "quality"  // a boundary read is suspect, failed or of unknown quality
	IssueInvalid  Issue = "invalid"  // a register value is negative
	IssueDecrease Issue = "decrease" // the register went down, and not by a rollover
	IssueOverflow Issue = "overflow" // the arithmetic does not fit
)

// Delta is one register's difference over a period.
type Delta struct {
	Start, End *Reading // the boundary reads; nil when absent
	Register   Decimal  // End − Start, a rollover undone (register units)
	Rollover   bool     // the register passed its modulus
	Energy     Decimal  // Register × multiplier: primary kWh
	OK         bool     // usable
}

// MeterResult is one meter's part in a balance.
type MeterResult struct {
	Meter      string
	Role       archive.Role
	Multiplier int64
	Status     Status
	Issue      Issue  // when Missing
	Reason     string // when Missing, for a person
	Forward    Delta
	Reverse    Delta
}

// meterDelta computes a meter's differences over p.
func meterDelta(m *archive.Meter, p Period, s *Set, cfg *Config) MeterResult {
	mr := MeterResult{Meter: m.Address, Role: m.Role, Multiplier: int64(m.CT) * int64(m.PT), Status: StatusRead}
	prefer := classOf(p.Kind)
	for _, reg := range [2]Register{Forward, Reverse} {
		d := &mr.Forward
		if reg == Reverse {
			d = &mr.Reverse
		}
		d.Start = s.At(m.Address, reg, p.Start, cfg.Tolerance, prefer)
		d.End = s.At(m.Address, reg, p.End, cfg.Tolerance, prefer)
		issue, why := registerDelta(m, reg, d, mr.Multiplier, cfg)
		if issue != "" && mr.Issue == "" {
			mr.Status, mr.Issue, mr.Reason = StatusMissing, issue, why
		}
		if mr.Status == StatusRead && (d.Start != nil && d.Start.Quality.Estimated() || d.End != nil && d.End.Quality.Estimated()) {
			mr.Status = StatusEstimated
		}
	}
	return mr
}

func classOf(k PeriodKind) meter.Class {
	if k == Monthly {
		return meter.Monthly
	}
	return meter.Daily
}

// registerDelta fills d from its boundary reads.
func registerDelta(m *archive.Meter, reg Register, d *Delta, mult int64, cfg *Config) (Issue, string) {
	for _, r := range [2]*Reading{d.Start, d.End} {
		if r == nil {
			at := "end"
			if r == d.Start {
				at = "start"
			}
			return IssueNoRead, fmt.Sprintf("no %s read at the period's %s", reg, at)
		}
	}
	for _, r := range [2]*Reading{d.Start, d.End} {
		if !r.Quality.Usable() {
			q := string(r.Quality)
			if q == "" {
				q = "no quality"
			}
			return IssueQuality, fmt.Sprintf("%s read at %s is %s", reg, r.Key.Time.Format("2006-01-02T15:04"), q)
		}
		if Sign(r.Value) < 0 {
			return IssueInvalid, fmt.Sprintf("%s read at %s is negative: %s", reg, r.Key.Time.Format("2006-01-02T15:04"), r.Value)
		}
	}
	a, b := d.Start.Value, d.End.Value
	diff, ok := Sub(b, a)
	if !ok {
		return IssueOverflow, fmt.Sprintf("%s difference %s − %s does not fit", reg, b, a)
	}
	if Sign(diff) < 0 {
		mod, has := cfg.Rollover[m.Edition]
		wrapped, ok := Add(diff, mod)
		if !has || !ok || Cmp(a, mod) >= 0 || !withinWindow(wrapped, mod, cfg.RolloverWindow) {
			return IssueDecrease, fmt.Sprintf("%s register went down from %s to %s (not a rollover)", reg, a, b)
		}
		diff, d.Rollover = wrapped, true
	}
	e, ok := MulInt(diff, mult)
	if !ok {
		return IssueOverflow, fmt.Sprintf("%s difference %s × %d does not fit", reg, diff, mult)
	}
	d.Register, d.Energy, d.OK = diff, e, true
	return "", ""
}

// withinWindow reports whether w ≤ mod × window / 100.
func withinWindow(w, mod, window Decimal) bool {
	lhs, ok1 := MulInt(w, 100)
	if !ok1 {
		return false
	}
	// mod × window as an exact product of two decimals
	p := Decimal{Units: mod.Units * window.Units, Scale: mod.Scale + window.Scale}
	if window.Units != 0 && p.Units/window.Units != mod.Units || p.Scale > MaxScale {
		return false
	}
	return Cmp(lhs, p) <= 0
}
