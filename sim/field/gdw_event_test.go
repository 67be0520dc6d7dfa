package field_test

import (
	"testing"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/gdw3761"
	"github.com/headend/headend/sim/field"
)

// A meter search finding an address the archive does not hold files
// ERC35 once; a meter replaced at a point by an archive download files
// ERC3 (parameter change, p0 F10).
func TestTerminalMeterReplacedEvents(t *testing.T) {
	r := newTermRig(t)
	newMeter := dlt645.MustParseAddress("000009000001")
	known := dlt645.MustParseAddress(r.meters[1].Address)
	if n := r.term.FindMeters(known, newMeter); n != 1 {
		t.Fatalf("filed %d unknown meters, want 1 (the archived one is known)", n)
	}
	if n := r.term.FindMeters(newMeter); n != 0 {
		t.Fatalf("the same meter filed again (%d)", n)
	}
	evs := r.term.Events()
	if len(evs) != 1 || evs[0].ERC != gdw3761.ERCUnknownMeter {
		t.Fatalf("events %+v", evs)
	}
	e := evs[0]
	if err := e.Decode(); err != nil || e.Found != 1 {
		t.Fatalf("ERC35 %+v %v", e, err)
	}
	if a, _, _, ok := e.UnknownMeter(0); !ok || a != newMeter {
		t.Errorf("ERC35 names %v, want %v", a, newMeter)
	}

	r.run()
	m := r.accept()
	m.login()
	ar := gdw3761.Archive{Meters: []gdw3761.MeterEntry{entry(2, "000009000001")}} // point 2's meter replaced
	if f, _ := m.ask(gdw3761.WriteArchive(termAddr, m.seq(), [16]byte{}, &ar)); f.AFN != gdw3761.AFNConfirm {
		t.Fatalf("archive download answered %v", f.AFN)
	}
	evs = r.term.Events()
	if len(evs) != 2 || evs[1].ERC != gdw3761.ERCParamChange {
		t.Fatalf("after the download: events %+v, want ERC3 last", evs)
	}
	if e := evs[1]; e.Decode() != nil || len(e.Data) != 10 || e.Data[6] != 0 || e.Data[8] != 0x02 || e.Data[9] != 0x01 {
		t.Errorf("ERC3 % X: want p0 F10", e.Data)
	}
	// the same archive again changes no meter: no new event
	m.ask(gdw3761.WriteArchive(termAddr, m.seq(), [16]byte{}, &ar))
	if n := len(r.term.Events()); n != 2 {
		t.Errorf("%d events after an unchanged download, want 2", n)
	}
}

// With ReportEvents the terminal reports each new important event by
// itself (AFN 0E F1, PRM set, confirmation asked), from where the
// head-end's reads and its earlier reports left off.
func TestTerminalReportsEventsByItself(t *testing.T) {
	r := newTermRig(t, func(o *field.TerminalOptions) { o.ReportEvents = true })
	r.run()
	m := r.accept()
	m.login()
	r.term.FindMeters(dlt645.MustParseAddress("000009000001"))
	var rep *gdw3761.Frame
	for rep == nil {
		if f := m.next(); f.AFN == gdw3761.AFNClass3 {
			rep = f
		}
	}
	if !rep.Control.PRM() || !rep.Control.Up() || !rep.Seq.CON() {
		t.Fatalf("report control %v seq %v: want PRM, up, CON", rep.Control, rep.Seq)
	}
	units, err := rep.Units(nil)
	var ev gdw3761.Events
	if err != nil || len(units) != 1 || units[0].Fn != 1 || ev.UnmarshalUnit(units[0].Data) != nil {
		t.Fatalf("report units %v %v", units, err)
	}
	if ev.Pm != 0 || ev.Pn != 1 || len(ev.Records) != 1 || ev.Records[0].ERC != gdw3761.ERCUnknownMeter {
		t.Fatalf("report %+v", ev)
	}
	m.send(gdw3761.Confirm(rep), nil)
	// reported counts as read: no ACD on its next reply
	f, _ := m.ask(gdw3761.ReadClock(termAddr, m.seq()), nil)
	if f.Control.ACD() {
		t.Error("ACD still set after the report")
	}
}
