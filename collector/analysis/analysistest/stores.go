package analysistest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/headend/headend/collector/analysis"
	"github.com/headend/headend/collector/archive"
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
	in, fl := Simulate(t, LoadConfig(t, path), days)
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
	if err := a.Reads.Write(ctx, append(in.Registers, in.Instant...)); err != nil {
		t.Fatal(err)
	}
	a.Analyzer = analysis.New(a.Reads, a.Results, in.Archive, analysis.Options{Location: fl.Zone()})
	a.Now = fl.Start().AddDate(0, 0, days).Add(90 * time.Minute)
	if _, err := a.Analyzer.Run(ctx, a.Now); err != nil {
		t.Fatal(err)
	}
	return a
}
