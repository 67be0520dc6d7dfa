package health

import (
	"testing"

	"github.com/headend/headend/meter"
)

func task(area, meterID string, class meter.Class, st ...meter.Status) []meter.Read {
	var out []meter.Read
	for _, s := range st {
		out = append(out, meter.Read{Area: area, Meter: meterID, Class: class, Status: s})
	}
	return out
}

func TestRates(t *testing.T) {
	tr := New(map[string]int{"A": 4, "B": 1})
	tr.Observe(task("A", "1", meter.Daily, meter.OK, meter.OK))
	tr.Observe(task("A", "2", meter.Daily, meter.OK, meter.Failed))     // one request failed: not collected
	tr.Observe(task("A", "3", meter.Daily, meter.NoData, meter.NoData)) // answered, but no value: not collected
	tr.Observe(task("A", "1", meter.Instantaneous, meter.OK))
	tr.Observe(task("B", "9", meter.Daily, meter.Skipped))
	tr.Observe(task("A", "2", meter.Daily, meter.OK, meter.OK)) // the next cycle succeeds: latest counts
	got := tr.Rates()
	want := []Rate{
		{Area: "A", Class: meter.Daily, Expected: 4, Attempted: 3, Collected: 2, Percent: 50},
		{Area: "A", Class: meter.Instantaneous, Expected: 4, Attempted: 1, Collected: 1, Percent: 25},
		{Area: "B", Class: meter.Daily, Expected: 1, Attempted: 1, Collected: 0, Percent: 0},
	}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("rate %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if f := tr.Failing(meter.Daily); len(f["A"]) != 1 || f["A"][0] != "3" || f["B"][0] != "9" {
		t.Fatalf("failing %v", f)
	}
}
