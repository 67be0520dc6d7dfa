package config

import (
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/sim/scenario"
)

// TestDemoStartsWhereItsFirstDayCanBalance: `make run` starts the demo
// (the scenario's start plus metersim's --warmup in scripts/run-demo.sh)
// after the daily read's time but within the balance's tolerance of
// midnight. The head-end then reads the meters that keep no freezes at
// once (collector: TestStartAfterTheDailyReadReadsMetersWithoutFreezes),
// the start's own day has both boundaries, and it ends less than a
// simulated day after the start. Started at 00:00, as before, the areas
// with 1997 or Modbus meters (D01, D03, D04, D05: too few freezes for a
// day before the start) balanced no day until 25-36 simulated hours on.
func TestDemoStartsWhereItsFirstDayCanBalance(t *testing.T) {
	script, err := os.ReadFile("../../scripts/run-demo.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`--warmup (\S+)`).FindSubmatch(script)
	if m == nil {
		t.Fatal("scripts/run-demo.sh: no --warmup")
	}
	warmup, err := time.ParseDuration(string(m[1]))
	if err != nil {
		t.Fatalf("scripts/run-demo.sh: --warmup %s: %v", m[1], err)
	}
	s, err := scenario.Load("../../testdata/scenarios/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load("../../configs/headend.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	start := s.Config.Start.Add(warmup).In(c.Collector.Location())
	midnight := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, start.Location())
	since := start.Sub(midnight)
	daily := c.Collector.Daily.Spec.At
	tol := analysis.DefaultConfig().Loss.Tolerance
	t.Logf("the demo starts at %s, %s after midnight; its first day balances from %s", start.Format(time.DateTime), since, midnight.AddDate(0, 0, 1).Format(time.DateTime))
	if since <= daily {
		t.Errorf("the demo starts %s after midnight, not after the daily read (%s): its first day ends %s after the start, and the areas whose meters keep no freezes have no day to balance before",
			since, daily, 24*time.Hour-since)
	}
	if since >= tol {
		t.Errorf("the demo starts %s after midnight: a read of a meter without freezes no longer stands for midnight (tolerance %s)", since, tol)
	}
}
