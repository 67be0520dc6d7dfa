package analysis_test

// TEMPORARY (theft helper): dumps seeded scenarios for a fast loop. Deleted before handing back.

import (
	"encoding/gob"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/headend/headend/collector/analysis"
	"github.com/headend/headend/collector/analysis/analysistest"
	"github.com/headend/headend/collector/anomaly"
	"github.com/headend/headend/collector/archive"
	"github.com/headend/headend/collector/loss"
	"github.com/headend/headend/sim/model"
)

type tmpDump struct {
	Archive   archive.Archive
	MeterLoss []loss.Result
	Flags     []anomaly.Flag
	Faults    []model.FaultTruth
	Meters    []string
	Days      []time.Time
}

func TestTmpTheftDump(t *testing.T) {
	dir := os.Getenv("THEFT_DUMP")
	if dir == "" {
		t.Skip()
	}
	for seed := int64(1); seed <= 20; seed++ {
		in, fl := analysistest.Simulate(t, seeded(t, seed), 30)
		out, err := Compute(in, DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		d := tmpDump{Archive: *in.Archive.Archive(), MeterLoss: out.MeterLoss, Flags: out.Report.Flags,
			Faults: fl.Truth(model.TruthOptions{}).Faults, Days: in.Days}
		for _, m := range fl.Meters() {
			d.Meters = append(d.Meters, m.Address)
		}
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("seed%02d.gob", seed)))
		if err != nil {
			t.Fatal(err)
		}
		if err := gob.NewEncoder(f).Encode(&d); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
}
