package anomaly

import (
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/gdw3761"
)

func event(addr, area string, erc uint8, q string, at time.Time, start bool, text string) Event {
	return Event{Key: meter.Key{Meter: addr, Class: meter.Event, Quantity: q, Time: at}, Area: area, ERC: erc, Start: start, Text: text}
}

// A terminal's cover-open record raises the cover flag by itself, a day
// before the nightly counter read could; when the counter rule raises it
// too, the record is evidence on that flag and raises no second one.
func TestEventRaisesAndCorroboratesCoverOpened(t *testing.T) {
	f := simple(t, 10, 5)
	in := f.input()
	open := event(c0, "A", gdw3761.ERCMeterCoverOpen, "event ERC37 meter cover opened", day(2).Add(14*time.Hour+23*time.Minute), true, "important #11")
	none(t, Detect(in, Config{}), CoverOpened)
	in.Events = []Event{open}
	fl := one(t, Detect(in, Config{}), CoverOpened, c0, 2)
	if fl.Confidence != EventConfidence || len(fl.Reads) != 1 || fl.Reads[0] != open.Key || !strings.Contains(fl.Summary, "ERC37") {
		t.Errorf("raised by the event: %+v", fl)
	}

	f.instant(c0, QuantityCoverOpen, day(2).Add(3*time.Hour), "3")
	f.instant(c0, QuantityCoverOpen, day(3).Add(3*time.Hour), "4")
	in = f.input()
	by := one(t, Detect(in, Config{}), CoverOpened, c0, 3)
	in.Events = []Event{open}
	both := one(t, Detect(in, Config{}), CoverOpened, c0, 3)
	if both.Confidence <= by.Confidence || len(both.Reads) != len(by.Reads)+1 || both.Reads[len(both.Reads)-1] != open.Key {
		t.Errorf("corroborated: %+v, by the counter alone %+v", both, by)
	}
}

// Each mapped ERC raises its flag kind; an ended event or an ERC10 that
// is not a voltage loss raises none; ERC14 is evidence only.
func TestEventKinds(t *testing.T) {
	at := day(4).Add(10 * time.Hour)
	for _, c := range []struct {
		ev   Event
		kind Kind
	}{
		{event(c0, "A", gdw3761.ERCMeterClock, "event ERC12 meter clock out of tolerance", at, true, ""), ClockDrift},
		{event(c0, "A", gdw3761.ERCVoltageLoop, "event ERC10 voltage loop anomaly", at, true, "important #3; voltage loss phases A"), PhaseLoss},
		{event(c0, "A", gdw3761.ERCEnergyDown, "event ERC27 energy reading went down", at, true, "before 1234.00; after 1200.00"), RegisterBack},
	} {
		in := simple(t, 10, 5).input()
		in.Events = []Event{c.ev}
		fl := one(t, Detect(in, Config{}), c.kind, c0, 4)
		if fl.Reads[0] != c.ev.Key || fl.Figures[0].Name != "terminal event ERC"+strings.TrimPrefix(strings.Fields(c.ev.Key.Quantity)[1], "ERC") {
			t.Errorf("%s: %+v", c.kind, fl)
		}
		ended := c.ev
		ended.Start = false
		in.Events = []Event{ended}
		none(t, Detect(in, Config{}), c.kind)
	}
	in := simple(t, 10, 5).input()
	in.Events = []Event{event(c0, "A", gdw3761.ERCVoltageLoop, "event ERC10 voltage loop anomaly", at, true, "important #3; short phases A")}
	none(t, Detect(in, Config{}), PhaseLoss)

	// a terminal power off/on: evidence on the area's no-answer flag
	f := simple(t, 10, 5)
	f.drop[c0] = map[int]bool{6: true, 7: true, 8: true, 9: true, 10: true}
	in = f.input()
	na := flagsOf(Detect(in, Config{}), NoAnswer)
	if len(na) != 1 {
		t.Fatalf("%d no-answer flags: %+v", len(na), na)
	}
	off := event("000000000001", "A", gdw3761.ERCPowerOnOff, "event ERC14 terminal power off/on", day(6).Add(time.Hour), true, "off 2025-06-07T01:00; on 2025-06-09T08:00")
	in.Events = []Event{off}
	rep := Detect(in, Config{})
	got := flagsOf(rep, NoAnswer)
	if len(got) != 1 || got[0].Reads[len(got[0].Reads)-1] != off.Key || !strings.Contains(got[0].Summary, "ERC14") {
		t.Errorf("no answer with the power off: %+v", got)
	}
	none(t, rep, Stopped)
}

// ERC35: a meter archived in another area, found on this terminal's bus,
// raises moved_meter with the terminal's area as Other; a meter in no
// area is evidence on the area's no-answer flag (a meter replaced).
func TestEventUnknownMeter(t *testing.T) {
	f := simple(t, 10, 5)
	f.area("B", "F2")
	f.meter("000000000002", "B", "area", 1)
	f.meter("000000000201", "B", "customer", 1)
	in := f.input()
	found := event("000000000201", "A", gdw3761.ERCUnknownMeter, "event ERC35 unknown meter found", day(5).Add(2*time.Hour), true, "port 2; found 000000000201")
	in.Events = []Event{found}
	fls := flagsOf(Detect(in, Config{}), MovedMeter)
	if len(fls) != 1 || fls[0].Meter != "000000000201" || fls[0].Area != "B" || fls[0].Other != "A" || fls[0].Reads[0] != found.Key {
		t.Errorf("moved meter from ERC35: %+v", fls)
	}

	f = simple(t, 10, 5)
	f.drop[c0] = map[int]bool{6: true, 7: true, 8: true, 9: true, 10: true}
	in = f.input()
	repl := event("000009000001", "A", gdw3761.ERCUnknownMeter, "event ERC35 unknown meter found", day(6).Add(2*time.Hour), true, "found 000009000001")
	in.Events = []Event{repl}
	rep := Detect(in, Config{})
	na := flagsOf(rep, NoAnswer)
	if len(na) != 1 || na[0].Reads[len(na[0].Reads)-1] != repl.Key {
		t.Errorf("no answer with a replacement found: %+v", na)
	}
	none(t, rep, MovedMeter)
}

// FuzzEventEvidence takes arbitrary events (ERC, meter, time, began):
// no panic, and every flag keeps a confidence in [0, 1] and its evidence.
func FuzzEventEvidence(f *testing.F) {
	f.Add([]byte{37, 0, 50, 1, 14, 9, 3, 0, 35, 7, 100, 1})
	in := simple(f, 10, 5).input()
	addrs := []string{"000000000001", c0, c1, "000009000001"}
	f.Fuzz(func(t *testing.T, b []byte) {
		var evs []Event
		for i := 0; i+4 <= len(b) && len(evs) < 32; i += 4 {
			at := day(0).Add(time.Duration(b[i+2]) * 2 * time.Hour)
			evs = append(evs, event(addrs[int(b[i+1])%len(addrs)], "A", b[i], quantityOf(b[i]), at, b[i+3]&1 == 1, "voltage loss phases A"))
		}
		x := in
		x.Events = evs
		for _, fl := range Detect(x, Config{}).Flags {
			if fl.Confidence < 0 || fl.Confidence > 1 || len(fl.Reads) == 0 {
				t.Fatalf("flag %+v", fl)
			}
		}
	})
}

// quantityOf is a quantity for erc, as the collector names them.
func quantityOf(erc uint8) string {
	return "event ERC" + string(rune('0'+erc/10%10)) + string(rune('0'+erc%10))
}
