package review

import (
	"slices"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
)

// Forward is the register the consumption rules read.
const Forward = "forward active energy total"

// Input is what the rules look at. Everything but the archive may be
// empty; a rule without its inputs finds nothing.
type Input struct {
	Archive *archive.Index
	// Values are validated register values (the analysis' "value"
	// records, current versions): daily freezes and settlement reads.
	// The consumption rules need the days before From too: a period
	// before the first, and the weeks the estimate rules compare.
	Values []vee.Value
	// Loss are the areas' daily balances (the capacity rule's daily
	// energy when the values lack the area meter).
	Loss []loss.Result
	// Reads are raw reads, with their frames: register reads of every
	// meter, and interval and max demand reads of area meters.
	Reads []meter.Read
	// Scans are what answered on the buses.
	Scans []Scan
	// From and To are the days reviewed, both included (any instant of
	// the day, in Config.Location).
	From, To time.Time
	// Today is the day the archive checks are made on (due dates,
	// suspensions, meters that do not answer).
	Today time.Time
}

// midnight is 00:00 of t's day in loc.
func midnight(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// days lists the days from from to to, both included.
func days(from, to time.Time, loc *time.Location) []time.Time {
	var out []time.Time
	for d := midnight(from, loc); !d.After(to); d = d.AddDate(0, 0, 1) {
		out = append(out, d)
	}
	return out
}

// reading is a register value at the start of a day.
type reading struct {
	v   *vee.Value
	day time.Time
}

// series is one meter's forward register, one reading a day: the
// earliest value stamped on that day (a 2007 meter's freeze of 00:00, a
// 1997 meter's read soon after).
type series struct {
	at map[time.Time]*vee.Value // day -> value
}

// of returns the reading on day d.
func (s *series) of(d time.Time) (*vee.Value, bool) {
	if s == nil {
		return nil, false
	}
	v, ok := s.at[d]
	return v, ok
}

// delta is the consumption over day d: the register at the start of the
// next day less that at the start of d, register units (kWh).
func (s *series) delta(d time.Time) (a, b *vee.Value, ok bool) {
	a, ok1 := s.of(d)
	b, ok2 := s.of(d.AddDate(0, 0, 1))
	if !ok1 || !ok2 || b.Value.Cmp(a.Value) < 0 {
		return nil, nil, false
	}
	return a, b, true
}

// daily builds the forward register series of every meter from values
// of class daily whose quality keep accepts.
func daily(values []vee.Value, loc *time.Location, keep func(vee.Quality) bool) map[string]*series {
	out := map[string]*series{}
	for i := range values {
		v := &values[i]
		if v.Class != meter.Daily || v.Quantity != Forward || !keep(v.Quality) {
			continue
		}
		s := out[v.Meter]
		if s == nil {
			s = &series{at: map[time.Time]*vee.Value{}}
			out[v.Meter] = s
		}
		d := midnight(v.Time, loc)
		if o, ok := s.at[d]; !ok || v.Time.Before(o.Time) {
			s.at[d] = v
		}
	}
	return out
}

// taken are the qualities of values that were read (not estimated or
// edited): what the estimated-look rules judge.
func taken(q vee.Quality) bool { return q == vee.Valid || q == vee.Suspect }

// meterArea is the archive area of a meter, "" when it is not archived.
func meterArea(ix *archive.Index, addr string) string {
	if m, ok := ix.Meter(addr); ok {
		return m.Area
	}
	return ""
}

// concentratorOf is the concentrator of a meter's channel.
func concentratorOf(ix *archive.Index, m *archive.Meter) string {
	if c, ok := ix.ConcentratorOf(m.Channel); ok {
		return c.ID
	}
	return ""
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
