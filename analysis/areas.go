package analysis

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// Areas is the share of the transformer areas a node analyses when
// several head-ends share the work (serve --cluster): a run analyses only
// the areas Take names, and stores only those it still Holds.
type Areas interface {
	// Take is called as a run begins: the areas the run analyses. They
	// stay this node's until Done, so that no other node's run analyses
	// them meanwhile.
	Take() []string
	// Holds reports whether the area is still this node's (it may have
	// lost it to a fence), just before its results are stored.
	Holds(area string) bool
	// Done is called when the run ends.
	Done()
}

// share narrows a run to the areas it analyses: nil is every area (a
// single node).
type share map[string]bool

// archive is ix restricted to the share's areas, their meters,
// concentrators and exchanges (every channel kept).
func (s share) archive(ix *archive.Index) *archive.Index {
	if s == nil {
		return ix
	}
	full := ix.Archive()
	sub := archive.Archive{Channels: full.Channels}
	for _, a := range full.Areas {
		if s[a.ID] {
			sub.Areas = append(sub.Areas, a)
		}
	}
	for _, k := range full.Concentrators {
		if s[k.Area] {
			sub.Concentrators = append(sub.Concentrators, k)
		}
	}
	for _, m := range full.Meters {
		if s[m.Area] {
			sub.Meters = append(sub.Meters, m)
		}
	}
	for _, e := range full.Exchanges {
		if s[e.Area] {
			sub.Exchanges = append(sub.Exchanges, e)
		}
	}
	return sub.Index()
}

// reads keeps the reads of the share's areas: a meter's area is the
// archive's, else the one the read was collected for. Reads of no area
// in the archive are no share's.
func (s share) reads(ix *archive.Index, rs []meter.Read) []meter.Read {
	if s == nil {
		return rs
	}
	out := rs[:0]
	for _, r := range rs {
		area := r.Area
		if m, ok := ix.Meter(r.Meter); ok {
			area = m.Area
		}
		if s[area] {
			out = append(out, r)
		}
	}
	return out
}

// sorted is the share's areas in order.
func (s share) sorted() []string {
	out := make([]string, 0, len(s))
	for a := range s {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// still is the part of the share still held (Areas.Holds, asked once
// per area) as the results are stored; nil stays nil.
func (s share) still(areas Areas) share {
	if s == nil {
		return nil
	}
	out := share{}
	for a := range s {
		if areas.Holds(a) {
			out[a] = true
		}
	}
	return out
}

// records keeps the records of the share's areas.
func (s share) records(recs []store.Record) []store.Record {
	if s == nil {
		return recs
	}
	var out []store.Record
	for _, r := range recs {
		if s[r.Area] {
			out = append(out, r)
		}
	}
	return out
}

// sync is results.Sync of one kind over [from, to): over every area for
// a single node, area by area over the share's (a node must not retract
// the records of the areas other nodes analyse).
func (s share) sync(ctx context.Context, res store.Results, kind string, from, to time.Time, recs []store.Record) ([]store.Record, error) {
	if s == nil {
		return res.Sync(ctx, kind, "", from, to, recs)
	}
	by := map[string][]store.Record{}
	for _, r := range recs {
		by[r.Area] = append(by[r.Area], r)
	}
	var stored []store.Record
	for _, a := range s.sorted() {
		st, err := res.Sync(ctx, kind, a, from, to, by[a])
		if err != nil {
			return stored, fmt.Errorf("area %s: %w", a, err)
		}
		stored = append(stored, st...)
	}
	return stored, nil
}
