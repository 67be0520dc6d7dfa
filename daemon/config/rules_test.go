package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/headend/headend/analysis/vee"
)

// A VEE version written gives only what it changes: the rest is the
// defaults; an unknown key is refused at its line; the keys are not
// environment variables or flags.
func TestAnalysisRules(t *testing.T) {
	c, err := Load(write(t, base+`analysis:
  vee:
    versions:
      - spike: {factor: "4"}
      - {from: 2027-01-01T00:00:00+08:00, sum: {pct: "2"}}
  loss: {upper: "9"}
  anomaly: {jump_factor: 5}
  review:
    read_rate: {min_rate: "95"}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, def := c.Analysis.VEE.Versions, vee.DefaultSettings()
	if len(v) != 2 || v[0].Spike.Factor.String() != "4" || v[0].Sum != def.Sum || v[1].Spike != def.Spike || v[1].Sum.Pct.String() != "2" {
		t.Errorf("versions %+v", v)
	}
	if c.Analysis.Loss.Upper.String() != "9" || c.Analysis.Anomaly.JumpFactor != 5 || !strings.Contains(c.Analysis.Review, "min_rate") {
		t.Errorf("loss %s anomaly %v review %q", c.Analysis.Loss.Upper, c.Analysis.Anomaly.JumpFactor, c.Analysis.Review)
	}
	_, err = Load(write(t, base+"analysis:\n  vee:\n    versions:\n      - spike: {factr: 4}\n"), nil)
	if err == nil || !strings.Contains(err.Error(), ":11: analysis.vee.versions[0].spike.factr: unknown key") {
		t.Errorf("unknown key: %v", err)
	}
	for _, k := range Keys() {
		if strings.HasPrefix(k, "analysis.vee") || strings.HasPrefix(k, "analysis.loss") || strings.HasPrefix(k, "analysis.review") {
			t.Errorf("%s is a key with an env variable and a flag", k)
		}
	}
}

// FuzzAnalysisRules feeds the analysis rules arbitrary YAML: Load reports
// problems or returns rules that validate, and never panics.
func FuzzAnalysisRules(f *testing.F) {
	f.Add("vee:\n  versions:\n    - spike: {factor: \"4\"}")
	f.Add("vee: {recent: 1}")
	f.Add("loss: {upper: x, places: 300}")
	f.Add("anomaly: [1, 2]")
	f.Add("review: {read_rate: {min_rate: \"95\"}}")
	f.Add("vee:\n  versions: [1, {from: x}]")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, rules string) {
		p := filepath.Join(dir, "h.yaml")
		var b strings.Builder
		b.WriteString(base + "analysis:\n")
		for _, line := range strings.Split(rules, "\n") {
			b.WriteString("  " + line + "\n")
		}
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(p, nil)
		if err != nil {
			return
		}
		if err := c.Analysis.VEE.Validate(); err != nil {
			t.Fatalf("loaded VEE settings that do not validate: %v", err)
		}
		if err := c.Analysis.Loss.Check(); err != nil {
			t.Fatalf("loaded loss settings that do not check: %v", err)
		}
	})
}
