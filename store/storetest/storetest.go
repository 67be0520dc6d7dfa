// Package storetest is the contract every store.Store backend must meet:
// a test suite (Run) and benchmark helpers (BenchWrite, BenchAreaMonth)
// that a backend's tests call with a Factory for it.
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t testing.TB, ret store.Retention) (store.Store, time.Time) {
//			now := time.Date(2026, 11, 23, 10, 17, 0, 0, time.UTC)
//			s, err := mystore.Open(t.TempDir(), ret, func() time.Time { return now })
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s, now
//		})
//	}
//
// Beyond what the store package documents, the suite holds a backend to
// these rules:
//
//   - Write rejects a batch holding a read with an empty Meter, an empty
//     Quantity or a zero store.Time with an error whose text names the
//     read's index in the batch (as a number of its own) and what is wrong
//     ("meter", "quantity" or "time"), and stores nothing of that batch.
//   - Write accepts reads already past retention and returns nil: they are
//     dropped, at once or later, and never returned. (An error would make
//     the outbox retry the batch forever.)
//   - Query orders reads by (store.Time, Meter, Class, Quantity), and
//     Aggregates orders by (Day, Meter, Class, Quantity).
//   - A read counts in an Aggregate when its Status is read.OK and its
//     Text is empty (a number); Min and Max ties go to the earliest read.
//   - Every field of a read round-trips exactly; times as instants (their
//     zone may differ), a zero MeterTime or ReadAt stays zero, and an empty
//     frame may come back nil.
//
// The suite places every read within the 40 days before the store's now;
// only the retention test uses a retention other than zero (forever).
package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
)

// Factory opens a new, empty store with the given retention. now is the
// store's clock as the suite must assume it (for a backend whose clock
// cannot be injected it is time.Now()). Run closes the store at the end of
// the subtest; the factory may register the cleanup of anything else (a
// directory, a bucket) with t.Cleanup.
type Factory func(t testing.TB, ret store.Retention) (s store.Store, now time.Time)

// Run runs the contract suite against stores opened by open, each subtest
// on a new store. The Downsample subtest is skipped when the store does
// not implement store.Downsampler.
func Run(t *testing.T, open Factory) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, open) })
	t.Run("Rewrite", func(t *testing.T) { testRewrite(t, open) })
	t.Run("KeysInUTC", func(t *testing.T) { testKeysInUTC(t, open) })
	t.Run("Queries", func(t *testing.T) { testQueries(t, open) })
	t.Run("Bounds", func(t *testing.T) { testBounds(t, open) })
	t.Run("Retention", func(t *testing.T) { testRetention(t, open) })
	t.Run("BadInput", func(t *testing.T) { testBadInput(t, open) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, open) })
	t.Run("Downsample", func(t *testing.T) { testDownsample(t, open) })
}

// openStore opens a store and closes it when the test ends.
func openStore(t testing.TB, open Factory, ret store.Retention) (store.Store, time.Time) {
	t.Helper()
	s, now := open(t, ret)
	if s == nil {
		t.Fatal("factory returned a nil store")
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, now
}

// Quantities and units the suite uses.
const (
	qFwd   = "forward active energy total"
	qRev   = "reverse active energy total"
	qPower = "active power total"
	qVolt  = "voltage phase A"
)

// meterAddr returns the 12-digit address of meter i of area a (0..99).
func meterAddr(a, i int) string { return fmt.Sprintf("%06d%06d", a, i) }

// reading returns an OK read stamped by the meter at at, read 7 s later.
func reading(meterID, area string, c meter.Class, qty string, at time.Time, units int64, scale uint8) meter.Read {
	return meter.Read{
		Meter:     meterID,
		Area:      area,
		Channel:   "ch-" + area,
		Class:     c,
		DI:        0x00010000,
		Quantity:  qty,
		Value:     dlt645.Decimal{Units: units, Scale: scale},
		Unit:      "kWh",
		MeterTime: at,
		ReadAt:    at.Add(7 * time.Second),
		Status:    meter.OK,
		Frame: meter.FrameRef{
			Request: []byte{0x68, 0x11, 0x04, 0x33, 0x33, 0x34, 0x33, 0x16},
			Reply:   [][]byte{{0x68, 0x91, 0x08, 0x33, 0x33, 0x34, 0x33, 0x16}},
			Tries:   1,
		},
	}
}

// write writes reads and fails the test on an error.
func write(t testing.TB, s store.Store, reads []meter.Read) {
	t.Helper()
	if err := s.Write(t.Context(), reads); err != nil {
		t.Fatalf("Write(%d reads): %v", len(reads), err)
	}
}

// query queries and fails the test on an error.
func query(t testing.TB, s store.Store, q store.Query) []meter.Read {
	t.Helper()
	rs, err := s.Query(t.Context(), q)
	if err != nil {
		t.Fatalf("Query(%+v): %v", q, err)
	}
	return rs
}

// cmpOrder compares reads as Query orders them.
func cmpOrder(a, b *meter.Read) int {
	if c := store.Time(a).Compare(store.Time(b)); c != 0 {
		return c
	}
	if c := strings.Compare(a.Meter, b.Meter); c != 0 {
		return c
	}
	if c := strings.Compare(string(a.Class), string(b.Class)); c != 0 {
		return c
	}
	return strings.Compare(a.Quantity, b.Quantity)
}

// sorted returns a copy of rs in query order.
func sorted(rs []meter.Read) []meter.Read {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b meter.Read) int { return cmpOrder(&a, &b) })
	return rs
}

