package anomaly

import (
	"fmt"
	"strings"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/gdw3761"
)

// Event is an event record a Q/GDW 1376.1 terminal kept about a meter
// (or about itself), as the collector stored it: a read of class event
// whose key Key is (meter, "event", "event ERC37 meter cover opened",
// time of the event).
type Event struct {
	Key   meter.Key
	Area  string // the terminal's area
	ERC   uint8
	Start bool   // the event began (or happened); false: it ended
	Text  string // what the record says, for the summary
}

// What the events are evidence of. An event adds its read to the flag of
// its kind on its meter whose days it falls near (within eventSlack), and
// raises that flag where none is (the meter's own record is enough):
//
//	ERC37 meter cover opened       cover_opened   (raises)
//	ERC12 meter clock out of tol.  clock_drift    (raises)
//	ERC10 voltage loss/phase break phase_loss     (raises)
//	ERC27 energy reading went down register_back  (raises)
//	ERC14 terminal power off/on    no_answer, stopped of the terminal's area (evidence only)
//	ERC35 unknown meter found      moved_meter when the meter is archived in another area (raises);
//	                               no_answer of the terminal's area when it is in no area (a meter replaced)
//
// An ended event (Start false) is evidence only.
var eventKinds = map[uint8]Kind{
	gdw3761.ERCMeterCoverOpen: CoverOpened,
	gdw3761.ERCMeterClock:     ClockDrift,
	gdw3761.ERCVoltageLoop:    PhaseLoss,
	gdw3761.ERCEnergyDown:     RegisterBack,
}

// eventSlack is how far from a flag's days an event still counts for it:
// a nightly read sees the day after what the terminal recorded at once.
const eventSlack = 2 * 24 * time.Hour

// EventConfidence is the confidence of a flag an event raised alone.
const EventConfidence = 0.9

// events adds the terminal events to the flags in out, raising those the
// events alone establish: those of a meter's own condition first (area false:
// before the theft ranking, which leaves out what they explain), those
// about an area's meters once every flag is raised.
func (a *Analysis) events(out []Flag, evs []Event, area bool) []Flag {
	for i := range evs {
		e := &evs[i]
		switch e.ERC {
		case gdw3761.ERCPowerOnOff:
			if area {
				out = attachArea(out, e, NoAnswer, Stopped)
			}
			continue
		case gdw3761.ERCUnknownMeter:
			if area {
				out = a.unknownMeter(out, e)
			}
			continue
		}
		if area {
			continue
		}
		k, ok := eventKinds[e.ERC]
		if !ok {
			continue
		}
		if k == PhaseLoss && !phaseEvent(e) {
			continue
		}
		if attach(out, e, func(f *Flag) bool { return f.Kind == k && f.Meter == e.Key.Meter }) || !e.Start {
			continue
		}
		ms, ok := a.meters[e.Key.Meter]
		if !ok {
			continue
		}
		d, ok := a.dayOf(e.Key.Time)
		if !ok {
			continue
		}
		f := a.meterFlag(k, ms, d, d)
		f.Confidence = EventConfidence
		f.Summary = "the terminal recorded " + describe(e)
		f.Reads = []meter.Key{e.Key}
		f.Figures = []Figure{eventFigure(e)}
		out = append(out, f)
	}
	return out
}

// phaseEvent reports whether an ERC10 record is a voltage loss or phase
// break (its flag byte's D7..D6, 2 and 1), kept in the event's text.
func phaseEvent(e *Event) bool {
	return e.ERC == gdw3761.ERCVoltageLoop && (strings.Contains(e.Text, "voltage loss") || strings.Contains(e.Text, "phase break"))
}

// unknownMeter handles ERC35: a meter archived in another area is on
// this terminal's bus (moved); one in no area replaced a meter of it.
func (a *Analysis) unknownMeter(out []Flag, e *Event) []Flag {
	m, ok := a.ix.Meter(e.Key.Meter)
	if !ok {
		return attachArea(out, e, NoAnswer)
	}
	if m.Area == e.Area || e.Area == "" {
		return out
	}
	if attach(out, e, func(f *Flag) bool { return f.Kind == MovedMeter && f.Meter == e.Key.Meter }) || !e.Start {
		return out
	}
	d, ok := a.dayOf(e.Key.Time)
	if !ok {
		return out
	}
	f := Flag{Kind: MovedMeter, Meter: m.Address, Area: m.Area, Other: e.Area, Start: a.days[d].Start, End: a.days[d].Start,
		Confidence: EventConfidence, Reads: []meter.Key{e.Key}, Figures: []Figure{eventFigure(e)},
		Summary: fmt.Sprintf("archived in %s, found on the bus of %s's terminal: %s", m.Area, e.Area, describe(e))}
	return append(out, f)
}

// attach adds e to every flag that match accepts near e's time, and
// reports whether there was one.
func attach(out []Flag, e *Event, match func(*Flag) bool) bool {
	found := false
	for i := range out {
		f := &out[i]
		if !match(f) || e.Key.Time.Before(f.Start.Add(-eventSlack)) || !e.Key.Time.Before(f.End.Add(24*time.Hour+eventSlack)) {
			continue
		}
		found = true
		f.Reads = append(f.Reads, e.Key)
		f.Figures = append(f.Figures, eventFigure(e))
		f.Summary += "; the terminal recorded " + describe(e)
		// corroborated by the meter's own record
		f.Confidence = clamp01(1 - (1-f.Confidence)/2)
	}
	return found
}

// attachArea adds e to the flags of kinds in the event's area.
func attachArea(out []Flag, e *Event, kinds ...Kind) []Flag {
	attach(out, e, func(f *Flag) bool {
		if f.Area != e.Area || f.Meter == "" {
			return false
		}
		for _, k := range kinds {
			if f.Kind == k {
				return true
			}
		}
		return false
	})
	return out
}

func describe(e *Event) string {
	s := e.Key.Quantity + " at " + e.Key.Time.Format("2006-01-02 15:04")
	if !e.Start {
		s += " (ended)"
	}
	if e.Text != "" {
		s += " (" + e.Text + ")"
	}
	return s
}

func eventFigure(e *Event) Figure {
	v := loss.Decimal{Units: 1}
	if !e.Start {
		v = loss.Decimal{}
	}
	return Figure{Name: fmt.Sprintf("terminal event ERC%d", e.ERC), Value: v}
}
