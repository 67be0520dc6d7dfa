package results

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/headend/headend/store"
	"github.com/headend/headend/store/resultstest"
)

// factory makes a results file per test; every open is another Store on
// it (another process, or the same one restarted).
func factory(t testing.TB) resultstest.Opener { return factoryOf(false)(t) }

// factoryOf is factory with Options.SyncFull (the daemon's setting
// under store.outbox.sync: every, the default).
func factoryOf(syncFull bool) resultstest.Factory {
	return func(t testing.TB) resultstest.Opener {
		path := filepath.Join(t.TempDir(), "results.db")
		return func(t testing.TB, now func() time.Time) store.Results {
			t.Helper()
			s, err := Open(path, Options{Now: now, SyncFull: syncFull})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
}

func TestContract(t *testing.T) { resultstest.Run(t, factory) }

func TestOpenRefusesDSN(t *testing.T) {
	for _, p := range []string{"x.db?mode=memory", ":memory:", ""} {
		if _, err := Open(p, Options{}); err == nil {
			t.Errorf("opened %q", p)
		}
	}
}

func BenchmarkPut(b *testing.B) {
	b.Run("sync=normal", func(b *testing.B) { resultstest.BenchPut(b, factoryOf(false), 500) })
	b.Run("sync=full", func(b *testing.B) { resultstest.BenchPut(b, factoryOf(true), 500) })
	b.Run("sync=full/batch=1", func(b *testing.B) { resultstest.BenchPut(b, factoryOf(true), 1) })
}

func BenchmarkPutParallel(b *testing.B) { resultstest.BenchPutParallel(b, factory, 500) }

func BenchmarkSince(b *testing.B) { resultstest.BenchSince(b, factory, 20000) }
