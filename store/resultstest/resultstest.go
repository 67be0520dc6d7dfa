// Package resultstest is the contract every store.Results backend must
// meet: a test suite (Run) and benchmarks (BenchPut, BenchSince) that a
// backend's tests call with a Factory for it.
//
//	func TestContract(t *testing.T) {
//		resultstest.Run(t, func(t testing.TB) resultstest.Opener {
//			path := filepath.Join(t.TempDir(), "results.db")
//			return func(t testing.TB, now func() time.Time) store.Results {
//				s, err := results.Open(path, results.Options{Now: now})
//				if err != nil {
//					t.Fatal(err)
//				}
//				return s
//			}
//		})
//	}
//
// Beyond what store.Results documents, the suite holds a backend to what
// billing relies on:
//
//   - Seq grows with every version stored, across Store values on one
//     database (several nodes), and the change feed is commit-ordered: a
//     reader following Since never sees a Seq before a lower one that is
//     still to come, so that "everything after my cursor" misses nothing.
//     (Seqs may have gaps that never fill.)
//   - Put rejects a batch holding a record with an empty Kind, an empty
//     Key, or an empty Body (unless Retracted), and stores nothing of it.
//   - Two records of one Kind and Key in one batch are two versions, the
//     later one current.
//   - A store.ConditionalResults puts a record only at the version it
//     is given, across Store values on one database: of several nodes
//     putting one new key at once, exactly one wins.
//   - Every field round-trips exactly: Body byte for byte, Time and
//     Stored to the nanosecond as instants (their zone may differ).
package resultstest

import (
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/store"
)

// Factory makes a new, empty database of the backend for t and returns
// how to open stores on it.
type Factory func(t testing.TB) Opener

// Opener opens a store on the factory's database, stamping Stored from
// now. Every call opens another Store on the same database, as a restart
// or another node would; the suite closes what it opens.
type Opener func(t testing.TB, now func() time.Time) store.Results

// Run runs the contract suite, each subtest on a new database.
func Run(t *testing.T, f Factory) {
	t.Run("VersionsAndFeed", func(t *testing.T) { testVersionsAndFeed(t, f) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, f) })
	t.Run("SyncRetracts", func(t *testing.T) { testSyncRetracts(t, f) })
	t.Run("BadRecords", func(t *testing.T) { testBadRecords(t, f) })
	t.Run("LargeBatches", func(t *testing.T) { testLargeBatches(t, f) })
	t.Run("SameKeyTwice", func(t *testing.T) { testSameKeyTwice(t, f) })
	t.Run("Current", func(t *testing.T) { testCurrent(t, f) })
	t.Run("History", func(t *testing.T) { testHistory(t, f) })
	t.Run("Since", func(t *testing.T) { testSince(t, f) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, f) })
	t.Run("PutIf", func(t *testing.T) { testPutIf(t, f) })
}

// Clock is a clock for the stores of one test: each reading is a second
// after the one before. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock whose first reading is a second after
// 2026-01-01 00:00 UTC.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

// Now returns the next reading.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// open opens a store on a new database.
func open(t *testing.T, f Factory) (store.Results, Opener, *Clock) {
	t.Helper()
	o := f(t)
	c := NewClock()
	s := o(t, c.Now)
	if s == nil {
		t.Fatal("opener returned a nil store")
	}
	return s, o, c
}
