package outbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
)

// fullRead has every field set, with batch b and index i in it.
func fullRead(b, i int) meter.Read {
	cst := time.FixedZone("CST", 8*3600)
	return meter.Read{
		Meter:     fmt.Sprintf("%012d", 100000+b),
		Area:      "area-7",
		Channel:   "rs485-1",
		Class:     meter.Interval,
		DI:        dlt645.DI(0x06000001 + uint32(i)),
		Edition:   dlt645.DLT1997,
		Quantity:  fmt.Sprintf("q%d-%d", b, i),
		Value:     dlt645.Decimal{Units: -123456789 - int64(i), Scale: 3},
		Text:      "b" + strconv.Itoa(b),
		Unit:      "kWh",
		MeterTime: time.Date(2024, 3, 1, 0, 15*i%60, 0, 0, cst),
		ReadAt:    time.Date(2024, 3, 1, 0, 15, 7, 123456789, cst).Add(time.Duration(b) * time.Second),
		Status:    meter.OK,
		Err:       "",
		Frame: meter.FrameRef{
			Request: []byte{0x68, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x68, 0x11, 0x04, 0x33, 0x33, 0x34, 0x33, 0xB3, 0x16},
			Reply:   [][]byte{{0x68, 0x91, 0x16}, {}, {0xFE}},
			Tries:   2,
		},
	}
}

// batch returns n reads of batch b.
func batch(b, n int) []meter.Read {
	rs := make([]meter.Read, n)
	for i := range rs {
		rs[i] = fullRead(b, i)
	}
	return rs
}

// oddReads exercise the corners of the encoding.
func oddReads() []meter.Read {
	return []meter.Read{
		{}, // all zero: zero times, nil frames
		{
			Meter: "000000000001", Class: meter.Daily, DI: 0xFFFFFFFF, Edition: dlt645.DLT2007,
			Value:     dlt645.Decimal{Units: 1<<63 - 1, Scale: 18},
			Text:      "ünïcødé 电能表 \x00\xff",
			MeterTime: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
			ReadAt:    time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", -(3*3600+30*60+17))),
			Status:    meter.Failed, Err: "timeout after 3 tries",
			Frame: meter.FrameRef{Request: []byte{}, Reply: [][]byte{}, Tries: -1},
		},
		{
			Meter: "x", Value: dlt645.Decimal{Units: -1 << 63}, Status: meter.Skipped,
			MeterTime: time.Now(), // monotonic reading, Local zone
			ReadAt:    time.Date(9999, 12, 31, 23, 59, 59, 1, time.FixedZone("+14", 14*3600)),
			Frame:     meter.FrameRef{Reply: [][]byte{nil, {1}}},
		},
	}
}

// canon maps a read to something reflect.DeepEqual compares exactly:
// times as instant, zone name and offset.
func canon(r meter.Read) any {
	tm := func(t time.Time) string {
		if t.IsZero() {
			return "zero"
		}
		name, off := t.Zone()
		return fmt.Sprintf("%d.%09d %q %d", t.Unix(), t.Nanosecond(), name, off)
	}
	mt, ra := tm(r.MeterTime), tm(r.ReadAt)
	r.MeterTime, r.ReadAt = time.Time{}, time.Time{}
	return []any{r, mt, ra}
}

func assertReadsEqual(t *testing.T, want, got []meter.Read) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("got %d reads, want %d", len(got), len(want))
	}
	for i := range want {
		if w, g := canon(want[i]), canon(got[i]); !reflect.DeepEqual(w, g) {
			t.Fatalf("read %d:\n got %#v\nwant %#v", i, g, w)
		}
	}
}

// fakeStore is an idempotent map of reads by store.Key with a log of the
// batches it confirmed (by the "b<n>" in Text) and programmable failures.
type fakeStore struct {
	mu        sync.Mutex
	points    map[store.Key]meter.Read
	confirmed []int // batch numbers, in the order Write returned nil
	batches   [][]meter.Read
	calls     int
	fail      func(call int) bool // Write number call (1, ...) fails
	failures  int
	onWrite   func(b int)   // called before a successful Write returns
	cancelAt  int           // cancel after this many confirmed batches
	cancel    func()        // what to call
	want      int           // close done after this many confirmed batches
	done      chan struct{} // closed when want is reached
}

var errStoreDown = errors.New("store down")

func newFakeStore() *fakeStore {
	return &fakeStore{points: map[store.Key]meter.Read{}, done: make(chan struct{})}
}

// key is store.KeyOf with the time in UTC: a time.Time map key compares
// the location pointer too, and decoded times get their own.
func key(r *meter.Read) store.Key {
	k := store.KeyOf(r)
	k.Time = k.Time.UTC()
	return k
}

func batchNo(rs []meter.Read) int {
	n, err := strconv.Atoi(strings.TrimPrefix(rs[0].Text, "b"))
	if err != nil {
		return -1
	}
	return n
}

func (s *fakeStore) Write(_ context.Context, rs []meter.Read) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail != nil && s.fail(s.calls) {
		s.failures++
		// A failed write may have stored part of the batch.
		for i := 0; i < len(rs)/2; i++ {
			s.points[key(&rs[i])] = rs[i]
		}
		return errStoreDown
	}
	for i := range rs {
		s.points[key(&rs[i])] = rs[i]
	}
	b := batchNo(rs)
	s.confirmed = append(s.confirmed, b)
	s.batches = append(s.batches, rs)
	if s.onWrite != nil {
		s.onWrite(b)
	}
	if s.cancel != nil && len(s.confirmed) == s.cancelAt {
		s.cancel()
	}
	if s.want > 0 && len(s.confirmed) == s.want {
		close(s.done)
	}
	return nil
}

func (s *fakeStore) Query(context.Context, store.Query) ([]meter.Read, error) { return nil, nil }
func (s *fakeStore) Close() error                                             { return nil }

func (s *fakeStore) got() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.confirmed...)
}

// seq returns from, from+1, ..., to-1.
func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func assertInts(t *testing.T, what string, got, want []int) {
	t.Helper()
	if (len(got) != 0 || len(want) != 0) && !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func noBackoff(int) time.Duration { return 0 }

func mustOpen(t testing.TB, dir string, opts Options) *Outbox {
	t.Helper()
	if opts.Backoff == nil {
		opts.Backoff = noBackoff
	}
	if opts.DeliverReads == 0 {
		opts.DeliverReads = 1 // one batch a store write, as most tests count them; TestDeliverGroups groups
	}
	o, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func mustClose(t testing.TB, o *Outbox) {
	t.Helper()
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
}

func appendBatches(t testing.TB, o *Outbox, from, to, size int) {
	t.Helper()
	for b := from; b < to; b++ {
		if err := o.Append(batch(b, size)); err != nil {
			t.Fatalf("append %d: %v", b, err)
		}
	}
}

// segFiles lists the segment files of dir, oldest first.
func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

// copyDir copies the files of src into a new temporary directory.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	es, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
