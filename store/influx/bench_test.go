package influx

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headend/headend/store"
	"github.com/headend/headend/store/storetest"
)

// BenchmarkWrite writes batches of 20,000 new interval reads into a real
// InfluxDB through the backend's batching (5000 points a request, 4 in
// flight): what the outbox's gathered deliveries look like.
func BenchmarkWrite(b *testing.B) {
	st, _ := newDB(b, store.Retention{})
	defer st.Close()
	storetest.BenchWrite(b, st, 20000)
}

// BenchmarkAreaMonth queries a month of daily freezes of an area of 200
// meters.
func BenchmarkAreaMonth(b *testing.B) {
	storetest.BenchAreaMonth(b, func(t testing.TB, ret store.Retention) (store.Store, time.Time) {
		st, _ := newDB(t, ret)
		return st, time.Now()
	})
}

// BenchmarkMeterDay stores one simulated meter-day of the demo's reading
// plan (storetest.MeterDay) in a real InfluxDB and reports the line
// protocol it takes (the uncompressed points, as written over HTTP), and
// the bytes the database's WAL and data directories grew by on disk.
func BenchmarkMeterDay(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		needServer(b)
		var lp atomic.Int64
		target, _ := url.Parse(srv.url)
		rp := httputil.NewSingleHostReverseProxy(target)
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/write") {
				body, _ := io.ReadAll(r.Body)
				lp.Add(int64(len(body)))
				r.Body = io.NopCloser(bytes.NewReader(body))
			}
			rp.ServeHTTP(w, r)
		}))
		dbSeq++
		db := fmt.Sprintf("m%d_%d", os.Getpid(), dbSeq)
		bk, err := Setup(context.Background(), srv.url, "", db, store.Retention{})
		if err != nil {
			b.Fatal(err)
		}
		st, err := Open(context.Background(), Options{URL: proxy.URL, Buckets: bk, Location: time.UTC})
		if err != nil {
			b.Fatal(err)
		}
		disk := func() int64 {
			var n int64
			for _, d := range []string{"wal", "data"} {
				filepath.WalkDir(filepath.Join(srv.dir, d, db), func(_ string, e fs.DirEntry, err error) error {
					if err == nil && !e.IsDir() {
						if fi, err := e.Info(); err == nil {
							n += fi.Size()
						}
					}
					return nil
				})
			}
			return n
		}
		b.StartTimer()
		storetest.MeterDayBytes(b, st, disk)
		b.ReportMetric(float64(lp.Load()), "lineproto-bytes/meter/day")
		st.Close()
		proxy.Close()
		influxQL(context.Background(), srv.url, "", "DROP DATABASE "+ident(db))
	}
}
