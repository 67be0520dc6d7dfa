package jetstream

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/headend/headend/internal/natstest"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/outbox"
	"github.com/headend/headend/store/sqlite"
)

// testRead is read i of batch b: its own key (meter b, quantity i).
func testRead(b, i int) meter.Read {
	at := time.Date(2026, 3, 1, 0, 15, 0, 0, time.UTC)
	return meter.Read{
		Meter:     fmt.Sprintf("%012d", 100000+b),
		Area:      "area-1",
		Channel:   "ch-1",
		Class:     meter.Interval,
		DI:        dlt645.DI(0x06100101),
		Edition:   dlt645.DLT2007,
		Quantity:  fmt.Sprintf("energy.%d", i),
		Value:     dlt645.Decimal{Units: int64(b*1000 + i), Scale: 2},
		Unit:      "kWh",
		MeterTime: at,
		ReadAt:    at.Add(7 * time.Second),
		Status:    meter.OK,
		Frame:     meter.FrameRef{Request: []byte{0x68, 0x11, 0x16}, Reply: [][]byte{{0x68, 0x91, 0x16}}, Tries: 1},
	}
}

func testBatch(b, n int) []meter.Read {
	rs := make([]meter.Read, n)
	for i := range rs {
		rs[i] = testRead(b, i)
	}
	return rs
}

// testOptions are quick to time out and redeliver, on a stream of its own.
func testOptions(node string) Options {
	return Options{
		Stream:    "READS_TEST",
		Subject:   "test.reads",
		Node:      node,
		Timeout:   3 * time.Second,
		AckWait:   2 * time.Second,
		FetchWait: 200 * time.Millisecond,
		Backoff:   func(int) time.Duration { return 50 * time.Millisecond },
	}
}

func fastBackoff(int) time.Duration { return 50 * time.Millisecond }

func connect(t testing.TB, c *natstest.Cluster, name string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(c.URL(), nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func openSQLite(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "reads.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// countingStore counts the writes of each key on their way into a store:
// how often a point reached the store, redeliveries included.
type countingStore struct {
	store.Store
	mu     sync.Mutex
	writes map[store.Key]int
	// before, when set, runs before each Write; an error fails it.
	before func(n int) error
	// after, when set, runs after each Write that succeeded.
	after func(n int)
	n     int
}

func newCountingStore(s store.Store) *countingStore {
	return &countingStore{Store: s, writes: map[store.Key]int{}}
}

func (s *countingStore) Write(ctx context.Context, reads []meter.Read) error {
	s.mu.Lock()
	s.n++
	n := s.n
	before, after := s.before, s.after
	s.mu.Unlock()
	if before != nil {
		if err := before(n); err != nil {
			return err
		}
	}
	if err := s.Store.Write(ctx, reads); err != nil {
		return err
	}
	s.mu.Lock()
	for i := range reads {
		s.writes[store.KeyOf(&reads[i])]++
	}
	s.mu.Unlock()
	if after != nil {
		after(n)
	}
	return nil
}

// rewritten returns how many keys reached the store more than once.
func (s *countingStore) rewritten() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.writes {
		if c > 1 {
			n++
		}
	}
	return n
}

// assertExactlyOnce checks that the store holds each key of want once and
// nothing else.
func assertExactlyOnce(t testing.TB, st store.Store, want map[store.Key]bool) {
	t.Helper()
	got, err := st.Query(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	count := map[store.Key]int{}
	for i := range got {
		count[store.KeyOf(&got[i])]++
	}
	var lost, doubled, extra []string
	for k := range want {
		switch c := count[k]; {
		case c == 0:
			lost = append(lost, fmt.Sprint(k))
		case c > 1:
			doubled = append(doubled, fmt.Sprintf("%v ×%d", k, c))
		}
	}
	for k := range count {
		if !want[k] {
			extra = append(extra, fmt.Sprint(k))
		}
	}
	sort.Strings(lost)
	if len(lost)+len(doubled)+len(extra) > 0 {
		t.Fatalf("store holds %d reads for %d appended: %d lost (first %v), %d doubled (%v), %d never appended (%v)",
			len(got), len(want), len(lost), first(lost), len(doubled), first(doubled), len(extra), first(extra))
	}
	t.Logf("store holds each of the %d appended reads exactly once", len(want))
}

func first(s []string) []string { return s[:min(len(s), 3)] }

// appendBatches appends batches [from, to) of size reads to ob, recording
// their keys in want.
func appendBatches(t testing.TB, ob *outbox.Outbox, want map[store.Key]bool, from, to, size int) {
	t.Helper()
	for b := from; b < to; b++ {
		rs := testBatch(b, size)
		if err := ob.Append(rs); err != nil {
			t.Fatalf("append batch %d: %v", b, err)
		}
		for i := range rs {
			want[store.KeyOf(&rs[i])] = true
		}
	}
}

// waitFor polls cond until it holds, failing after d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not within %s: %s", what, d, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// drained reports whether the outbox is empty and every message of the
// stream acknowledged.
func drained(ob *outbox.Outbox, w *Writer) func() (bool, string) {
	return func() (bool, string) {
		batches, _ := ob.Backlog()
		lag, err := w.Lag(context.Background())
		if err != nil {
			return false, err.Error()
		}
		return batches == 0 && lag.Messages == 0 && lag.AckPending == 0 && lag.Pending == 0,
			fmt.Sprintf("outbox backlog %d batches, stream lag %+v", batches, lag)
	}
}

// syncBuffer is a log sink safe for the writer's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testLogger(t testing.TB) (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, nil)), buf
}

// run starts f in a goroutine and returns a wait for its end.
func run(f func()) (wait func()) {
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	return func() { <-done }
}
