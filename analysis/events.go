package analysis

import (
	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/collector/terminal"
	"github.com/headend/headend/meter"
)

// EventsOf are the terminal events among reads (class event, status ok)
// as the anomaly detection takes them: keyed as the flags key their
// reads, so that a flag's evidence leads back to the stored read and its
// 376.1 frames.
func EventsOf(reads []meter.Read) []anomaly.Event {
	var out []anomaly.Event
	for i := range reads {
		r := &reads[i]
		if r.Class != meter.Event || r.Status != meter.OK {
			continue
		}
		erc, ok := terminal.EventERC(r.Quantity)
		if !ok {
			continue
		}
		out = append(out, anomaly.Event{Key: meter.Key{Meter: r.Meter, Class: r.Class, Quantity: r.Quantity, Time: stamp(r)},
			Area: r.Area, ERC: erc, Start: r.Value.Units != 0, Text: r.Text})
	}
	return out
}
