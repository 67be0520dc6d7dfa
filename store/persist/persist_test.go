package persist

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/outbox"
)

// memStore is a store that can be taken down; it tells of every write.
type memStore struct {
	mu     sync.Mutex
	down   bool
	points map[store.Key]meter.Read
	wrote  chan struct{}
}

func (m *memStore) Write(_ context.Context, reads []meter.Read) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	defer func() {
		select {
		case m.wrote <- struct{}{}:
		default:
		}
	}()
	if m.down {
		return errors.New("database unreachable")
	}
	for i := range reads {
		m.points[store.KeyOf(&reads[i])] = reads[i]
	}
	return nil
}

func (m *memStore) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.points)
}

func (m *memStore) setDown(d bool) {
	m.mu.Lock()
	m.down = d
	m.mu.Unlock()
}

func (m *memStore) Query(context.Context, store.Query) ([]meter.Read, error) { return nil, nil }
func (m *memStore) Close() error                                             { return nil }

func batch(n, at int) []meter.Read {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	out := make([]meter.Read, n)
	for i := range out {
		out[i] = meter.Read{Meter: fmt.Sprintf("%012d", i), Class: meter.Interval, Quantity: "forward active energy total",
			Value: dlt645.Decimal{Units: int64(at*1000 + i), Scale: 2}, ReadAt: t0.Add(time.Duration(at) * 15 * time.Minute), Status: meter.OK}
	}
	return out
}

// While the store is down the outbox fills; then Accept blocks (the bus
// would wait) instead of dropping, Status says so, and once the store is
// back every accepted read arrives exactly once.
func TestFullOutboxBlocksInsteadOfDropping(t *testing.T) {
	ob, err := outbox.Open(t.TempDir(), outbox.Options{MaxBytes: 64 << 10, SegmentBytes: 8 << 10,
		Backoff: func(int) time.Duration { return time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	ms := &memStore{points: map[store.Key]meter.Read{}, wrote: make(chan struct{}, 1), down: true}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	blocked := make(chan struct{}, 1)
	release := make(chan struct{})
	p := New(ctx, ob, ms, Options{Wait: func(ctx context.Context, _ time.Duration) error {
		select {
		case blocked <- struct{}{}:
		default:
		}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}})
	go p.Run(ctx)

	done := make(chan int)
	go func() {
		i := 0
		for ; ; i++ {
			p.Accept(batch(10, i))
			select {
			case <-blocked:
				// the Accept that blocked has returned after the release
				done <- i + 1
				return
			default:
			}
		}
	}()
	select {
	case <-blocked:
	case <-time.After(10 * time.Second):
		t.Fatal("Accept never blocked on a full outbox")
	}
	blocked <- struct{}{} // tell the producer, after release, that it had blocked
	st := p.Status()
	if !st.Full || st.BacklogBatches == 0 || st.StoreError == "" {
		t.Fatalf("status while full = %+v", st)
	}
	ms.setDown(false)
	close(release)
	var batches int
	select {
	case batches = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Accept did not return once the store was back")
	}
	want := batches * 10
	deadline := time.After(10 * time.Second)
	for ms.count() < want {
		select {
		case <-ms.wrote:
		case <-deadline:
			t.Fatalf("store holds %d reads, want %d", ms.count(), want)
		}
	}
	st = p.Status()
	if st.Full || st.Lost != 0 || st.Accepted != int64(want) || st.OutboxError != "" {
		t.Fatalf("status after recovery = %+v, want accepted %d, nothing lost", st, want)
	}
	if ms.count() != want {
		t.Fatalf("store holds %d reads, want exactly %d", ms.count(), want)
	}
}

// At shutdown with the outbox full, the batch held is given up and
// counted, not silently lost.
func TestShutdownWhileFullCounts(t *testing.T) {
	ob, err := outbox.Open(t.TempDir(), outbox.Options{MaxBytes: 8 << 10, SegmentBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	ctx, cancel := context.WithCancel(context.Background())
	p := New(ctx, ob, &memStore{points: map[store.Key]meter.Read{}, wrote: make(chan struct{}, 1)},
		Options{Wait: func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }})
	n := 0
	for p.Status().Lost == 0 {
		p.Accept(batch(10, n))
		n++
		if n > 1000 {
			t.Fatal("the outbox never filled")
		}
	}
	if st := p.Status(); st.Lost != 10 || st.Accepted != int64((n-1)*10) {
		t.Fatalf("status = %+v after %d batches", st, n)
	}
}

// A read no store can take is dropped at the door, logged and counted;
// the reads beside it go on, and delivery is not held up.
func TestUnstorableReadRejected(t *testing.T) {
	ob, err := outbox.Open(t.TempDir(), outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	ms := &memStore{points: map[store.Key]meter.Read{}, wrote: make(chan struct{}, 1)}
	p := New(context.Background(), ob, ms, Options{})
	b := batch(3, 0)
	b[1].Quantity = ""
	p.Accept(b)
	if err := ob.Drain(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	if st := p.Status(); st.Rejected != 1 || st.Accepted != 2 || ms.count() != 2 {
		t.Fatalf("status %+v, store holds %d: want 1 rejected, 2 stored", st, ms.count())
	}
}

// A batch larger than the outbox can hold is split until its parts fit,
// not dropped.
func TestTooLargeBatchSplit(t *testing.T) {
	ob, err := outbox.Open(t.TempDir(), outbox.Options{MaxBytes: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	ms := &memStore{points: map[store.Key]meter.Read{}, wrote: make(chan struct{}, 1)}
	p := New(context.Background(), ob, ms, Options{Retry: time.Millisecond})
	b := batch(1000, 0)
	if err := ob.Append(b); !errors.Is(err, outbox.ErrTooLarge) {
		t.Fatalf("append of the whole batch: %v, want ErrTooLarge", err)
	}
	// Accept it in a goroutine: the parts fill the outbox, and delivery
	// makes room for the next.
	done := make(chan struct{})
	go func() { p.Accept(b); close(done) }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Accept of a batch too large never returned")
	}
	if err := ob.Drain(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	if st := p.Status(); st.Lost != 0 || st.Accepted != 1000 || ms.count() != 1000 {
		t.Fatalf("status %+v, store holds %d: want all 1000 accepted and stored", st, ms.count())
	}
}
