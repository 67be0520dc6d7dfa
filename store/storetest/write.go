package storetest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
)

// testRoundTrip writes reads with every field set, failed ones among them,
// and reads them back.
func testRoundTrip(t *testing.T, open Factory) {
	s, now := openStore(t, open, store.Retention{})
	cst := time.FixedZone("CST", 8*3600)
	day := now.UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	full := meter.Read{
		Meter:     "000012345678",
		Area:      "D01",
		Channel:   "tcp-dialin:C0101",
		Class:     meter.Daily,
		DI:        0x05060101,
		Edition:   dlt645.DLT2007,
		Quantity:  qFwd,
		Value:     dlt645.Decimal{Units: 99999999, Scale: 2}, // 999999.99
		Unit:      "kWh",
		MeterTime: day.In(cst),
		ReadAt:    day.Add(3*time.Minute + 17123456789).In(cst),
		Status:    meter.OK,
		Frame: meter.FrameRef{
			Request: []byte{0xFE, 0xFE, 0x68, 0x78, 0x56, 0x34, 0x12, 0x00, 0x00, 0x68, 0x11, 0x04, 0x34, 0x34, 0x39, 0x38, 0xC6, 0x16},
			Reply: [][]byte{
				{0x68, 0x78, 0x56, 0x34, 0x12, 0x00, 0x00, 0x68, 0xB1, 0x08, 0x34, 0x34, 0x39, 0x38, 0xCC, 0xCC, 0xCC, 0xCC, 0x01, 0x16},
				{0x68, 0x78, 0x56, 0x34, 0x12, 0x00, 0x00, 0x68, 0x92, 0x05, 0x34, 0x34, 0x39, 0x38, 0x34, 0x02, 0x16},
				{0x00, 0x16},
			},
			Tries: 3,
		},
	}
	negative := meter.Read{
		Meter:    "000012345678",
		Area:     "D01",
		Channel:  "rs485:/dev/ttyUSB0",
		Class:    meter.Instantaneous,
		DI:       0xB630,
		Edition:  dlt645.DLT1997,
		Quantity: qPower,
		Value:    dlt645.Decimal{Units: -12345, Scale: 4}, // -1.2345
		Unit:     "kW",
		ReadAt:   now.Add(-10*time.Minute + 123456789),
		Status:   meter.OK,
		Frame:    meter.FrameRef{Request: []byte{0x68, 0x01}, Reply: [][]byte{{0x68, 0x81}}, Tries: 1},
	}
	text := meter.Read{
		Meter:     "000012345679",
		Area:      "D02",
		Class:     meter.Clock,
		DI:        0x04000101,
		Quantity:  "date and week",
		Text:      "2026-11-22 W0",
		MeterTime: now.Add(-time.Hour).In(cst),
		ReadAt:    now.Add(-time.Hour + 2*time.Second),
		Status:    meter.OK,
		Frame:     meter.FrameRef{Request: []byte{1, 2, 3}, Reply: [][]byte{{4, 5, 6}}, Tries: 2},
	}
	failed := meter.Read{
		Meter:    "000012345680",
		Area:     "D02",
		Channel:  "mqtt:C0103",
		Class:    meter.Interval,
		DI:       0x06000001,
		Quantity: qPower,
		ReadAt:   now.Add(-20 * time.Minute),
		Status:   meter.Failed,
		Err:      "timeout after 3 tries",
		Frame:    meter.FrameRef{Request: []byte{0x68, 0x11}, Tries: 3},
	}
	noData := meter.Read{
		Meter:    "000012345681",
		Area:     "D02",
		Class:    meter.Monthly,
		Quantity: qRev,
		ReadAt:   day.Add(time.Hour),
		Status:   meter.NoData,
		Err:      "meter: no requested data",
		Frame:    meter.FrameRef{Request: []byte{0x68}, Reply: [][]byte{{0x68, 0xD1, 0x01, 0x35, 0x16}}, Tries: 1},
	}
	skipped := meter.Read{
		Meter:    "000012345682",
		Class:    meter.OnDemand,
		Quantity: qFwd,
		ReadAt:   now.Add(-time.Minute),
		Status:   meter.Skipped,
		Err:      "circuit breaker open",
	}
	want := sorted([]meter.Read{full, negative, text, failed, noData, skipped})
	write(t, s, []meter.Read{full, negative, text, failed, noData, skipped})
	expectReads(t, "read back", query(t, s, store.Query{}), want)
}

// testRewrite writes the same keys again.
func testRewrite(t *testing.T, open Factory) {
	s, now := openStore(t, open, store.Retention{})
	at := now.Add(-2 * time.Hour).Truncate(15 * time.Minute)
	r := reading(meterAddr(1, 1), "A", meter.Interval, qFwd, at, 100, 2)
	write(t, s, []meter.Read{r})
	r2 := r
	r2.Value = dlt645.Decimal{Units: 1005, Scale: 3}
	r2.ReadAt = r.ReadAt.Add(time.Hour) // a re-read: same key
	r2.Frame.Tries = 2
	write(t, s, []meter.Read{r2})
	expectReads(t, "after a rewrite", query(t, s, store.Query{}), []meter.Read{r2})

	var batch []meter.Read
	for i := range 50 {
		batch = append(batch, reading(meterAddr(2, i%10), "B", meter.Interval, qPower, at.Add(time.Duration(i/10)*15*time.Minute), int64(i), 1))
	}
	write(t, s, batch)
	write(t, s, batch)
	want := sorted(append([]meter.Read{r2}, batch...))
	expectReads(t, "a batch written twice", query(t, s, store.Query{}), want)
}

