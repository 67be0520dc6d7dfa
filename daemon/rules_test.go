package daemon

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/daemon/daemontest"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	simfield "github.com/headend/headend/sim/field"
)

// spikeDay is 8 quarter hours of 0.30 kWh and one of 2.10 kWh: 7 times
// the median, a spike at factor 2, not at the default 10.
func spikeDay() []meter.Read {
	t0 := time.Date(2026, 11, 2, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))
	var out []meter.Read
	reg := int64(10000)
	for i := range 10 {
		if i > 0 {
			reg += 30
		}
		if i == 9 {
			reg += 180
		}
		t := t0.Add(time.Duration(i) * 15 * time.Minute)
		out = append(out, meter.Read{Meter: "M1", Class: meter.Interval, Quantity: "forward active energy total", Unit: "kWh",
			Value: dlt645.Decimal{Units: reg, Scale: 2}, MeterTime: t, ReadAt: t.Add(5 * time.Minute), Status: meter.OK})
	}
	return out
}

func lastQuality(t *testing.T, c vee.Config) vee.Quality {
	t.Helper()
	v, err := vee.NewValidator(c)
	if err != nil {
		t.Fatal(err)
	}
	vals := v.Validate(nil, spikeDay()...)
	last := spikeDay()[9].MeterTime
	q := vee.Quality("")
	for _, x := range vals {
		if x.Time.Equal(last) && x.Class == meter.Interval {
			q = x.Quality
		}
	}
	return q
}

