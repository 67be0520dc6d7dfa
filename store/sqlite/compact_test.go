package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/storetest"
)

// TestMovedMeter writes one key under one area and channel, then under
// another, then back: each time it is one read, of the labels last
// written, found by the area it is in now and not by the other; the
// family has two series.
func TestMovedMeter(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "reads.db"), Options{})
	defer s.Close()
	at := testNow.Add(-time.Hour)
	r := reading("000000000001", meter.Daily, at, 7)
	r.MeterTime = at.Add(-time.Minute)
	moved := r
	moved.Area, moved.Channel, moved.Value.Units = "B", "C2", 8
	other := reading("000000000001", meter.Daily, at.Add(24*time.Hour), 9) // another key, in A
	for i, w := range []meter.Read{r, moved, r, moved} {
		batch := []meter.Read{w}
		if i == 3 {
			batch = []meter.Read{other, r, moved} // the later of one batch wins
		}
		if err := s.Write(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
		got, err := s.Query(t.Context(), store.Query{To: at.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		storetest.ExpectReads(t, "after write "+string(rune('0'+i)), got, []meter.Read{w})
		for _, area := range []string{"A", "B"} {
			rs, err := s.Query(t.Context(), store.Query{Area: area, Class: meter.Daily, To: at.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if want := 0; w.Area == area {
				want = 1
				storetest.ExpectReads(t, "by area "+area, rs, []meter.Read{w})
			} else if len(rs) != want {
				t.Errorf("write %d: area %s has %d reads, want 0", i, area, len(rs))
			}
		}
	}
	if n := count(t, s, store.Query{Area: "A"}); n != 1 {
		t.Errorf("area A holds %d reads, want the other key's 1", n)
	}
	var series int
	s.w.QueryRow("SELECT count(*) FROM series").Scan(&series)
	if series != 2 {
		t.Errorf("%d series, want 2", series)
	}
}

// TestCompactColumns round-trips the columns that are stored as
// differences or codes: an unknown status (stored as its text), an
// error, no MeterTime, no ReadAt, a ReadAt too far from MeterTime for a
// difference in nanoseconds, no frames, a second try.
func TestCompactColumns(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "reads.db"), Options{Location: time.UTC})
	defer s.Close()
	base := reading("000000000002", meter.OnDemand, testNow, 1)
	var rs []meter.Read
	add := func(f func(r *meter.Read)) {
		r := base
		r.Quantity = string(rune('a' + len(rs)))
		f(&r)
		rs = append(rs, r)
	}
	add(func(r *meter.Read) { r.Status, r.Err = "3", "strange" }) // a status that looks like a code
	add(func(r *meter.Read) { r.Status, r.Err = meter.Failed, "link: no reply before the deadline" })
	add(func(r *meter.Read) { r.MeterTime = r.ReadAt.Add(-90 * time.Second) })
	add(func(r *meter.Read) { r.MeterTime, r.ReadAt = r.ReadAt, time.Time{} })
	add(func(r *meter.Read) { r.MeterTime = time.Unix(0, -1<<63+1).UTC() })                   // 1677
	add(func(r *meter.Read) { r.MeterTime, r.ReadAt = r.ReadAt, time.Unix(0, -1<<63).UTC() }) // 1677, after a 2026 MeterTime
	add(func(r *meter.Read) { r.Frame = meter.FrameRef{Tries: 3} })
	add(func(r *meter.Read) { r.Status, r.Value.Units, r.Value.Scale = meter.Skipped, 0, 0 })
	if err := s.Write(t.Context(), rs); err != nil {
		t.Fatal(err)
	}
	got, err := s.Query(t.Context(), store.Query{Meters: []string{base.Meter}})
	if err != nil {
		t.Fatal(err)
	}
	byQty := map[string]meter.Read{}
	for _, r := range got {
		byQty[r.Quantity] = r
	}
	for _, w := range rs {
		storetest.ExpectReads(t, w.Quantity, []meter.Read{byQty[w.Quantity]}, []meter.Read{w})
	}
	var text int
	s.w.QueryRow("SELECT count(*) FROM reads WHERE typeof(status) = 'text' OR typeof(ra) = 'text'").Scan(&text)
	if text != 3 {
		t.Errorf("%d rows with a text status or ra, want 3 (the status, two far ReadAts)", text)
	}
}

// FuzzTimeColumns: the mt and ra columns of any two times decode to those
// times, and a text ra (any string a file may hold) never panics times.
func FuzzTimeColumns(f *testing.F) {
	f.Add(int64(1743523230000000000), int64(1743523500000000000), true, "")
	f.Add(int64(-1<<63+1), int64(1<<63-1), false, "12x")
	f.Fuzz(func(t *testing.T, mtNanos, raNanos int64, hasMT bool, text string) {
		times(0, nil, text, time.UTC)
		r := meter.Read{ReadAt: time.Unix(0, raNanos).UTC()}
		if hasMT {
			r.MeterTime = time.Unix(0, mtNanos).UTC()
		}
		tt := store.Time(&r).UnixNano()
		mt, ra := timeColumns(&r, tt)
		gotMT, gotRA, err := times(tt, mt, ra, time.UTC)
		if err != nil || !gotMT.Equal(r.MeterTime) || !gotRA.Equal(r.ReadAt) {
			t.Fatalf("%v %v: columns %v %v decode to %v %v, %v", r.MeterTime, r.ReadAt, mt, ra, gotMT, gotRA, err)
		}
	})
}
