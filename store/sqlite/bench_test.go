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

// BenchmarkMeterDay stores one simulated meter-day of the demo's reading
// plan (storetest.MeterDay) and reports the bytes it adds to the file
// (after a checkpoint: the database file alone, page by page), then the
// day after and what that adds.
func BenchmarkMeterDay(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		s := open(b, filepath.Join(b.TempDir(), "reads.db"), Options{})
		size := func() int64 {
			if _, err := s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				b.Fatal(err)
			}
			var pages, free, size int64
			s.w.QueryRow("PRAGMA page_count").Scan(&pages)
			s.w.QueryRow("PRAGMA freelist_count").Scan(&free)
			s.w.QueryRow("PRAGMA page_size").Scan(&size)
			return (pages - free) * size
		}
		b.StartTimer()
		storetest.MeterDayBytes(b, s, size)
		storetest.MeterNextDayBytes(b, s, size)
		s.Close()
	}
}
