package storetest

import (
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// benchQuantities are the five registers of a daily freeze.
var benchQuantities = [5]string{
	"forward active energy total", "forward active energy tariff 1", "forward active energy tariff 2",
	"reverse active energy total", "forward reactive energy total",
}

// BenchWrite measures Write with batches of batch new interval reads of
// 200 meters × 5 quantities, and reports points/s, in two sub-benchmarks
// that differ in the order of the points:
//
//	cycle    as polled: every 15-minute step, one point of each series
//	         (a batch of 1000 is 1000 series, one point each)
//	profile  as backfilled: each meter's next 8 records (2 hours) of its
//	         5 quantities, 40 points, then the next meter's (a batch of
//	         1000 is 125 series, 8 points each)
//
// The reads are stamped back from time.Now, a few days at the usual b.N,
// so s must keep raw reads for a few weeks.
func BenchWrite(b *testing.B, s store.Store, batch int) {
	start := time.Now().Truncate(15 * time.Minute)
	at := func(steps int) time.Time { return start.Add(-time.Duration(steps) * 15 * time.Minute) }
	b.Run("cycle", benchWrite(s, batch, func(p int) meter.Read {
		k := p % 1000
		return reading(meterAddr(7, k/5), "CYCLE", meter.Interval, benchQuantities[k%5], at(p/1000), int64(p), 2)
	}))
	b.Run("profile", benchWrite(s, batch, func(p int) meter.Read {
		block, j := p/40, p%40 // a block: one meter's 8 records
		meterID, round := block%200, block/200
		return reading(meterAddr(8, meterID), "PROFILE", meter.Interval, benchQuantities[j%5], at(round*8+j/5), int64(p), 2)
	}))
}

// benchWrite writes batches of the reads point returns for 0, 1, 2, ...,
// going on from where the last run stopped, so that every point is new.
func benchWrite(s store.Store, batch int, point func(p int) meter.Read) func(b *testing.B) {
	n := 0
	return func(b *testing.B) {
		b.ReportAllocs()
		rs := make([]meter.Read, batch)
		written := 0
		for b.Loop() {
			b.StopTimer()
			for i := range rs {
				rs[i] = point(n)
				n++
			}
			b.StartTimer()
			if err := s.Write(b.Context(), rs); err != nil {
				b.Fatal(err)
			}
			written += batch
		}
		b.ReportMetric(float64(written)/b.Elapsed().Seconds(), "points/s")
	}
}

// BenchAreaMonth measures the line-loss query: a month (30 days) of daily
// freezes, 5 registers a day, of one area of 200 meters, 30,000 reads, in
// a store that also holds the day before and another area of 200 meters.
func BenchAreaMonth(b *testing.B, open Factory) {
	b.ReportAllocs()
	s, now := openStore(b, open, store.Retention{})
	base := now.UTC().Truncate(24 * time.Hour)
	from := base.Add(-30 * 24 * time.Hour)
	var rs []meter.Read
	for a, area := range []string{"AREA", "OTHER"} {
		for i := range 200 {
			for d := range 31 {
				at := from.Add(time.Duration(d-1) * 24 * time.Hour)
				for q, qty := range benchQuantities {
					rs = append(rs, reading(meterAddr(a, i), area, meter.Daily, qty, at, int64(i*1000+d*10+q), 2))
				}
			}
			if len(rs) >= 5000 {
				write(b, s, rs)
				rs = rs[:0]
			}
		}
	}
	write(b, s, rs)
	q := store.Query{Area: "AREA", Class: meter.Daily, From: from, To: base}
	for b.Loop() {
		got, err := s.Query(b.Context(), q)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != 200*30*5 {
			b.Fatalf("%d reads, want 30,000", len(got))
		}
	}
	b.ReportMetric(200*30*5, "reads/op")
}
