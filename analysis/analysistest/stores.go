package analysistest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/store/results"
	"github.com/headend/headend/store/sqlite"
)

// Analysed is a simulated fleet whose reads are in an embedded read store
// and whose analysis is in a results store, both in a test's temporary
// directory.
type Analysed struct {
	Fleet       *model.Fleet
	Archive     *archive.Index
	Reads       *sqlite.Store
	Results     *results.Store
	ResultsPath string
	Analyzer    *analysis.Analyzer
	Now         time.Time // the analysis ran at 01:30 of the day after the last
}

// Analyse simulates days days of the scenario at path, stores the reads
// and runs the analysis once.
func Analyse(t testing.TB, path string, days int) *Analysed {
	t.Helper()
	t0 := time.Now()
	in, fl := Simulate(t, LoadConfig(t, path), days)
	t.Logf("simulated %d days in %s", days, time.Since(t0).Round(time.Millisecond))
	dir := t.TempDir()
	a := &Analysed{Fleet: fl, Archive: in.Archive, ResultsPath: filepath.Join(dir, "results.db")}
	var err error
	if a.Reads, err = sqlite.Open(filepath.Join(dir, "reads.db"), sqlite.Options{Location: fl.Zone()}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Reads.Close() })
	if a.Results, err = results.Open(a.ResultsPath, results.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Results.Close() })
	ctx := context.Background()
	// the analysis reads the instantaneous values of its last 3 days and
	// the clock reads of its whole window: store no more (the embedded
	// store is slow under the race detector)
	recent := fl.Start().AddDate(0, 0, days-4)
	reads := in.Registers
	for _, r := range in.Instant {
		if r.Class != meter.Instantaneous || !r.ReadAt.Before(recent) {
			reads = append(reads, r)
		}
	}
	if err := a.Reads.Write(ctx, reads); err != nil {
		t.Fatal(err)
	}
	t.Logf("stored %d reads at %s", len(reads), time.Since(t0).Round(time.Millisecond))
	a.Analyzer = analysis.New(a.Reads, a.Results, in.Archive, analysis.Options{Location: fl.Zone()})
	a.Now = fl.Start().AddDate(0, 0, days).Add(90 * time.Minute)
	if _, err := a.Analyzer.Run(ctx, a.Now); err != nil {
		t.Fatal(err)
	}
	t.Logf("analysed at %s", time.Since(t0).Round(time.Millisecond))
	return a
}