// diff describes how got differs from want, or returns "".
func diff(got, want *meter.Read) string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s %v, want %v", field, g, w)) }
	if got.Meter != want.Meter {
		add("Meter", got.Meter, want.Meter)
	}
	if got.Area != want.Area {
		add("Area", got.Area, want.Area)
	}
	if got.Channel != want.Channel {
		add("Channel", got.Channel, want.Channel)
	}
	if got.Class != want.Class {
		add("Class", got.Class, want.Class)
	}
	if got.DI != want.DI {
		add("DI", got.DI, want.DI)
	}
	if got.Edition != want.Edition {
		add("Edition", got.Edition, want.Edition)
	}
	if got.Quantity != want.Quantity {
		add("Quantity", got.Quantity, want.Quantity)
	}
	if got.Value != want.Value {
		add("Value", fmt.Sprintf("%+v", got.Value), fmt.Sprintf("%+v", want.Value))
	}
	if got.Text != want.Text {
		add("Text", got.Text, want.Text)
	}
	if got.Unit != want.Unit {
		add("Unit", got.Unit, want.Unit)
	}
	if !sameInstant(got.MeterTime, want.MeterTime) {
		add("MeterTime", got.MeterTime, want.MeterTime)
	}
	if !sameInstant(got.ReadAt, want.ReadAt) {
		add("ReadAt", got.ReadAt, want.ReadAt)
	}
	if got.Status != want.Status {
		add("Status", got.Status, want.Status)
	}
	if got.Err != want.Err {
		add("Err", got.Err, want.Err)
	}
	if !bytes.Equal(got.Frame.Request, want.Frame.Request) {
		add("Frame.Request", fmt.Sprintf("% X", got.Frame.Request), fmt.Sprintf("% X", want.Frame.Request))
	}
	if !slices.EqualFunc(got.Frame.Reply, want.Frame.Reply, bytes.Equal) {
		add("Frame.Reply", fmt.Sprintf("% X", got.Frame.Reply), fmt.Sprintf("% X", want.Frame.Reply))
	}
	if got.Frame.Tries != want.Frame.Tries {
		add("Frame.Tries", got.Frame.Tries, want.Frame.Tries)
	}
	return strings.Join(d, "; ")
}

// sameInstant reports whether a and b are both zero or the same instant.
func sameInstant(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero() == b.IsZero()
	}
	return a.Equal(b)
}

// expectReads fails the test unless got is want, in that order.
func expectReads(t testing.TB, what string, got, want []meter.Read) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d reads, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range min(len(got), len(want)) {
		if d := diff(&got[i], &want[i]); d != "" {
			t.Errorf("%s: read %d (%s %s %s at %v): %s", what, i,
				want[i].Meter, want[i].Class, want[i].Quantity, store.Time(&want[i]), d)
			if bad++; bad == 5 {
				t.Errorf("%s: more differences not shown", what)
				return
			}
		}
	}
}
