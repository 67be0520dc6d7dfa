package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store/results"
)

// headend reads prints a meter's reads for a person: times in the zone,
// DIs in hex, values with their units, why a read failed; not blobs and
// integers as the sqlite shell did (16.14).
func TestReadsForAPerson(t *testing.T) {
	path := writeConfig(t, "")
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	loc := cfg.Collector.Location()
	st, err := openStore(context.Background(), cfg, schedule.RealClock{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2025, 6, 2, 0, 0, 0, 0, loc)
	at := day.Add(5 * time.Minute)
	err = st.Write(context.Background(), []meter.Read{
		{Meter: "000001000001", Area: "A1", Class: meter.Daily, DI: 0x05060101, Edition: dlt645.DLT2007, Quantity: "forward active energy total",
			Value: dlt645.Decimal{Units: 123456, Scale: 2}, Unit: "kWh", MeterTime: day, ReadAt: at, Status: meter.OK,
			Frame: meter.FrameRef{Request: []byte{0x68, 0x01}, Reply: [][]byte{{0x68, 0x91}}, Tries: 1}},
		{Meter: "000001000001", Area: "A1", Class: meter.Daily, DI: 0x05060201, Edition: dlt645.DLT2007, Quantity: "reverse active energy total",
			MeterTime: day, ReadAt: at, Status: meter.Failed, Err: "no reply in 2s"},
		{Meter: "000001000001", Area: "A1", Class: meter.Daily, DI: 0x05060101, Edition: dlt645.DLT2007, Quantity: "forward active energy total",
			Value: dlt645.Decimal{Units: 1, Scale: 2}, Unit: "kWh", MeterTime: day.AddDate(0, 0, 5), ReadAt: at.AddDate(0, 0, 5), Status: meter.OK},
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, err := run(t, "", "reads", "--config", path, "--meter", "000001000001", "--from", "2025-06-01", "--to", "2025-06-03", "--frames")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	t.Logf("\n%s", out)
	for _, want := range []string{"2025-06-02 00:00:00", "05060101", "forward active energy total", "1234.56 kWh", "failed: no reply in 2s", "68 01", "68 91"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "0.01 kWh") {
		t.Errorf("a read after --to printed:\n%s", out)
	}
	if _, _, err := run(t, "", "reads", "--config", path, "--meter", "000001000001", "--from", "June"); err == nil || !strings.Contains(err.Error(), "--from") {
		t.Errorf("bad --from: %v", err)
	}
}

// headend analyse runs the analysis on the daemon now and prints what
// it did (16.12).
func TestAnalyseOnDemand(t *testing.T) {
	path := writeConfig(t, "")
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := openStore(context.Background(), cfg, schedule.RealClock{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := results.Open(filepath.Join(t.TempDir(), "results.db"), results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	an := analysis.New(st, res, cfg.Archive.Index(), analysis.Options{Location: cfg.Collector.Location()})
	clk := schedule.ScaledClock{Start: time.Date(2025, 6, 3, 9, 0, 0, 0, time.UTC), RealStart: time.Now(), Speed: 1e-9}
	srv := httptest.NewServer(analyseHandler(an, clk))
	defer srv.Close()
	out, stderr, err := run(t, "", "analyse", "--server", srv.URL, "--token", "x")
	if err != nil {
		t.Fatalf("%v: %s", err, stderr)
	}
	if !strings.Contains(out, `"today": "2025-06-03T`) || an.Last().Ran.IsZero() {
		t.Errorf("analyse printed %s; last run %+v", out, an.Last())
	}
	if _, _, err := run(t, "", "analyse"); err == nil || !strings.Contains(err.Error(), "--server") {
		t.Errorf("without --server: %v", err)
	}
}
