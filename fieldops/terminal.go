package fieldops

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/headend/headend/protocol/gdw3761"
)

// Terminal is a dialled-in Q/GDW 1376.1 concentrator the field operations
// talk to: one request out, its reply frames back (several when the
// terminal splits its reply). collector/terminal's Session satisfies it.
type Terminal interface {
	Exchange(ctx context.Context, req *gdw3761.Frame) ([]gdw3761.Frame, error)
}

// PointDiff is one measuring point on which a terminal's meter archive and
// the head-end's differ. Want is nil when the terminal has a point the
// head-end does not; Got is nil when the terminal lacks one.
type PointDiff struct {
	Point  uint16
	Want   *gdw3761.MeterEntry
	Got    *gdw3761.MeterEntry
	Fields []string // what differs, e.g. "address 000001000005 ≠ 000001000050"
}

// ArchiveDiff is the comparison of a terminal's meter archive (AFN 0A
// F10) with the head-end's. The zero ArchiveDiff is an agreement.
type ArchiveDiff struct {
	Terminal string
	Points   []PointDiff // by point number
}

// Agrees reports whether the two archives are the same.
func (d ArchiveDiff) Agrees() bool { return len(d.Points) == 0 }

// String is the diff for a person: "terminal 4401 0001: 3 points differ
// from the archive: point 5 address 000001000005 ≠ 000001000050; ...".
func (d ArchiveDiff) String() string {
	if d.Agrees() {
		return fmt.Sprintf("terminal %s: its meter archive agrees with the head-end's", d.Terminal)
	}
	var b strings.Builder
	n := "points differ"
	if len(d.Points) == 1 {
		n = "point differs"
	}
	fmt.Fprintf(&b, "terminal %s: %d %s from the archive:", d.Terminal, len(d.Points), n)
	for i, p := range d.Points {
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, " point %d %s", p.Point, strings.Join(p.Fields, ", "))
	}
	return b.String()
}

// DiffArchive compares the terminal's archive got with want, the entries
// the head-end's archive gives for it, point by point. Entry serial
// numbers and meter passwords are not compared (a terminal may number its
// entries its own way, and the password is never shown).
func DiffArchive(terminal string, want, got []gdw3761.MeterEntry) ArchiveDiff {
	byPoint := func(es []gdw3761.MeterEntry) map[uint16]*gdw3761.MeterEntry {
		m := make(map[uint16]*gdw3761.MeterEntry, len(es))
		for i := range es {
			if es[i].Point != 0 {
				m[es[i].Point] = &es[i]
			}
		}
		return m
	}
	w, g := byPoint(want), byPoint(got)
	d := ArchiveDiff{Terminal: terminal}
	for pn, we := range w {
		ge := g[pn]
		if ge == nil {
			d.Points = append(d.Points, PointDiff{Point: pn, Want: we, Fields: []string{"missing from the terminal"}})
			continue
		}
		if f := entryDiff(we, ge); len(f) > 0 {
			d.Points = append(d.Points, PointDiff{Point: pn, Want: we, Got: ge, Fields: f})
		}
	}
	for pn, ge := range g {
		if w[pn] == nil {
			d.Points = append(d.Points, PointDiff{Point: pn, Got: ge, Fields: []string{fmt.Sprintf("not in the archive (meter %s)", ge.Address)}})
		}
	}
	sort.Slice(d.Points, func(i, j int) bool { return d.Points[i].Point < d.Points[j].Point })
	return d
}

// entryDiff lists the fields of two entries of one point that differ,
// the head-end's value first.
func entryDiff(w, g *gdw3761.MeterEntry) []string {
	var f []string
	add := func(name string, a, b any) {
		if a != b {
			f = append(f, fmt.Sprintf("%s %v ≠ %v", name, a, b))
		}
	}
	add("address", w.Address.String(), g.Address.String())
	add("port", w.Port, g.Port)
	add("baud", w.Baud, g.Baud)
	add("protocol", w.Protocol, g.Protocol)
	add("tariffs", w.Tariffs, g.Tariffs)
	add("class", w.Class, g.Class)
	add("subclass", w.Subclass, g.Subclass)
	add("collector", w.Collector.String(), g.Collector.String())
	return f
}
