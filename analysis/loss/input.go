package loss

import (
	"slices"
	"strings"
	"time"

	"github.com/headend/headend/meter"
)

// Register is the energy register a read is of.
type Register string

// Registers.
const (
	Forward Register = "forward" // forward active energy total
	Reverse Register = "reverse" // reverse active energy total (export)
)

// RegisterOf tells the register of a quantity name: "forward active
// energy total" and its settlement-day variants are Forward, "reverse
// active energy total" ones Reverse.
func RegisterOf(quantity string) (Register, bool) {
	switch {
	case strings.HasPrefix(quantity, "forward active energy total"):
		return Forward, true
	case strings.HasPrefix(quantity, "reverse active energy total"):
		return Reverse, true
	}
	return "", false
}

// Reading is a register value with its key and quality: the time of its
// key is the meter time it stands for (for a daily freeze, 00:00).
type Reading struct {
	Key      meter.Key
	Register Register
	Value    Decimal
	Quality  meter.Quality
}

// PeriodKind is the length of a balance period.
type PeriodKind string

// Period kinds.
const (
	Daily   PeriodKind = "daily"
	Monthly PeriodKind = "monthly"
)

// Period is a balance period [Start, End): supply and sales are the
// register differences between the reads stamped Start and End.
type Period struct {
	Kind       PeriodKind `json:"kind"`
	Start, End time.Time
}

// Day is the daily period of the date of t in t's location: the 00:00
// freezes of that day and the next.
func Day(t time.Time) Period {
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	return Period{Kind: Daily, Start: d, End: d.AddDate(0, 0, 1)}
}

// Month is the monthly period of the month of t in t's location, from
// settlement day day (1..28) at hour to the same instant a month later.
func Month(t time.Time, day, hour int) Period {
	if day < 1 || day > 28 {
		day = 1
	}
	s := time.Date(t.Year(), t.Month(), day, hour, 0, 0, 0, t.Location())
	return Period{Kind: Monthly, Start: s, End: s.AddDate(0, 1, 0)}
}

func (p Period) String() string {
	const f = "2006-01-02T15:04"
	return string(p.Kind) + " " + p.Start.Format(f) + ".." + p.End.Format(f)
}

// Set indexes readings by meter, register and time for the balances. It
// is read-only once built and safe for concurrent use; results point into
// it.
type Set struct {
	by map[setKey][]Reading // sorted by time
}

type setKey struct {
	meter string
	reg   Register
}

// NewSet indexes rs. Readings without a register are ignored. Of two
// readings of one meter, register, class and time the later in rs wins
// (a later layer: an edit, a backfill).
func NewSet(rs []Reading) *Set {
	n := map[setKey]int{}
	for i := range rs {
		if r := &rs[i]; r.Register == Forward || r.Register == Reverse {
			n[setKey{r.Key.Meter, r.Register}]++
		}
	}
	s := &Set{by: make(map[setKey][]Reading, len(n))}
	for i := range rs {
		r := &rs[i]
		if r.Register != Forward && r.Register != Reverse {
			continue
		}
		k := setKey{r.Key.Meter, r.Register}
		v := s.by[k]
		if v == nil {
			v = make([]Reading, 0, n[k])
		}
		s.by[k] = append(v, *r)
	}
	for k, v := range s.by {
		slices.SortStableFunc(v, func(a, b Reading) int { return a.Key.Time.Compare(b.Key.Time) })
		// keep the last of equal time and class
		out := v[:0]
		for i := range v {
			if n := len(out); n > 0 && out[n-1].Key.Time.Equal(v[i].Key.Time) && out[n-1].Key.Class == v[i].Key.Class {
				out[n-1] = v[i]
				continue
			}
			out = append(out, v[i])
		}
		s.by[k] = out
	}
	return s
}

// Len is the number of readings indexed.
func (s *Set) Len() int {
	n := 0
	for _, v := range s.by {
		n += len(v)
	}
	return n
}

// At returns the reading of a meter's register nearest to t within tol,
// preferring class prefer at equal distance, the earlier one after that;
// nil if none.
func (s *Set) At(meterID string, reg Register, t time.Time, tol time.Duration, prefer meter.Class) *Reading {
	v := s.by[setKey{meterID, reg}]
	lo := t.Add(-tol)
	i, _ := slices.BinarySearchFunc(v, lo, func(r Reading, t time.Time) int { return r.Key.Time.Compare(t) })
	var best *Reading
	var bestD time.Duration
	for ; i < len(v) && !v[i].Key.Time.After(t.Add(tol)); i++ {
		d := v[i].Key.Time.Sub(t).Abs()
		if best == nil || d < bestD || (d == bestD && v[i].Key.Class == prefer && best.Key.Class != prefer) {
			best, bestD = &v[i], d
		}
	}
	return best
}
