package sqlite

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// collector is the meter whose reads, written as the clock moves on,
// stand for the collection going on beside the reads under test.
const collector = "000000000009"

func rows(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPrune(t *testing.T) {
	clk := newClock(testNow)
	s := open(t, filepath.Join(t.TempDir(), "reads.db"), Options{
		Retention: store.Retention{Raw: 48 * time.Hour, Registers: 30 * 24 * time.Hour, Aggregates: 60 * 24 * time.Hour, MaxShare: 1},
		Now:       clk.now, Location: cst,
	})
	defer s.Close()
	collect := func(classes ...meter.Class) {
		t.Helper()
		var rs []meter.Read
		for _, c := range classes {
			rs = append(rs, reading(collector, c, clk.now(), 1))
		}
		if err := s.Write(t.Context(), rs); err != nil {
			t.Fatal(err)
		}
	}
	day := startOfDay(testNow, cst)
	var rs []meter.Read
	for h := range 24 {
		rs = append(rs, reading("000000000001", meter.Interval, day.Add(time.Duration(h-24)*time.Hour), int64(h)))
	}
	for d := range 10 {
		rs = append(rs, reading("000000000001", meter.Daily, day.AddDate(0, 0, -d), int64(d)))
	}
	if err := s.Write(t.Context(), rs); err != nil {
		t.Fatal(err)
	}
	if err := s.Downsample(t.Context(), day.AddDate(0, 0, -1), day); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Prune(t.Context()); err != nil || p.Reads != 0 || p.Aggregates != 0 || p.StoredReads != 34 {
		t.Fatalf("Prune with nothing expired: %+v, %v", p, err)
	}

	// The interval reads are yesterday's, 00:00 to 23:00 +08:00; 7 hours
	// on, with reads collected up to then, the first two are older than
	// 48 hours.
	clk.set(testNow.Add(7 * time.Hour))
	collect(meter.Interval)
	one := []string{"000000000001"}
	if n := count(t, s, store.Query{Meters: one, Class: meter.Interval}); n != 22 {
		t.Errorf("before Prune, Query returns %d interval reads, want 22", n)
	}
	p, err := s.Prune(t.Context())
	if err != nil || p.Reads != 2 || p.StoredReads != 35 || !p.RawCutoff.Equal(clk.now().Add(-48*time.Hour)) {
		t.Errorf("Prune: %+v, %v; want 2 of 35 deleted, cut at %s", p, err, clk.now().Add(-48*time.Hour))
	}
	if n := rows(t, s, "reads"); n != 33 {
		t.Errorf("%d rows after Prune, want 33", n)
	}
	// 25 days on, the rest of the interval reads (the collector's of 25
	// days ago too) and the daily reads older than day-5+1h go; the
	// aggregate stays.
	clk.set(day.AddDate(0, 0, 25).Add(time.Hour))
	collect(meter.Interval, meter.Daily)
	if p, err := s.Prune(t.Context()); err != nil || p.Reads != 22+1+5 {
		t.Errorf("Prune: %+v, %v; want 22+1 interval and 5 daily reads deleted", p, err)
	}
	aggs, err := s.Aggregates(t.Context(), store.Query{})
	if err != nil || len(aggs) != 1 || aggs[0].Count != 24 {
		t.Fatalf("Aggregates: %+v, %v; want one of 24 reads", aggs, err)
	}
	// Downsampling the day again does not lose it now its reads are gone.
	if err := s.Downsample(t.Context(), day.AddDate(0, 0, -1), day); err != nil {
		t.Fatal(err)
	}
	if aggs, _ := s.Aggregates(t.Context(), store.Query{}); len(aggs) != 1 || aggs[0].Count != 24 {
		t.Errorf("Aggregates after a late Downsample: %+v", aggs)
	}
	// 61 days on, with the collector's reads of the day before downsampled,
	// the first aggregate is past retention and so are the daily reads.
	clk.set(day.AddDate(0, 0, 61))
	last := day.AddDate(0, 0, 60)
	if err := s.Write(t.Context(), []meter.Read{reading(collector, meter.Interval, last.Add(time.Hour), 1),
		reading(collector, meter.Daily, last, 1)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Downsample(t.Context(), last, clk.now()); err != nil {
		t.Fatal(err)
	}
	if aggs, _ := s.Aggregates(t.Context(), store.Query{Meters: one}); len(aggs) != 0 {
		t.Errorf("Aggregates past retention: %+v", aggs)
	}
	if p, err := s.Prune(t.Context()); err != nil || p.Reads != 5+1+1 || p.Aggregates != 1 {
		t.Errorf("Prune: %+v, %v; want 5+1 daily reads, the collector's interval read and 1 aggregate deleted", p, err)
	}
}

// A clock far ahead of the data (old data served without following its
// clock, a host clock jumped forward) deletes only what the newest
// stored read puts past retention: a month of 15-minute reads and a
// clock a year ahead, with raw reads kept 7 days, keeps the last 7 days
// before its newest read (the share lifted, so that only the newest bound
// is tested). On today's code the pass deleted every raw read.
func TestPruneBoundedByNewestRead(t *testing.T) {
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, cst)
	clk := newClock(first.AddDate(1, 0, 0))
	s := open(t, filepath.Join(t.TempDir(), "reads.db"), Options{
		Retention: store.Retention{Raw: 7 * 24 * time.Hour, Registers: 30 * 24 * time.Hour, MaxShare: 1},
		Now:       clk.now, Location: cst,
	})
	defer s.Close()
	// Written with the clock a year ahead already: Write keeps the last
	// 7 days before the newest read (and the reads it is given past that
	// are Prune's to delete).
	month(t, s, first)
	if n := rows(t, s, "reads"); n != 7*96+1+30 {
		t.Fatalf("%d reads stored with the clock a year ahead, want %d", n, 7*96+1+30)
	}
	// The month written with the clock on time, the clock then a year on.
	clk.set(first)
	month(t, s, first)
	clk.set(first.AddDate(1, 0, 0))
	newest := first.AddDate(0, 0, 30).Add(-15 * time.Minute)
	p, err := s.Prune(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := newest.Add(-7 * 24 * time.Hour); !p.RawCutoff.Equal(want) {
		t.Errorf("raw cut-off %s, want %s (the newest read less the retention)", p.RawCutoff, want)
	}
	if want := first.AddDate(0, 0, -1); !p.RegistersCutoff.Equal(want) {
		t.Errorf("registers cut-off %s, want %s", p.RegistersCutoff, want)
	}
	// The interval reads before the cut-off go (23 days less the last
	// quarter hour); the daily reads (30 days, kept 30) all stay.
	if p.Reads != 23*96-1 || p.StoredReads != 30*96+30 {
		t.Errorf("pruned %+v: want %d of %d reads deleted", p, 23*96-1, 30*96+30)
	}
	if n := rows(t, s, "reads"); n != 7*96+1+30 {
		t.Errorf("%d reads left, want %d", n, 7*96+1+30)
	}
	// The clock a year ahead again: nothing more goes.
	if p, err := s.Prune(t.Context()); err != nil || p.Reads != 0 {
		t.Errorf("second pass: %+v, %v; want nothing deleted", p, err)
	}
}

// month writes a month of 15-minute interval reads and daily reads from
// first, for one meter.
func month(t *testing.T, s *Store, first time.Time) {
	t.Helper()
	var rs []meter.Read
	for i := range 30 * 96 {
		rs = append(rs, reading("000000000001", meter.Interval, first.Add(time.Duration(i)*15*time.Minute), int64(i)))
	}
	for d := range 30 {
		rs = append(rs, reading("000000000001", meter.Daily, first.AddDate(0, 0, d), int64(d)))
	}
	if err := s.Write(t.Context(), rs); err != nil {
		t.Fatal(err)
	}
}

// A pass that would delete more than MaxShare of the store deletes
// nothing and says what it would have deleted; the default share is
// 0.25, and a larger one set explicitly allows the pass.
func TestPruneRefusesMoreThanTheShare(t *testing.T) {
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, cst)
	clk := newClock(first)
	path := filepath.Join(t.TempDir(), "reads.db")
	ret := store.Retention{Raw: 7 * 24 * time.Hour} // MaxShare 0: the default
	s := open(t, path, Options{Retention: ret, Now: clk.now, Location: cst})
	month(t, s, first)
	clk.set(first.AddDate(0, 0, 30))
	p, err := s.Prune(t.Context())
	if !errors.Is(err, store.ErrPruneRefused) {
		t.Fatalf("Prune removing 23 of 30 days: %+v, %v; want refused", p, err)
	}
	if p.Reads != 23*96-1 || p.StoredReads != 30*96+30 {
		t.Errorf("refused pass reports %+v: want %d of %d reads it would have deleted", p, 23*96-1, 30*96+30)
	}
	if n := rows(t, s, "reads"); n != 30*96+30 {
		t.Errorf("%d reads left after a refused pass, want all %d", n, 30*96+30)
	}
	t.Log(err)
	s.Close()

	ret.MaxShare = 0.8
	s = open(t, path, Options{Retention: ret, Now: clk.now, Location: cst})
	defer s.Close()
	if p, err := s.Prune(t.Context()); err != nil || p.Reads != 23*96-1 {
		t.Errorf("Prune with max share 0.8: %+v, %v; want %d deleted", p, err, 23*96-1)
	}
}
