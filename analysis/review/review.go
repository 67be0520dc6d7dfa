package review

import (
	"time"

	"github.com/headend/headend/meter"
)

// Report is what the review rules found over a range of days, and the
// actual-read rates they judged.
type Report struct {
	From     string    `json:"from"`
	To       string    `json:"to"`
	Findings []Finding `json:"findings"`
	Rates    []Rate    `json:"rates"`
}

// Review runs the review rules over the days in.From to in.To.
func Review(in *Input, cfg Config) Report {
	loc := cfg.loc()
	from, to := midnight(in.From, loc), midnight(in.To, loc)
	rep := Report{From: day(from), To: day(to), Findings: []Finding{}, Rates: []Rate{}}
	if in.Archive == nil || to.Before(from) {
		return rep
	}
	x := &run{in: in, cfg: &cfg, loc: loc, from: from, to: to}
	x.exchanges(func(t time.Time) bool { return !t.Before(from) && t.Before(to.AddDate(0, 0, 1)) })
	x.estimated()
	x.frames()
	if rs := x.readRates(); rs != nil {
		rep.Rates = rs
	}
	x.consumption()
	x.capacity()
	x.suspended(to)
	sortFindings(x.out)
	rep.Findings = append(rep.Findings, x.out...)
	return rep
}

// CheckArchive runs the archive checks as of in.Today: multipliers, scans,
// meters that do not answer, due dates, and every exchange on record.
func CheckArchive(in *Input, cfg Config) []Finding {
	out := []Finding{}
	if in.Archive == nil {
		return out
	}
	loc := cfg.loc()
	today := midnight(in.Today, loc)
	x := &run{in: in, cfg: &cfg, loc: loc, from: today, to: today}
	x.multipliers(today)
	x.scans()
	x.answers(today)
	x.dueDates(today)
	x.exchanges(func(time.Time) bool { return true })
	sortFindings(x.out)
	return append(out, x.out...)
}

// run is one review or check.
type run struct {
	in       *Input
	cfg      *Config
	loc      *time.Location
	from, to time.Time // days, both included
	out      []Finding

	fwd map[string]*series // usable daily forward values, per meter
}

func (x *run) add(f Finding) {
	if f.Evidence == nil {
		f.Evidence = []Evidence{}
	}
	x.out = append(x.out, f)
}

// usableSeries is the forward series of usable values, built once.
func (x *run) usableSeries() map[string]*series {
	if x.fwd == nil {
		x.fwd = daily(x.in.Values, x.loc, meter.Quality.Usable)
	}
	return x.fwd
}

// inRange reports whether day d is reviewed.
func (x *run) inRange(d time.Time) bool { return !d.Before(x.from) && !d.After(x.to) }
