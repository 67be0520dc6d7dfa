package review

import (
	"fmt"
	"slices"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// Rate is the actual-read rate of a concentrator's meters (or an area's,
// Concentrator empty) on one day: the archived meters with an OK daily
// read stamped that day over those archived, and the longest time one of
// them went without any OK read, as of the day's end.
type Rate struct {
	Day          string `json:"day"`
	Area         string `json:"area"`
	Concentrator string `json:"concentrator,omitempty"`
	Expected     int    `json:"expected"`
	Read         int    `json:"read"`
	Rate         string `json:"rate"`          // percent, 2 decimals; "" when nothing is expected
	MaxGapHours  string `json:"max_gap_hours"` // 1 decimal
}

// gap is a stretch without an OK read: from the read before (or the
// start of what was looked at) to the read after (or the end).
type gap struct {
	from, to time.Time
	open     bool // no read after it within what was looked at
	start    bool // no read before it within what was looked at
}

// readGaps returns each archived meter's stretches between OK reads
// (any class, by receipt time) from start to end.
func readGaps(ix *archive.Index, reads []meter.Read, start, end time.Time) map[string][]gap {
	at := map[string][]time.Time{}
	for i := range reads {
		r := &reads[i]
		if r.Status == meter.OK && !r.ReadAt.Before(start) && r.ReadAt.Before(end) {
			at[r.Meter] = append(at[r.Meter], r.ReadAt)
		}
	}
	out := map[string][]gap{}
	for _, m := range ix.Archive().Meters {
		ts := at[m.Address]
		slices.SortFunc(ts, time.Time.Compare)
		prev, first := start, true
		var gs []gap
		for _, t := range ts {
			gs = append(gs, gap{from: prev, to: t, start: first})
			prev, first = t, false
		}
		gs = append(gs, gap{from: prev, to: end, open: true, start: first})
		out[m.Address] = gs
	}
	return out
}

// longest is the longest of a meter's gaps that ends within [d, e) or is
// still open at e. The stretch before its first read is not a gap (the
// reads looked at may just start there), unless it never read at all.
func longest(gs []gap, d, e time.Time) time.Duration {
	var best time.Duration
	for _, g := range gs {
		if g.from.After(e) || !g.to.After(d) || (g.start && !g.open) {
			continue
		}
		end := g.to
		if end.After(e) {
			end = e // open at the day's end
		}
		best = max(best, end.Sub(g.from))
	}
	return best
}

// readRates computes the rates of every concentrator and area on every
// day reviewed, flags those below the minimum (an area's only when it
// has more than one concentrator: else its concentrator's says it), and
// flags meters whose reads are more than MaxGap apart. Without any read
// in the range it judges nothing.
func (x *run) readRates() []Rate {
	r := x.cfg.ReadRate
	ix := x.in.Archive
	end := x.to.AddDate(0, 0, 1)
	look := x.from.Add(-r.MaxGap)
	if !slices.ContainsFunc(x.in.Reads, func(rd meter.Read) bool { return !rd.ReadAt.Before(look) && rd.ReadAt.Before(end) }) {
		return nil // no reads to judge by
	}
	gaps := readGaps(ix, x.in.Reads, look, end)
	got := map[string]map[time.Time]bool{} // meter -> days with an OK daily read
	for i := range x.in.Reads {
		rd := &x.in.Reads[i]
		if rd.Status == meter.OK && rd.Class == meter.Daily {
			if got[rd.Meter] == nil {
				got[rd.Meter] = map[time.Time]bool{}
			}
			got[rd.Meter][midnight(store.Time(rd), x.loc)] = true
		}
	}
	concs := map[string]int{} // area -> concentrators
	for _, k := range ix.Archive().Concentrators {
		concs[k.Area]++
	}
	var out []Rate
	for _, d := range days(x.from, x.to, x.loc) {
		e := d.AddDate(0, 0, 1)
		type group struct {
			area, conc     string
			expected, read int
			gap            time.Duration
		}
		var order []string
		groups := map[string]*group{}
		for _, m := range ix.Archive().Meters {
			if ar, ok := ix.Area(m.Area); ok && !ar.SuspendedSince.IsZero() && !d.Before(ar.SuspendedSince.In(x.loc)) {
				continue
			}
			g0 := longest(gaps[m.Address], d, e)
			keys := []string{m.Area + "|"}
			if c := concentratorOf(ix, &m); c != "" {
				keys = append(keys, m.Area+"|"+c)
			}
			for _, key := range keys {
				g := groups[key]
				if g == nil {
					a, c, _ := cut(key)
					g = &group{area: a, conc: c}
					groups[key] = g
					order = append(order, key)
				}
				g.expected++
				if got[m.Address][d] {
					g.read++
				}
				g.gap = max(g.gap, g0)
			}
		}
		slices.Sort(order)
		for _, key := range order {
			g := groups[key]
			rt := Rate{Day: day(d), Area: g.area, Concentrator: g.conc, Expected: g.expected, Read: g.read,
				MaxGapHours: show(quo(ratInt(int64(g.gap/time.Second)), ratInt(3600)), 1)}
			p := pct(ratInt(int64(g.read)), ratInt(int64(g.expected)))
			if p != nil {
				rt.Rate = show(p, 2)
			}
			out = append(out, rt)
			if p == nil || p.Cmp(rat(r.MinRate)) >= 0 || !r.applies(d) || (g.conc == "" && concs[g.area] == 1) {
				continue
			}
			who := "concentrator " + g.conc
			if g.conc == "" {
				who = "area " + g.area
			}
			x.add(Finding{Rule: ReadRateLow, Severity: Medium, Area: g.area, Concentrator: g.conc, Day: day(d),
				Summary: fmt.Sprintf("%s read %d of its %d meters on %s: an actual-read rate of %s %%, below %s %%",
					who, g.read, g.expected, day(d), rt.Rate, r.MinRate),
				Evidence: []Evidence{{What: "meters archived", Value: fmt.Sprint(g.expected)}, {What: "meters with an OK daily read", Value: fmt.Sprint(g.read)},
					{What: "actual-read rate", Time: day(d), Value: rt.Rate, Unit: "%"}, {What: "minimum", Value: r.MinRate.String(), Unit: "%"},
					{What: "longest time a meter went without an OK read", Value: rt.MaxGapHours, Unit: "h"}}})
		}
	}
	tried := map[string]int{} // meter -> failed reads in the range
	for i := range x.in.Reads {
		rd := &x.in.Reads[i]
		if rd.Status != meter.OK && !rd.ReadAt.Before(x.from) && rd.ReadAt.Before(end) {
			tried[rd.Meter]++
		}
	}
	x.gapFindings(gaps, tried, end)
	return out
}

func cut(key string) (a, b string, ok bool) {
	for i := range len(key) {
		if key[i] == '|' {
			return key[:i], key[i+1:], true
		}
	}
	return key, "", false
}

// gapFindings flags each stretch longer than MaxGap between OK reads
// that ends in the range, or is still open at its end; a meter without
// any OK read only when reads of it failed in the range.
func (x *run) gapFindings(gaps map[string][]gap, failed map[string]int, end time.Time) {
	r := x.cfg.ReadRate
	for _, addr := range sortedKeys(gaps) {
		m, _ := x.in.Archive.Meter(addr)
		if ar, ok := x.in.Archive.Area(m.Area); ok && !ar.SuspendedSince.IsZero() {
			continue
		}
		for _, g := range gaps[addr] {
			if g.to.Sub(g.from) <= r.MaxGap || (g.start && !g.open) || (g.start && failed[addr] == 0) {
				continue
			}
			last := g.to
			if g.open {
				last = end.Add(-time.Nanosecond)
			}
			d := midnight(last, x.loc)
			if !x.inRange(d) || !r.applies(d) {
				continue
			}
			hours := show(quo(ratInt(int64(g.to.Sub(g.from)/time.Second)), ratInt(3600)), 1)
			before, after := "its last OK read at "+stamp(g.from, x.loc), "the next at "+stamp(g.to, x.loc)
			if g.start {
				before = fmt.Sprintf("none in the reads looked at, from %s; %d failed", stamp(g.from, x.loc), failed[addr])
			}
			if g.open {
				after = "none up to " + stamp(g.to, x.loc)
			}
			ev := []Evidence{{What: "longest time without an OK read", Meter: addr, Value: hours, Unit: "h"},
				{What: "allowed", Value: show(quo(ratInt(int64(r.MaxGap/time.Second)), ratInt(3600)), 1), Unit: "h"}}
			if !g.start {
				ev = append(ev, Evidence{What: "OK read before", Meter: addr, Time: stamp(g.from, x.loc), Value: "ok"})
			}
			if !g.open {
				ev = append(ev, Evidence{What: "OK read after", Meter: addr, Time: stamp(g.to, x.loc), Value: "ok"})
			}
			x.add(Finding{Rule: ReadGap, Severity: Low, Area: m.Area, Concentrator: concentratorOf(x.in.Archive, m), Meter: addr, Day: day(d),
				Summary:  fmt.Sprintf("meter %s went %s h without an OK read (%s, %s), more than %s", addr, hours, before, after, r.MaxGap),
				Evidence: ev})
		}
	}
}
