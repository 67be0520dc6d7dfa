package config

import (
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/protocol/dlt645"
)

// The reading plan: the default is schedule.DefaultReading; a file or an
// environment variable changes one class for one kind of meter, the rest
// stay; a bad identifier is refused naming where, the key and why.
func TestReadingPlan(t *testing.T) {
	c, err := Load(write(t, base), nil)
	if err != nil {
		t.Fatal(err)
	}
	m07 := poll.Target{Edition: dlt645.DLT2007}
	if got, want := c.Collector.Plan.Reading().InstantaneousRequests(m07, time.Time{}), schedule.InstantaneousRequests(m07, time.Time{}); len(got) != 6 || got[2].DI != want[2].DI {
		t.Fatalf("default plan %v, want %v", got, want)
	}
	c, err = Load(write(t, "collector:\n  plan:\n    instantaneous:\n      \"2007\": [\"00010000\", \"02010100\"]\n"+base), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Collector.Plan.Reading()
	if got := r.InstantaneousRequests(m07, time.Time{}); len(got) != 2 || got[1].DI != 0x02010100 {
		t.Errorf("configured plan: %v", got)
	}
	if got := r.ClockRequests(m07, time.Time{}); len(got) != 2 || got[0].DI != poll.DateTime2007 {
		t.Errorf("clock stays the default: %v", got)
	}
	t.Setenv("HEADEND_COLLECTOR_PLAN_MONTHLY_1997", "941F,942F")
	c, err = Load(write(t, base), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Collector.Plan.Reading().MonthlyRequests(poll.Target{Edition: dlt645.DLT1997}, time.Time{}); len(got) != 2 {
		t.Errorf("env plan: %v", got)
	}
	_, err = Load(write(t, "collector:\n  plan:\n    daily: {\"2007\": [\"05060001\", \"0506010\", \"05060102\", \"7F7F7F7F\"]}\n"+base), nil)
	for _, want := range []string{`h.yaml:3: collector.plan.daily.2007: "0506010": want 8 hex digits`,
		"collector.plan.daily.2007: 7F7F7F7F: not a DL/T 645-2007 identifier the head-end knows",
		"collector.plan.daily.2007: 05060102: name the last freeze (DI0 01)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad plan: %v\nwant %s", err, want)
		}
	}
}
