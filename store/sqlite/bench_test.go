package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/headend/headend/store"
	"github.com/headend/headend/store/storetest"
)

// BenchmarkWrite writes batches of 1000 new interval reads.
func BenchmarkWrite(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "reads.db"), Options{})
	defer s.Close()
	storetest.BenchWrite(b, s, 1000)
}

// BenchmarkWriteSyncFull is BenchmarkWrite with Options.SyncFull.
func BenchmarkWriteSyncFull(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "reads.db"), Options{SyncFull: true})
	defer s.Close()
	storetest.BenchWrite(b, s, 1000)
}

// BenchmarkAreaMonth queries a month of daily freezes of an area of 200
// meters.
func BenchmarkAreaMonth(b *testing.B) {
	storetest.BenchAreaMonth(b, func(t testing.TB, ret store.Retention) (store.Store, time.Time) {
		return open(t, filepath.Join(t.TempDir(), "reads.db"), Options{Retention: ret, Now: func() time.Time { return testNow }}), testNow
	})
}