// testKeysInUTC writes the same instant in two zones.
func testKeysInUTC(t *testing.T, open Factory) {
	s, now := openStore(t, open, store.Retention{})
	cst := time.FixedZone("CST", 8*3600)
	at := now.UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	r := reading(meterAddr(1, 1), "A", meter.Daily, qFwd, at.In(cst), 12345, 2)
	write(t, s, []meter.Read{r})
	u := r
	u.MeterTime, u.ReadAt = at.UTC(), r.ReadAt.UTC()
	u.Value = dlt645.Decimal{Units: 12346, Scale: 2}
	write(t, s, []meter.Read{u})
	expectReads(t, "one instant in two zones", query(t, s, store.Query{}), []meter.Read{u})
	got := query(t, s, store.Query{From: at.In(cst), To: at.Add(time.Nanosecond).UTC()})
	expectReads(t, "From in +08:00, To in UTC", got, []meter.Read{u})
}

// testRetention writes reads past the raw retention.
func testRetention(t *testing.T, open Factory) {
	s, now := openStore(t, open, store.Retention{Raw: 2 * time.Hour})
	oldRaw := reading(meterAddr(1, 1), "A", meter.Interval, qPower, now.Add(-3*time.Hour), 1, 0)
	oldInst := reading(meterAddr(1, 2), "A", meter.Instantaneous, qVolt, now.Add(-3*time.Hour), 2201, 1)
	newRaw := reading(meterAddr(1, 1), "A", meter.Interval, qPower, now.Add(-30*time.Minute), 2, 0)
	oldDaily := reading(meterAddr(1, 1), "A", meter.Daily, qFwd, now.Add(-3*time.Hour), 3, 0)
	write(t, s, []meter.Read{oldRaw, oldInst, newRaw, oldDaily})
	want := sorted([]meter.Read{newRaw, oldDaily})
	expectReads(t, "Raw: 2h", query(t, s, store.Query{}), want)
	expectReads(t, "Raw: 2h, interval", query(t, s, store.Query{Class: meter.Interval}), []meter.Read{newRaw})
}

// testBadInput writes batches with one bad read among good ones.
func testBadInput(t *testing.T, open Factory) {
	s, now := openStore(t, open, store.Retention{})
	at := now.Add(-time.Hour).Truncate(time.Minute)
	batch := func() []meter.Read {
		rs := make([]meter.Read, 6)
		for i := range rs {
			rs[i] = reading(meterAddr(1, i), "A", meter.Interval, qPower, at, int64(i), 0)
		}
		return rs
	}
	good := batch()
	for i := range good {
		good[i].MeterTime = at.Add(-time.Hour)
	}
	write(t, s, good)
	for _, c := range []struct {
		i     int
		field string
		spoil func(r *meter.Read)
	}{
		{3, "meter", func(r *meter.Read) { r.Meter = "" }},
		{4, "quantity", func(r *meter.Read) { r.Quantity = "" }},
		{2, "time", func(r *meter.Read) { r.MeterTime, r.ReadAt = time.Time{}, time.Time{} }},
	} {
		rs := batch()
		c.spoil(&rs[c.i])
		err := s.Write(t.Context(), rs)
		if err == nil {
			t.Errorf("Write with read %d without %s: no error", c.i, c.field)
			continue
		}
		msg := err.Error()
		if !regexp.MustCompile(`\b`+strconv.Itoa(c.i)+`\b`).MatchString(msg) ||
			!strings.Contains(strings.ToLower(msg), c.field) {
			t.Errorf("Write with read %d without %s: error %q does not name the index and the %s", c.i, c.field, msg, c.field)
		}
	}
	expectReads(t, "after bad batches", query(t, s, store.Query{}), sorted(good))
}

// testConcurrent writes from several goroutines while others query.
func testConcurrent(t *testing.T, open Factory) {
	s, now := openStore(t, open, store.Retention{})
	const writers, batches, size = 4, 10, 25
	at := now.Add(-6 * time.Hour).Truncate(time.Hour)
	var wg, qg sync.WaitGroup
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				rs := make([]meter.Read, size)
				for i := range rs {
					rs[i] = reading(meterAddr(w, i), fmt.Sprint("A", w), meter.Interval, qPower,
						at.Add(time.Duration(b)*15*time.Minute), int64(b*size+i), 2)
				}
				if err := s.Write(t.Context(), rs); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	for q := range 2 {
		qg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				rs, err := s.Query(t.Context(), store.Query{Area: fmt.Sprint("A", q), Class: meter.Interval})
				if err != nil {
					t.Errorf("reader %d: %v", q, err)
					return
				}
				if len(rs) > batches*size {
					t.Errorf("reader %d: %d reads of area A%d, at most %d written", q, len(rs), q, batches*size)
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	qg.Wait()
	if n := len(query(t, s, store.Query{})); n != writers*batches*size {
		t.Errorf("%d reads stored, want %d", n, writers*batches*size)
	}
}