// A VEE limit written in headend.yaml (analysis.vee) is the one the
// analysis validates with: the same interval is valid at the default
// spike factor and suspect at the file's; the rest of the version keeps
// its defaults. analysis.anomaly and analysis.loss are read likewise.
func TestAnalysisRulesFromFile(t *testing.T) {
	path := daemontest.WriteConfig(t, "")
	b, _ := os.ReadFile(path)
	os.WriteFile(path, append(b, []byte(`analysis:
  clock_tolerance: 2m
  vee:
    versions:
      - spike: {factor: "2"}
  anomaly: {jump_factor: 4}
  loss: {upper: "8"}
`)...), 0o644)
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ac := analysisConfig(cfg)
	s := ac.VEE.Versions[0]
	if s.Spike.Factor.String() != "2" || s.Spike.MinDelta != vee.DefaultSettings().Spike.MinDelta || s.Gap != vee.DefaultSettings().Gap {
		t.Errorf("vee version from the file: %+v", s.Spike)
	}
	if ac.Anomaly.JumpFactor != 4 || ac.Anomaly.ClockTolerance != 2*time.Minute || ac.Loss.Upper.String() != "8" {
		t.Errorf("anomaly %v %v, loss upper %s", ac.Anomaly.JumpFactor, ac.Anomaly.ClockTolerance, ac.Loss.Upper)
	}
	def, err := config.Load(daemontest.WriteConfig(t, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if q := lastQuality(t, analysisConfig(def).VEE); q != vee.Valid {
		t.Errorf("default spike factor: %s, want valid", q)
	}
	if q := lastQuality(t, ac.VEE); q != vee.Suspect {
		t.Errorf("spike factor 2 from headend.yaml: %s, want suspect", q)
	}
}

// A bad or unknown rule is refused at its line.
func TestAnalysisRulesRefused(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"  vee:\n    versions:\n      - spike: {factr: 2}\n", "factr"},
		{"  review:\n    read_rate: {min_rat: 90}\n", "analysis.review"},
		{"  anomaly: {clock_tolerance: 1m}\n", "set analysis.clock_tolerance instead"},
	} {
		path := daemontest.WriteConfig(t, "")
		b, _ := os.ReadFile(path)
		os.WriteFile(path, append(b, []byte("analysis:\n"+tc.yaml)...), 0o644)
		if _, err := config.Load(path, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

// analysis.review reaches the review API, and a reload changes it.
func TestReviewRulesFromFileAndReload(t *testing.T) {
	r := startReloadRigWith(t, "analysis:\n  review:\n    read_rate: {min_rate: \"90\"}\n")
	if code, body := r.get("/api/v1/review/rules", tokAdmin); code != 200 || !strings.Contains(body, `"min_rate": "90"`) {
		t.Fatalf("review rules: %d %s", code, body)
	}
	r.vars["%ANALYSIS%"] = "analysis:\n  review:\n    read_rate: {min_rate: \"85\"}\n"
	r.write()
	r.reload("configuration applied", 1)
	if code, body := r.get("/api/v1/review/rules", tokAdmin); code != 200 || !strings.Contains(body, `"min_rate": "85"`) {
		t.Errorf("review rules after the reload: %d %s", code, body)
	}
}

// A reload reads analysis.targets again (a change of the file alone
// reloads, config.Watch); a targets file that does not read refuses the
// reload and the targets in force stay.
func TestReloadTargets(t *testing.T) {
	path := daemontest.WriteConfig(t, "")
	dir := filepath.Dir(path)
	tpath := filepath.Join(dir, "targets.csv")
	os.WriteFile(tpath, []byte("area_or_group,from,to,target_rate\nA1,2025-01,,5\n"), 0o644)
	b, _ := os.ReadFile(path)
	os.WriteFile(path, append(b, []byte("analysis:\n  targets: targets.csv\n")...), 0o644)
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := daemontest.NewLogSignal()
	d := &daemon{cfg: cfg, log: slog.New(slog.NewTextHandler(logs, nil)), level: new(slog.LevelVar), an: &analysisRun{}}
	if err := d.an.swap(cfg); err != nil {
		t.Fatal(err)
	}
	rate := func() string {
		ts := d.an.Targets()
		if len(ts) != 1 {
			t.Fatalf("targets %+v", ts)
		}
		return fmt.Sprint(ts[0].Rate)
	}
	before := rate()
	os.WriteFile(tpath, []byte("area_or_group,from,to,target_rate\nA1,2025-01,,4.5\n"), 0o644)
	d.reload(t.Context(), nil, cfg)
	if after := rate(); after == before || !strings.Contains(after, "4.5") {
		t.Errorf("targets after the reload: %s, before %s", after, before)
	}
	os.WriteFile(tpath, []byte("area_or_group,from,to,target_rate\nA1,2025-01,,lots\n"), 0o644)
	d.reload(t.Context(), nil, cfg)
	if !strings.Contains(logs.String(), "reload refused: ") || !strings.Contains(logs.String(), "targets.csv") {
		t.Errorf("a bad targets file: log\n%s", logs.String())
	}
	if after := rate(); !strings.Contains(after, "4.5") {
		t.Errorf("targets after a refused reload: %s", after)
	}
}

// A reload that changes publish restarts the publisher on the new
// settings.
func TestReloadPublish(t *testing.T) {
	broker, err := simfield.StartBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Close() }) // after the daemon's stop (cleanups run last first)
	r := startReloadRigWith(t, "publish: {broker: "+broker.URL()+", topic: \"first/{area}/{meter}\", every: 1h}\n")
	r.logs.Wait(t, "topic=first/")
	r.vars["%ANALYSIS%"] = "publish: {broker: " + broker.URL() + ", topic: \"second/{area}/{meter}\", every: 1h}\n"
	r.write()
	r.reload("configuration applied", 1)
	out := r.logs.String()
	if !strings.Contains(out, "sections=[publish]") || !strings.Contains(out, "msg=\"billing publish\" broker="+broker.URL()+" topic=second/") {
		t.Errorf("publish not restarted on the new topic:\n%s", out)
	}
}

// FuzzDecodeReview feeds analysis.review arbitrary YAML: it is refused or
// gives rules that validate, and never panics.
func FuzzDecodeReview(f *testing.F) {
	f.Add("read_rate: {min_rate: \"95\"}")
	f.Add("read_rate: {min_rat: 95}")
	f.Add("estimated: {repeat_days: -1}")
	f.Add("[1, 2]")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := decodeReview(text)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("decoded rules that do not validate: %v", err)
		}
	})
}
