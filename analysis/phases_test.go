package analysis

import (
	"testing"
	"time"

	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// The phases a run saw are kept for the next: a phase that lost its
// voltage and carries no current in today's reads is still one of the
// meter's phases when an earlier run saw it.
func TestPhasesSeen(t *testing.T) {
	at := time.Date(2025, 6, 1, 3, 0, 0, 0, time.UTC)
	rd := func(m, q string, v int64, scale uint8) meter.Read {
		return meter.Read{Meter: m, Class: meter.Instantaneous, Quantity: q, Value: dlt645.Decimal{Units: v, Scale: scale}, ReadAt: at, Status: meter.OK}
	}
	early := []meter.Read{rd("m3", "phase A voltage", 2300, 1), rd("m3", "phase C voltage", 2310, 1), rd("m1", "phase A voltage", 2300, 1)}
	late := []meter.Read{rd("m3", "phase C voltage", 3, 1), rd("m3", "phase C current", 0, 3), rd("m1", "phase B voltage", 0, 1),
		rd("m2", "phase B current", 5000, 3), {Meter: "m4", Class: meter.Instantaneous, Quantity: "phase C voltage", Status: meter.Failed}}
	got := PhasesSeen(PhasesSeen(nil, early, anomaly.Config{}), late, anomaly.Config{})
	want := map[string]int{"m3": 3, "m1": 1, "m2": 2}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for m, n := range want {
		if got[m] != n {
			t.Errorf("%s: %d phases, want %d (all %v)", m, got[m], n, got)
		}
	}
}
