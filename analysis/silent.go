package analysis

import (
	"fmt"
	"slices"
	"time"

	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
)

// silentMin is the fewest reads of a day, all failed, that make a meter
// silent that day.
const silentMin = 4

// silentSpan is the shortest silence, up to the day's end, of a meter
// that answered earlier that day that makes it silent: one that stopped
// answering in the afternoon and missed its daily read has stopped, where
// an intermittent one misses only the night's read.
const silentSpan = 2 * time.Hour

// silentTrail is the fewest reads of such a silence, the daily read after
// them not counted (the instantaneous reads come every few hours).
const silentTrail = 2

// silent adds a no-answer flag, by the morning after it fell silent, for
// each meter of the archive whose daily read of the last boundary (the
// 00:00 after the last day) failed and whose every read of the last day,
// at least silentMin of them, failed too, or every read since it last
// answered that day, at least silentTrail over at least silentSpan up to
// the day's end: a meter that answers nothing from some hour of a day on
// has stopped answering, which the rule of Config.NoAnswerDays failed
// freezes would say only days later. A meter that answered the day's last
// reads (an intermittent one, missing only the night's read) is left to
// that rule, and so is one already flagged. The flag starts at the first of the failed daily reads
// running up to the last.
func silent(flags []anomaly.Flag, ix *archive.Index, days []time.Time, regs, inst []meter.Read) []anomaly.Flag {
	if len(days) == 0 || ix == nil {
		return flags
	}
	last := days[len(days)-1]
	end := last.AddDate(0, 0, 1)
	type tally struct {
		failed, ok int
		lastOK     time.Time   // the last read of the day it answered
		fails      []time.Time // the day's reads it did not answer
		daily      *meter.Read
		dailyOK    bool
	}
	by := map[string]*tally{}
	get := func(m string) *tally {
		t := by[m]
		if t == nil {
			t = &tally{}
			by[m] = t
		}
		return t
	}
	for _, set := range [2][]meter.Read{regs, inst} {
		for i := range set {
			r := &set[i]
			switch {
			case r.Class == meter.Daily && !r.ReadAt.Before(end) && r.ReadAt.Before(end.AddDate(0, 0, 1)):
				t := get(r.Meter)
				if r.Status == meter.OK {
					t.dailyOK = true
				} else if r.Status == meter.Failed && t.daily == nil {
					t.daily = r
				}
			case !r.ReadAt.Before(last) && r.ReadAt.Before(end):
				t := get(r.Meter)
				if r.Status == meter.OK {
					t.ok++
					if r.ReadAt.After(t.lastOK) {
						t.lastOK = r.ReadAt
					}
				} else if r.Status == meter.Failed {
					t.failed++
					t.fails = append(t.fails, r.ReadAt)
				}
			}
		}
	}
	// the daily reads' answers by meter and boundary, to date the silence
	// from its first failed boundary (a run the morning after keeps it)
	type day struct {
		meter string
		at    time.Time
	}
	okAt, failedAt := map[day]bool{}, map[day]bool{}
	for i := range regs {
		r := &regs[i]
		if r.Class != meter.Daily {
			continue
		}
		t := r.ReadAt.In(last.Location())
		d := day{r.Meter, time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, last.Location())}
		if r.Status == meter.OK {
			okAt[d] = true
		} else if r.Status == meter.Failed {
			failedAt[d] = true
		}
	}
	flagged := map[string]bool{}
	for _, f := range flags {
		if f.Kind == anomaly.NoAnswer {
			flagged[f.Meter] = true
		}
	}
	var meters []string
	for m, t := range by {
		if t.daily == nil || t.dailyOK || flagged[m] {
			continue
		}
		// the reads it failed since it last answered, and since when
		n, since := 0, end
		for _, at := range t.fails {
			if at.After(t.lastOK) {
				n++
				if at.Before(since) {
					since = at
				}
			}
		}
		if t.ok == 0 && t.failed >= silentMin || t.ok > 0 && n >= silentTrail && end.Sub(since) >= silentSpan {
			meters = append(meters, m)
		}
	}
	slices.Sort(meters)
	for _, m := range meters {
		mt, ok := ix.Meter(m)
		if !ok {
			continue
		}
		t := by[m]
		from := end
		for b := end.AddDate(0, 0, -1); !b.Before(days[0]) && failedAt[day{m, b}] && !okAt[day{m, b}]; b = b.AddDate(0, 0, -1) {
			from = b
		}
		f := anomaly.Flag{Kind: anomaly.NoAnswer, Meter: m, Area: mt.Area, Start: from, End: end, Confidence: 0.5, Delay: 1,
			Summary: fmt.Sprintf("no answer to any of its %d reads of %s nor to its daily read of %s", t.failed, last.Format(time.DateOnly), end.Format(time.DateOnly)),
			Reads:   []meter.Key{{Meter: m, Class: meter.Daily, Quantity: t.daily.Quantity, Time: end}},
			Figures: []anomaly.Figure{{Name: "failed reads", Value: loss.Decimal{Units: int64(t.failed)}}, {Name: "days", Value: loss.Decimal{Units: 1}, Unit: "d"}},
		}
		flags = append(flags, f)
	}
	return flags
}
