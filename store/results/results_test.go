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
func factory(t testing.TB) resultstest.Opener {
	path := filepath.Join(t.TempDir(), "results.db")
	return func(t testing.TB, now func() time.Time) store.Results {
		t.Helper()
		s, err := Open(path, Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return s
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

func BenchmarkPut(b *testing.B)   { resultstest.BenchPut(b, factory, 500) }
func BenchmarkSince(b *testing.B) { resultstest.BenchSince(b, factory, 20000) }
