package fieldops

import (
	"strings"
	"testing"

	"github.com/headend/headend/protocol/gdw3761"
)

func TestDiffArchive(t *testing.T) {
	entry := func(pn uint16, addr byte) gdw3761.MeterEntry {
		return gdw3761.MeterEntry{Serial: pn, Point: pn, Port: 2, Baud: 2400, Protocol: 30, Address: gdw3761.MeterAddress{addr, 0, 0, 1, 0, 0}, Tariffs: 4}
	}
	want := []gdw3761.MeterEntry{entry(1, 1), entry(5, 5), entry(7, 7)}
	got := []gdw3761.MeterEntry{entry(1, 1), entry(5, 0x50), entry(9, 9)}
	got[0].Serial = 40 // serials are the terminal's own
	d := DiffArchive("4401 0001", want, got)
	if len(d.Points) != 3 || d.Points[0].Point != 5 || d.Points[1].Point != 7 || d.Points[2].Point != 9 {
		t.Fatalf("diff %+v", d.Points)
	}
	s := d.String()
	t.Log(s)
	for _, w := range []string{"terminal 4401 0001: 3 points differ from the archive:", "point 5 address", "point 7 missing from the terminal", "point 9 not in the archive"} {
		if !strings.Contains(s, w) {
			t.Errorf("%q lacks %q", s, w)
		}
	}
	if d := DiffArchive("4401 0001", want, want); !d.Agrees() || !strings.Contains(d.String(), "agrees") {
		t.Errorf("same archives: %v", d)
	}
}
