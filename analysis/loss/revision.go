package loss

import (
	"slices"
	"strings"

	"github.com/headend/headend/archive"
)

// ChangeKind says how an input differs from the previous revision.
type ChangeKind string

// Change kinds.
const (
	ReadAdded    ChangeKind = "read_added"    // a boundary read now exists (late read, backfill)
	ReadRemoved  ChangeKind = "read_removed"  // a boundary read is gone
	ValueChanged ChangeKind = "value_changed" // same boundary, another value (edit)
	QualityOnly  ChangeKind = "quality"       // same value, another quality
	MeterAdded   ChangeKind = "meter_added"   // the archive puts a meter in the area
	MeterRemoved ChangeKind = "meter_removed" // the archive took a meter out
	Multiplier   ChangeKind = "multiplier"    // the meter's CT × PT changed
)

// Change is one input that differs between two revisions.
type Change struct {
	Kind     ChangeKind
	Meter    string
	Register Register // for read changes
	Key      Key      // the read's key (the new one, or the old one if removed)
	Was, Now *Reading // nil when absent
}

// Recompute balances prev's area and period again from s and the archive.
// When an input differs from prev's (a read added, removed, edited or
// requalified; a meter added to or removed from the area; a multiplier
// changed) the result is revision prev.Revision+1 and lists the changes;
// otherwise it keeps prev's revision and has no changes.
func Recompute(prev *Result, ix *archive.Index, s *Set, cfg Config) Result {
	res := Compute(ix, prev.Area, prev.Period, s, cfg)
	res.Changes = Diff(prev, &res)
	res.Revision = prev.Revision
	if len(res.Changes) > 0 {
		res.Revision++
	}
	return res
}

// Diff lists the inputs of b that differ from those of a (same area and
// period), meters in address order.
func Diff(a, b *Result) []Change {
	idx := func(r *Result) map[string]*MeterResult {
		m := map[string]*MeterResult{}
		if r.AreaMeter != nil {
			m[r.AreaMeter.Meter] = r.AreaMeter
		}
		for i := range r.Meters {
			m[r.Meters[i].Meter] = &r.Meters[i]
		}
		return m
	}
	ma, mb := idx(a), idx(b)
	var addrs []string
	for k := range ma {
		addrs = append(addrs, k)
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			addrs = append(addrs, k)
		}
	}
	slices.Sort(addrs)
	var out []Change
	for _, addr := range addrs {
		x, y := ma[addr], mb[addr]
		switch {
		case x == nil:
			out = append(out, Change{Kind: MeterAdded, Meter: addr})
			continue
		case y == nil:
			out = append(out, Change{Kind: MeterRemoved, Meter: addr})
			continue
		case x.Multiplier != y.Multiplier:
			out = append(out, Change{Kind: Multiplier, Meter: addr})
		}
		out = diffRead(out, addr, Forward, x.Forward.Start, y.Forward.Start)
		out = diffRead(out, addr, Forward, x.Forward.End, y.Forward.End)
		out = diffRead(out, addr, Reverse, x.Reverse.Start, y.Reverse.Start)
		out = diffRead(out, addr, Reverse, x.Reverse.End, y.Reverse.End)
	}
	return out
}

func diffRead(out []Change, meter string, reg Register, was, now *Reading) []Change {
	c := Change{Meter: meter, Register: reg, Was: was, Now: now}
	switch {
	case was == nil && now == nil:
		return out
	case was == nil:
		c.Kind, c.Key = ReadAdded, now.Key
	case now == nil:
		c.Kind, c.Key = ReadRemoved, was.Key
	case Cmp(was.Value, now.Value) != 0 || !was.Key.Time.Equal(now.Key.Time) || was.Key.Class != now.Key.Class ||
		strings.Compare(was.Key.Quantity, now.Key.Quantity) != 0:
		c.Kind, c.Key = ValueChanged, now.Key
	case was.Quality != now.Quality:
		c.Kind, c.Key = QualityOnly, now.Key
	default:
		return out
	}
	return append(out, c)
}
