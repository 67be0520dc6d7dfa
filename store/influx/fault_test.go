package influx

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/outbox"
)

// The fault tests put the outbox (store/outbox) in front of a real
// InfluxDB, break the database or the head-end, and count the points at
// the end: exactly the reads whose Append returned nil, none missing, none
// doubled (a rewrite of a key is the same point).

const batchSize = 50

// faultBatch is batch number b: batchSize interval reads of distinct keys
// stamped from base.
func faultBatch(base time.Time, b int) []meter.Read {
	rs := make([]meter.Read, batchSize)
	for i := range rs {
		rs[i] = meter.Read{Meter: fmt.Sprintf("%012d", b), Area: "F", Class: meter.Interval, Quantity: "forward active energy total",
			Value: dlt645.Decimal{Units: int64(b*1000 + i), Scale: 2}, Unit: "kWh", ReadAt: base.Add(time.Duration(i) * time.Second),
			Status: meter.OK, Frame: meter.FrameRef{Request: []byte{0x68, byte(b)}, Reply: [][]byte{{0x68, byte(i)}}, Tries: 1}}
	}
	return rs
}

// faultBase is a time for faultBatch: an hour ago, to the second.
func faultBase() time.Time { return time.Now().Add(-time.Hour).Truncate(time.Second) }

// count is the number of reads (points of the reads measurement) in
// bucket, counted by Flux in the database.
func count(t testing.TB, st *Store, bucket string) int {
	t.Helper()
	q := fmt.Sprintf(`from(bucket: %s) |> range(start: 1970-01-01T00:00:00Z) |> filter(fn: (r) => r._measurement == "reads" and r._field == "rec") |> group() |> count()`, fluxString(bucket))
	rows, err := st.rows(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		return 0
	}
	n, _ := rows[0].int("_value")
	return int(n)
}

