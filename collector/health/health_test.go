package health

import (
	"testing"

	"github.com/headend/headend/collector/read"
)

func task(area, meter string, class read.Class, st ...read.Status) []read.Read {
	var out []read.Read
	for _, s := range st {
		out = append(out, read.Read{Area: area, Meter: meter, Class: class, Status: s})
	}
	return out
}

func TestRates(t *testing.T) {
	tr := New(map[string]int{"A": 4, "B": 1})
	tr.Observe(task("A", "1", read.Daily, read.OK, read.OK))
	tr.Observe(task("A", "2", read.Daily, read.OK, read.Failed))     // one request failed: not collected
	tr.Observe(task("A", "3", read.Daily, read.NoData, read.NoData)) // answered, but no value: not collected
	tr.Observe(task("A", "1", read.Instantaneous, read.OK))
	tr.Observe(task("B", "9", read.Daily, read.Skipped))
	tr.Observe(task("A", "2", read.Daily, read.OK, read.OK)) // the next cycle succeeds: latest counts
	got := tr.Rates()
	want := []Rate{
		{Area: "A", Class: read.Daily, Expected: 4, Attempted: 3, Collected: 2, Percent: 50},
		{Area: "A", Class: read.Instantaneous, Expected: 4, Attempted: 1, Collected: 1, Percent: 25},
		{Area: "B", Class: read.Daily, Expected: 1, Attempted: 1, Collected: 0, Percent: 0},
	}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("rate %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if f := tr.Failing(read.Daily); len(f["A"]) != 1 || f["A"][0] != "3" || f["B"][0] != "9" {
		t.Fatalf("failing %v", f)
	}
}
