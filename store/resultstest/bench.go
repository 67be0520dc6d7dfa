package resultstest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headend/headend/store"
)

// values returns n value records from the nth: a day of one area's
// validated values, as the analysis puts them.
func values(from, n int) []store.Record {
	recs := make([]store.Record, n)
	for i := range recs {
		k := from + i
		recs[i] = Rec("value", fmt.Sprintf("%012d|energy_import|2025-06-%02d", k/28, 1+k%28), "D01", 1+k%28,
			fmt.Sprintf(`{"meter":"%012d","value":"%d.25","quality":"valid","source":"daily"}`, k/28, k))
		recs[i].Meter = fmt.Sprintf("%012d", k/28)
	}
	return recs
}

// Values is n value records from the nth, as BenchPut puts them: for a
// store's own benchmarks (store/postgres's BenchmarkRecordBytes).
func Values(from, n int) []store.Record { return values(from, n) }

// BenchPut puts batches of batch new records, one Put an op, and reports
// records/s.
func BenchPut(b *testing.B, f Factory, batch int) {
	ctx := context.Background()
	s := f(b)(b, time.Now)
	defer s.Close()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Put(ctx, values(i*batch, batch)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}

// BenchSince reads the feed of n stored records in pages of 1000, one
// page an op, and reports records/s.
func BenchSince(b *testing.B, f Factory, n int) {
	ctx := context.Background()
	s := f(b)(b, time.Now)
	defer s.Close()
	for i := 0; i < n; i += 1000 {
		if _, err := s.Put(ctx, values(i, min(1000, n-i))); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var cursor int64
	read := 0
	for range b.N {
		page, err := s.Since(ctx, cursor, nil, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if len(page) < 1000 {
			cursor = 0
		} else {
			cursor = page[len(page)-1].Seq
		}
		read += len(page)
	}
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "records/s")
}

// BenchPutParallel is BenchPut from several goroutines (b.RunParallel)
// through two stores on one database, as two nodes would put.
func BenchPutParallel(b *testing.B, f Factory, batch int) {
	ctx := context.Background()
	o := f(b)
	nodes := []store.Results{o(b, time.Now), o(b, time.Now)}
	defer nodes[0].Close()
	defer nodes[1].Close()
	var next, worker atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		s := nodes[worker.Add(1)%2]
		for pb.Next() {
			if _, err := s.Put(ctx, values(int(next.Add(1)-1)*batch, batch)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}
