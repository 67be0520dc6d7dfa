package sqlite

import (
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/storetest"
)

var testNow = time.Date(2026, 11, 23, 10, 17, 42, 0, time.UTC)

// cst is the head-end's zone in the field: days begin at 00:00 +08:00.
var cst = time.FixedZone("CST", 8*3600)

// clock is a settable clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) set(t time.Time)  { c.ns.Store(t.UnixNano()) }

func open(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t testing.TB, ret store.Retention) (store.Store, time.Time) {
		s := open(t, filepath.Join(t.TempDir(), "reads.db"),
			Options{Retention: ret, Now: func() time.Time { return testNow }, Location: cst})
		return s, testNow
	})
}

func reading(meterID string, c meter.Class, at time.Time, units int64) meter.Read {
	return meter.Read{Meter: meterID, Area: "A", Class: c, Quantity: "active power total",
		Value: dlt645.Decimal{Units: units, Scale: 3}, Unit: "kW", ReadAt: at, Status: meter.OK,
		Frame: meter.FrameRef{Request: []byte{0x68, 0x11}, Reply: [][]byte{{0x68, 0x91}}, Tries: 1}}
}

func count(t *testing.T, s *Store, q store.Query) int {
	t.Helper()
	rs, err := s.Query(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	return len(rs)
}

func TestDays(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "reads.db"), Options{Now: func() time.Time { return testNow }, Location: cst})
	defer s.Close()
	// 23:30 and 00:30 +08:00 are two days, though one UTC day.
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, cst)
	rs := []meter.Read{
		reading("000000000001", meter.Interval, day.Add(-30*time.Minute), 1),
		reading("000000000001", meter.Interval, day.Add(30*time.Minute), 2),
	}
	if err := s.Write(t.Context(), rs); err != nil {
		t.Fatal(err)
	}
	if err := s.Downsample(t.Context(), day.Add(-time.Hour), day.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	aggs, err := s.Aggregates(t.Context(), store.Query{})
	if err != nil || len(aggs) != 2 {
		t.Fatalf("Aggregates: %+v, %v; want two days", aggs, err)
	}
	for i, want := range []time.Time{day.AddDate(0, 0, -1), day} {
		if !aggs[i].Day.Equal(want) || aggs[i].Day.Location() != cst || aggs[i].Sum.Units != int64(i+1) {
			t.Errorf("aggregate %d: Day %v Sum %v, want Day %v Sum %d", i, aggs[i].Day, aggs[i].Sum, want, i+1)
		}
	}
	// Days without raw reads keep their aggregates, and the whole of
	// time is only the days there are reads of.
	if _, err := s.w.Exec("DELETE FROM reads WHERE t < ?", day.UnixNano()); err != nil {
		t.Fatal(err)
	}
	if err := s.Downsample(t.Context(), time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if aggs, err := s.Aggregates(t.Context(), store.Query{}); err != nil || len(aggs) != 2 {
		t.Errorf("Aggregates after a day lost its raw reads: %+v, %v; want both days", aggs, err)
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reads.db")
	opts := Options{Now: func() time.Time { return testNow }, Location: cst}
	s := open(t, path, opts)
	var rs []meter.Read
	for i := range 100 {
		rs = append(rs, reading("000000000001", meter.Interval, testNow.Add(-time.Duration(i)*time.Minute), int64(i)))
	}
	if err := s.Write(t.Context(), rs); err != nil {
		t.Fatal(err)
	}
	if err := s.Downsample(t.Context(), testNow.Add(-2*time.Hour), testNow); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close again: %v", err)
	}
	s = open(t, path, opts)
	defer s.Close()
	got, err := s.Query(t.Context(), store.Query{})
	if err != nil || len(got) != 100 {
		t.Fatalf("after reopening: %d reads, %v; want 100", len(got), err)
	}
	if got[0].Value.Units != 99 || !got[0].ReadAt.Equal(testNow.Add(-99*time.Minute)) {
		t.Errorf("after reopening: first read %+v", got[0])
	}
	if aggs, err := s.Aggregates(t.Context(), store.Query{}); err != nil || len(aggs) == 0 {
		t.Errorf("after reopening: aggregates %+v, %v", aggs, err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{"", "a?b", ":memory:", filepath.Join(dir, "missing", "reads.db")} {
		s, err := Open(path, Options{})
		if err == nil {
			s.Close()
			t.Errorf("Open(%q): no error", path)
			continue
		}
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "open") {
			t.Errorf("Open(%q): error %q does not name the path and the operation", path, err)
		}
	}
	// A file of another schema version.
	path := filepath.Join(dir, "v9.db")
	s := open(t, path, Options{})
	if _, err := s.w.Exec("PRAGMA user_version = 9"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), "schema version 9") {
		t.Errorf("Open of schema version 9: %v", err)
	}
}

func TestWriteErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reads.db")
	s := open(t, path, Options{})
	defer s.Close()
	r := reading("000000000001", meter.Interval, time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), 1)
	err := s.Write(t.Context(), []meter.Read{r})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "read 0") ||
		!strings.Contains(err.Error(), "out of range") {
		t.Errorf("Write in 2300: %v", err)
	}
}

// TestQueryPlan checks that the queries Query builds find their reads by
// an index.
func TestQueryPlan(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "reads.db"), Options{Retention: store.Retention{Raw: time.Hour}})
	defer s.Close()
	from, to := testNow.Add(-24*time.Hour), testNow
	for _, c := range []struct {
		q    store.Query
		want []string
	}{
		{store.Query{Area: "A", Class: meter.Daily, From: from, To: to},
			[]string{"SEARCH series USING COVERING INDEX series_area (area=? AND class=?)", "SEARCH r USING PRIMARY KEY (series=? AND t>? AND t<?)"}},
		{store.Query{Area: "A", Class: meter.Daily, Quantity: "q"},
			[]string{"SEARCH series USING INDEX series_area (area=? AND class=?)", "SEARCH r USING PRIMARY KEY (series=?)"}},
		{store.Query{Meters: []string{"1", "2"}, Class: meter.Monthly, From: from, To: to},
			[]string{"sqlite_autoindex_series_1 (meter=? AND class=?)", "SEARCH r USING PRIMARY KEY (series=? AND t>? AND t<?)"}},
		{store.Query{Meters: make([]string, inlineMeters+1)},
			[]string{"json_each", "SEARCH r USING PRIMARY KEY (series=?"}},
		{store.Query{Quantity: "q", From: from},
			[]string{"SEARCH r USING PRIMARY KEY (series=? AND t>?)"}},
	} {
		query, args := s.querySQL(&c.q, testNow)
		plan := explain(t, s, query, args...)
		for _, w := range c.want {
			if !strings.Contains(plan, w) {
				t.Errorf("%+v:\n%s\nplan: %s\nwant: %s", c.q, query, plan, w)
			}
		}
	}
	plan := explain(t, s, "DELETE FROM reads WHERE "+inPair+" AND t < ?", "A", "daily", 0)
	if !strings.Contains(plan, "SEARCH reads USING PRIMARY KEY (series=? AND t<?)") || !strings.Contains(plan, "series_area (area=? AND class=?)") {
		t.Errorf("Prune of an area and class: %s", plan)
	}
}

func explain(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.r.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}
