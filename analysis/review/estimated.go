package review

import (
	"fmt"
	"math/big"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// dayDelta is one day's consumption of a meter, from the readings at the
// start of the day and of the next.
type dayDelta struct {
	day  time.Time
	kwh  *big.Rat
	a, b string // the readings, for evidence
}

// deltas returns the meter's daily consumption from first to last, nil
// where a reading is missing or the delta is below min.
func deltas(s *series, first, last time.Time, min *big.Rat) []*dayDelta {
	var out []*dayDelta
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		a, b, ok := s.delta(d)
		if !ok {
			out = append(out, nil)
			continue
		}
		k := sub(rat(b.Value), rat(a.Value))
		if k.Cmp(min) < 0 {
			out = append(out, nil)
			continue
		}
		out = append(out, &dayDelta{day: d, kwh: k, a: a.Value.String(), b: b.Value.String()})
	}
	return out
}

func sameDelta(a, b *dayDelta) bool { return a != nil && b != nil && a.kwh.Cmp(b.kwh) == 0 }

func (x *run) deltaEvidence(meter string, ds []*dayDelta) []Evidence {
	var ev []Evidence
	for _, d := range ds {
		ev = append(ev, Evidence{What: fmt.Sprintf("consumption (%s → %s)", d.a, d.b), Meter: meter, Time: day(d.day), Value: show(d.kwh, 2), Unit: "kWh"})
	}
	return ev
}

// estimated finds daily consumption that repeats as an estimate does,
// judged on values that were read (valid or suspect), never on the
// head-end's own estimates.
func (x *run) estimated() {
	r := x.cfg.Estimated
	if r.Off {
		return
	}
	ser := daily(x.in.Values, x.loc, taken)
	back := max(r.RepeatDays, 7*r.Weeks)
	first := x.from.AddDate(0, 0, -back)
	min := rat(r.MinDelta)
	for _, addr := range sortedKeys(ser) {
		m, ok := x.in.Archive.Meter(addr)
		if !ok {
			continue
		}
		ds := deltas(ser[addr], first, x.to, min)
		// the same consumption RepeatDays days running
		for i := 0; i < len(ds); {
			j := i + 1
			for j < len(ds) && sameDelta(ds[i], ds[j]) {
				j++
			}
			if n := j - i; ds[i] != nil && n >= r.RepeatDays && x.inRange(ds[j-1].day) && r.applies(ds[j-1].day) {
				x.add(Finding{Rule: RepeatingDelta, Severity: Medium, Area: m.Area, Meter: addr, Day: day(ds[j-1].day),
					Summary: fmt.Sprintf("meter %s consumed exactly %s kWh a day %d days running (%s to %s): reads that look estimated, not taken",
						addr, show(ds[i].kwh, 2), n, day(ds[i].day), day(ds[j-1].day)),
					Evidence: x.deltaEvidence(addr, ds[i:j])})
			}
			i = j
		}
		// a week repeating the week before, day by day
		span := 7 * (r.Weeks - 1)
		in := false
		for i := span + 6; i < len(ds); i++ {
			ok := true
			for k := i - span + 1; k <= i && ok; k++ {
				ok = sameDelta(ds[k], ds[k-7])
			}
			flat := true
			for k := i - 6; k <= i && flat; k++ {
				flat = sameDelta(ds[k], ds[i])
			}
			switch {
			case !ok || flat:
				in = false
			case !in:
				in = true
				if d := ds[i].day; x.inRange(d) && r.applies(d) {
					x.add(Finding{Rule: WeeklyPattern, Severity: Medium, Area: m.Area, Meter: addr, Day: day(d),
						Summary: fmt.Sprintf("meter %s repeated the same daily consumption week after week for %d weeks (to %s), to the 0.01 kWh: reads that look estimated, not taken",
							addr, r.Weeks, day(d)),
						Evidence: x.deltaEvidence(addr, ds[i-span-6:i+1])})
				}
			}
		}
	}
}

// frames finds OK reads that carry no reply frame: a value the head-end
// did not read off the wire (typed in, or copied from elsewhere). One
// finding per meter, with its first such reads.
func (x *run) frames() {
	if x.cfg.Frames.Off {
		return
	}
	type tally struct {
		ok   int
		bare []*meter.Read
	}
	per := map[string]*tally{}
	end := x.to.AddDate(0, 0, 1)
	for i := range x.in.Reads {
		r := &x.in.Reads[i]
		t := store.Time(r)
		if r.Status != meter.OK || t.Before(x.from) || !t.Before(end) || !x.cfg.Frames.applies(midnight(t, x.loc)) {
			continue
		}
		if _, ok := x.in.Archive.Meter(r.Meter); !ok {
			continue
		}
		c := per[r.Meter]
		if c == nil {
			c = &tally{}
			per[r.Meter] = c
		}
		c.ok++
		if len(r.Frame.Reply) == 0 {
			c.bare = append(c.bare, r)
		}
	}
	for _, addr := range sortedKeys(per) {
		c := per[addr]
		if len(c.bare) == 0 {
			continue
		}
		first := c.bare[0]
		for _, r := range c.bare {
			if store.Time(r).Before(store.Time(first)) {
				first = r
			}
		}
		ev := []Evidence{{What: "OK reads in the range", Meter: addr, Value: fmt.Sprint(c.ok)},
			{What: "of them without a reply frame", Meter: addr, Value: fmt.Sprint(len(c.bare))}}
		for _, r := range c.bare[:min(5, len(c.bare))] {
			ev = append(ev, Evidence{What: fmt.Sprintf("%s %s, no reply frame", r.Class, r.Quantity), Meter: addr,
				Time: stamp(store.Time(r), x.loc), Value: valueOf(r), Unit: r.Unit})
		}
		x.add(Finding{Rule: ReadWithoutFrame, Severity: Medium, Area: meterArea(x.in.Archive, addr), Meter: addr,
			Day: day(midnight(store.Time(first), x.loc)),
			Summary: fmt.Sprintf("%d of meter %s's %d OK reads from %s to %s carry no reply frame: values not read off the wire",
				len(c.bare), addr, c.ok, day(x.from), day(x.to)),
			Evidence: ev})
	}
}

// valueOf is a read's value as text.
func valueOf(r *meter.Read) string {
	if r.Text != "" {
		return r.Text
	}
	return r.Value.String()
}
