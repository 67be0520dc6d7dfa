// Package health keeps the collection success rate (采集成功率) per area and
// reading class, from the reads the buses hand out: of the meters the
// archive lists in an area, how many gave a good read in their latest
// cycle of each class.
package health

import (
	"slices"
	"sync"
	"time"

	"github.com/headend/headend/meter"
)

// Tracker counts collection per area and class. The zero Tracker is not
// usable; make one with New.
type Tracker struct {
	mu       sync.Mutex
	expected map[string]int // meters per area in the archive
	last     map[key]map[string]outcome
}

type key struct {
	area  string
	class meter.Class
}

type outcome struct {
	ok bool
	at time.Time
}

// New returns a Tracker for areas of the given sizes.
func New(metersPerArea map[string]int) *Tracker {
	return &Tracker{expected: metersPerArea, last: map[key]map[string]outcome{}}
}

// SetExpected replaces the archive's meter count per area (after a
// reload), keeping what was observed.
func (t *Tracker) SetExpected(metersPerArea map[string]int) {
	t.mu.Lock()
	t.expected = metersPerArea
	t.mu.Unlock()
}

// Observe takes the reads of one task: the meter counts as collected in
// that cycle when at least one value came back and no request failed.
func (t *Tracker) Observe(reads []meter.Read) {
	if len(reads) == 0 {
		return
	}
	r0 := reads[0]
	ok, any := true, false
	for _, r := range reads {
		switch r.Status {
		case meter.OK:
			any = true
		case meter.Failed, meter.Skipped:
			ok = false
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	k := key{r0.Area, r0.Class}
	m := t.last[k]
	if m == nil {
		m = map[string]outcome{}
		t.last[k] = m
	}
	m[r0.Meter] = outcome{ok: ok && any, at: r0.ReadAt}
}

// Rate is the collection of one area in one class.
type Rate struct {
	Area      string      `json:"area"`
	Class     meter.Class `json:"class"`
	Expected  int         `json:"expected"`  // meters in the archive
	Attempted int         `json:"attempted"` // meters tried at least once
	Collected int         `json:"collected"` // meters whose latest try succeeded
	Percent   float64     `json:"percent"`   // Collected / Expected × 100
}

// Rates returns every area's rate per class observed, by area then class.
func (t *Tracker) Rates() []Rate {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Rate
	for k, m := range t.last {
		r := Rate{Area: k.area, Class: k.class, Expected: t.expected[k.area], Attempted: len(m)}
		for _, o := range m {
			if o.ok {
				r.Collected++
			}
		}
		if r.Expected < r.Attempted {
			r.Expected = r.Attempted
		}
		if r.Expected > 0 {
			r.Percent = float64(r.Collected) * 100 / float64(r.Expected)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Rate) int {
		if a.Area != b.Area {
			if a.Area < b.Area {
				return -1
			}
			return 1
		}
		if a.Class < b.Class {
			return -1
		}
		if a.Class > b.Class {
			return 1
		}
		return 0
	})
	return out
}

// Failing returns the meters whose latest try in class failed, by area.
func (t *Tracker) Failing(class meter.Class) map[string][]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string][]string{}
	for k, m := range t.last {
		if k.class != class {
			continue
		}
		for meterID, o := range m {
			if !o.ok {
				out[k.area] = append(out[k.area], meterID)
			}
		}
		slices.Sort(out[k.area])
	}
	return out
}
