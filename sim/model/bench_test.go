package model_test

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
)

func loadLarge(b testing.TB) model.Config {
	s, err := scenario.Load("../../testdata/scenarios/large.yaml")
	if err != nil {
		b.Fatal(err)
	}
	return s.Config
}

// BenchmarkAdvanceDayLarge advances the large scenario (20,100 meters) by
// one simulated day per op. It reports the live heap after the run.
func BenchmarkAdvanceDayLarge(b *testing.B) {
	cfg := loadLarge(b)
	f, err := model.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	at := cfg.Start
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		at = at.Add(24 * time.Hour)
		f.AdvanceTo(at)
	}
	b.StopTimer()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heapMB")
	b.ReportMetric(float64(len(f.Meters())), "meters")
}

// TestLargeMemory runs the large scenario long enough to fill every ring
// buffer (daily freezes and truth days take longest) and reports the live
// heap, which must stay bounded.
func TestLargeMemory(t *testing.T) {
	if os.Getenv("METERSIM_LARGE") == "" {
		t.Skip("set METERSIM_LARGE=1 to run (about a minute; much longer with -race)")
	}
	cfg := loadLarge(t)
	f, err := model.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	heap := func() float64 { runtime.GC(); runtime.ReadMemStats(&ms); return float64(ms.HeapAlloc) / (1 << 20) }
	start := time.Now()
	days := 70
	var h8 float64
	for d := 1; d <= days; d++ {
		f.AdvanceTo(cfg.Start.AddDate(0, 0, d))
		if d == 8 {
			h8 = heap()
		}
	}
	h := heap()
	t.Logf("large: %d meters, %d simulated days in %v (%.2f s/day); live heap %.0f MiB after 8 days, %.0f MiB after %d days (rings full)",
		len(f.Meters()), days, time.Since(start).Round(time.Millisecond), time.Since(start).Seconds()/float64(days), h8, h, days)
	if h > 1024 {
		t.Errorf("live heap %.0f MiB", h)
	}
}