// expectBatches fails the test unless bucket holds exactly the reads of
// batches 0..n-1 from base: their number counted in the database, and
// each of them read back.
func expectBatches(t testing.TB, st *Store, bucket string, base time.Time, n int) {
	t.Helper()
	if got := count(t, st, bucket); got != n*batchSize {
		t.Fatalf("the database holds %d reads, want %d batches × %d = %d", got, n, batchSize, n*batchSize)
	}
	var want []meter.Read
	for b := range n {
		want = append(want, faultBatch(base, b)...)
	}
	got, err := st.Query(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	expectSameReads(t, got, sortReads(want))
}

// notifying tells of each write the store confirmed.
type notifying struct {
	store.Store
	ok, failed chan struct{}
}

func (n *notifying) Write(ctx context.Context, rs []meter.Read) error {
	err := n.Store.Write(ctx, rs)
	ch := n.ok
	if err != nil {
		ch = n.failed
	}
	select {
	case ch <- struct{}{}:
	default:
	}
	return err
}

func openOutbox(t testing.TB, dir string, max int64) *outbox.Outbox {
	t.Helper()
	ob, err := outbox.Open(dir, outbox.Options{MaxBytes: max, SegmentBytes: min(max/4, 1<<20), DeliverReads: 200,
		Backoff: func(int) time.Duration { return 20 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	return ob
}

// waitDrained waits for the outbox's backlog to empty, woken by the
// store's confirmations.
func waitDrained(t testing.TB, ob *outbox.Outbox, ok chan struct{}) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		if b, _ := ob.Backlog(); b == 0 {
			return
		}
		select {
		case <-ok:
		case <-time.After(100 * time.Millisecond): // the last ack lands just after the last write
		case <-deadline:
			b, _ := ob.Backlog()
			t.Fatalf("outbox still holds %d batches", b)
		}
	}
}

// (a) The database stops mid-stream and comes back: the outbox holds what
// it could not deliver and drains it.
func TestDatabaseStopsMidStream(t *testing.T) {
	st, b := newDB(t, store.Retention{})
	ns := &notifying{Store: st, ok: make(chan struct{}, 1), failed: make(chan struct{}, 1)}
	ob := openOutbox(t, t.TempDir(), 64<<20)
	defer ob.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ob.Run(ctx, ns)
	base := faultBase()
	for i := range 20 {
		if err := ob.Append(faultBatch(base, i)); err != nil {
			t.Fatal(err)
		}
	}
	select { // some delivered
	case <-ns.ok:
	case <-time.After(60 * time.Second):
		t.Fatal("nothing delivered in 60 s")
	}
	srv.stop()
	for i := 20; i < 60; i++ {
		if err := ob.Append(faultBatch(base, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	waitDrained(t, ob, ns.ok)
	expectBatches(t, st, b.Raw, base, 60)
	s := ob.Stats()
	if s.Retries == 0 {
		t.Fatalf("no store write failed while the database was down: %+v", s)
	}
	t.Logf("60 batches of %d held exactly; %d store writes failed while the database was down", batchSize, s.Retries)
}

// (b) The database hangs (SIGSTOP): writes time out and are retried, and
// once it answers again everything arrives once.
func TestDatabaseSlow(t *testing.T) {
	_, b := newDB(t, store.Retention{})
	st, err := Open(context.Background(), Options{URL: srv.url, Buckets: b, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ns := &notifying{Store: st, ok: make(chan struct{}, 1), failed: make(chan struct{}, 1)}
	ob := openOutbox(t, t.TempDir(), 64<<20)
	defer ob.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv.pause()
	go ob.Run(ctx, ns)
	base := faultBase()
	for i := range 30 {
		if err := ob.Append(faultBatch(base, i)); err != nil {
			t.Fatal(err)
		}
	}
	// at least one write times out against the hung server
	select {
	case <-ns.failed:
	case <-time.After(30 * time.Second):
		t.Fatal("no write timed out against a hung database")
	}
	srv.resume()
	waitDrained(t, ob, ns.ok)
	expectBatches(t, st, b.Raw, base, 30)
	t.Logf("30 batches of %d held exactly; %d writes timed out against the hung server", batchSize, ob.Stats().Retries)
}

// (d) With the database down the outbox fills to its bound and refuses
// more (the collector then slows its polling); the database ends with
// exactly the batches that were accepted.
func TestOutboxFullWhileDatabaseDown(t *testing.T) {
	st, b := newDB(t, store.Retention{})
	ns := &notifying{Store: st, ok: make(chan struct{}, 1), failed: make(chan struct{}, 1)}
	srv.stop()
	ob := openOutbox(t, t.TempDir(), 1<<20)
	defer ob.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ob.Run(ctx, ns)
	accepted, base := 0, faultBase()
	for i := 0; ; i++ {
		err := ob.Append(faultBatch(base, i))
		if errors.Is(err, outbox.ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		accepted++
		if i > 100000 {
			t.Fatal("the outbox never filled")
		}
	}
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	waitDrained(t, ob, ns.ok)
	expectBatches(t, st, b.Raw, base, accepted)
	t.Logf("the outbox took %d batches of %d before ErrFull; the database holds exactly those", accepted, batchSize)
}

// (c) The head-end is killed with SIGKILL while it appends and delivers;
// reopened, it delivers the rest: the database holds every batch whose
// Append returned, once.
func TestHeadEndKilledMidWrite(t *testing.T) {
	_, b := newDB(t, store.Retention{})
	dir := t.TempDir()
	base := faultBase()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+dir, "HEADEND_INFLUX_URL="+srv.url, "HEADEND_INFLUX_BUCKET="+b.Raw,
		"HEADEND_INFLUX_BASE="+strconv.FormatInt(base.UnixNano(), 10))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	reported := -1
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "appended "); ok {
			reported, _ = strconv.Atoi(n)
			if reported == 150 {
				cmd.Process.Kill()
				break
			}
		}
	}
	for sc.Scan() { // lines written before it died
		if n, ok := strings.CutPrefix(sc.Text(), "appended "); ok {
			reported, _ = strconv.Atoi(n)
		}
	}
	cmd.Wait()
	if reported < 150 {
		t.Fatalf("the child reported %d batches before the kill", reported)
	}
	st, err := Open(context.Background(), Options{URL: srv.url, Buckets: b})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ob := openOutbox(t, dir, 64<<20)
	defer ob.Close()
	if err := ob.Drain(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	// batches 0..reported-1 were reported; the one after may have been
	// appended in the instant between its Append and its report line
	n := reported
	if count(t, st, b.Raw) == (reported+1)*batchSize {
		n++
	}
	expectBatches(t, st, b.Raw, base, n)
	t.Logf("killed after %d appends reported; the database holds exactly %d batches of %d", reported, n, batchSize)
}

// TestKillChild is the head-end of TestHeadEndKilledMidWrite: it appends
// batches and delivers them until it is killed.
func TestKillChild(t *testing.T) {
	dir := os.Getenv(childEnv)
	if dir == "" {
		t.Skip("the child of TestHeadEndKilledMidWrite")
	}
	b := os.Getenv("HEADEND_INFLUX_BUCKET")
	st, err := Open(context.Background(), Options{URL: os.Getenv("HEADEND_INFLUX_URL"), Buckets: Buckets{Raw: b, Registers: b, Aggregates: b}})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := strconv.ParseInt(os.Getenv("HEADEND_INFLUX_BASE"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	ob := openOutbox(t, dir, 64<<20)
	go ob.Run(context.Background(), st)
	for i := 0; ; i++ {
		if err := ob.Append(faultBatch(time.Unix(0, ns), i)); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("appended %d\n", i+1)
	}
}
