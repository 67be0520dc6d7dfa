package vee

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The settings read from YAML as a configuration file writes them:
// durations as "5m", decimals as "0.20", a check's from and off inline.
func TestConfigYAML(t *testing.T) {
	c := DefaultConfig()
	b, err := yaml.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := yaml.Unmarshal(b, &back); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	again, _ := yaml.Marshal(&back)
	if string(again) != string(b) || back.Versions[0].Spike.MinDelta != d("2.00") || back.Versions[0].Clock.Fail != time.Hour {
		t.Errorf("round trip:\n%s\n%s", b, again)
	}
	src := `
interval_window: 30h
daily_window: 1488h
recent: 8
versions:
  - spike: {factor: "8", min_delta: "1.50", neighbours: 8, days: 1, min_refs: 4, from: 2026-12-01T00:00:00+08:00}
    gap: {step: 15m, max_placeholders: 96}
`
	var y Config
	if err := yaml.Unmarshal([]byte(src), &y); err != nil {
		t.Fatal(err)
	}
	s := y.Versions[0]
	if s.Spike.Factor != d("8") || s.Spike.MinDelta != d("1.50") || s.Gap.Step != 15*time.Minute ||
		!s.Spike.From.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, CST)) || y.IntervalWindow != 30*time.Hour {
		t.Errorf("%+v", s)
	}
	if !strings.Contains(string(b), "min_delta: \"2.00\"") && !strings.Contains(string(b), "min_delta: 2.00") {
		t.Errorf("decimals as text:\n%s", b)
	}
}
