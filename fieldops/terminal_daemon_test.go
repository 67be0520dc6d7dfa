package fieldops

import (
	"errors"
	"strings"
	"testing"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/protocol/gdw3761"
)

// TestTerminalEntries builds a terminal's meter archive from the
// head-end's: by point, protocol 1 for 1997 meters and 30 for 2007, the
// channel's baud, meters without a point and on other channels left out;
// a point given twice, a Modbus meter and an unknown terminal are errors.
func TestTerminalEntries(t *testing.T) {
	a := &archive.Archive{
		Channels: []archive.Channel{
			{ID: "T1", Kind: archive.KindGDW3761, Terminal: "4401 0001", Baud: 1200},
			{ID: "T2", Kind: archive.KindGDW3761, Terminal: "4401 0002"},
			{ID: "S1", Kind: archive.KindSerial, Device: "/dev/ttyUSB0"},
		},
		Meters: []archive.Meter{
			{Address: "000001000002", Edition: "2007", Channel: "T1", Point: 3},
			{Address: "000001000001", Edition: "1997", Channel: "T1", Point: 1},
			{Address: "000001000009", Edition: "2007", Channel: "T1"}, // forwarded only
			{Address: "000002000001", Edition: "2007", Channel: "T2", Point: 1},
			{Address: "000003000001", Edition: "2007", Channel: "S1"},
		},
	}
	es, err := TerminalEntries(a.Index(), "4401-0001")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 {
		t.Fatalf("%d entries: %+v", len(es), es)
	}
	want := []gdw3761.MeterEntry{
		{Serial: 1, Point: 1, Port: 2, Baud: 1200, Protocol: gdw3761.MeterDLT1997, Tariffs: 4, IntDigits: 6, DecDigits: 2},
		{Serial: 3, Point: 3, Port: 2, Baud: 1200, Protocol: gdw3761.MeterDLT2007, Tariffs: 4, IntDigits: 6, DecDigits: 2},
	}
	for i, addr := range []string{"000001000001", "000001000002"} {
		w := want[i]
		w.Address = gdw3761.MeterAddress{}
		g := es[i]
		if g.Address.String() != addr {
			t.Errorf("entry %d: meter %s, want %s", i, g.Address, addr)
		}
		g.Address = gdw3761.MeterAddress{}
		if g != w {
			t.Errorf("entry %d: %+v, want %+v", i, g, w)
		}
	}
	if es, err := TerminalEntries(a.Index(), "4401 0002"); err != nil || len(es) != 1 || es[0].Baud != 0 {
		t.Errorf("no channel baud is the port's default (0): %+v %v", es, err)
	}
	if _, err := TerminalEntries(a.Index(), "4401 0003"); !errors.Is(err, ErrUnknownChannel) {
		t.Errorf("unknown terminal: %v", err)
	}
	a.Meters[2].Point = 3
	if _, err := TerminalEntries(a.Index(), "4401 0001"); err == nil || !strings.Contains(err.Error(), "point 3 is given to meters") {
		t.Errorf("a point given twice: %v", err)
	}
	a.Meters[2].Point, a.Meters[2].Edition, a.Meters[2].Unit = 4, "modbus", 1
	if _, err := TerminalEntries(a.Index(), "4401 0001"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("a Modbus meter on a terminal: %v", err)
	}
}
