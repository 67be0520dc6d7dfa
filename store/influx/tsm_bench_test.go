package influx

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/internal/testenv"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/storetest"
)

// BenchmarkMeterDayTSM stores storetest.MeterDay, then MeterNextDay, in
// an InfluxDB of its own that writes its cache to TSM files after 1 s
// without writes (cache-snapshot-write-cold-duration), and reports the
// bytes of the TSM files once the WAL is empty: what the database keeps
// on disk, compressed, for the first day and for the next.
func BenchmarkMeterDayTSM(b *testing.B) {
	needServer(b) // the binary, and the shared server's skip or failure
	for b.Loop() {
		b.StopTimer()
		s := &server{bin: srv.bin, dir: b.TempDir()}
		p, err := freePort()
		if err != nil {
			b.Fatal(err)
		}
		rpc, err := freePort()
		if err != nil {
			b.Fatal(err)
		}
		s.port, s.url = p, "http://127.0.0.1:"+strconv.Itoa(p)
		conf := strings.Replace(testenv.InfluxdConf(s.dir, p, rpc), "[data]\n", "[data]\n  cache-snapshot-write-cold-duration = \"1s\"\n", 1)
		if err := os.WriteFile(filepath.Join(s.dir, "influxd.conf"), []byte(conf), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := s.start(); err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		bk, err := Setup(ctx, s.url, "", "meterday", store.Retention{})
		if err != nil {
			b.Fatal(err)
		}
		st, err := Open(ctx, Options{URL: s.url, Buckets: bk, Location: time.UTC})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		var before int64
		for i, day := range [][][]meter.Read{storetest.MeterDay(b), storetest.MeterNextDay(b)} {
			for _, batch := range day {
				if err := st.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			n := settledTSM(b, s.dir)
			b.ReportMetric(float64(n-before), []string{"tsm-bytes/meter/day", "nextday-tsm-bytes/meter/day"}[i])
			before = n
		}
		st.Close()
		s.stop()
	}
}

// settledTSM waits (at most a minute) until the WAL under dir is empty
// and the TSM files' size has not changed for a poll, and returns it.
func settledTSM(b *testing.B, dir string) int64 {
	size := func(sub, suffix string) int64 {
		var n int64
		filepath.WalkDir(filepath.Join(dir, sub), func(p string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() && strings.HasSuffix(p, suffix) {
				if fi, err := e.Info(); err == nil {
					n += fi.Size()
				}
			}
			return nil
		})
		return n
	}
	last := int64(-1)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		n := size("data", ".tsm")
		if n > 0 && n == last && size("wal", ".wal") == 0 {
			return n
		}
		last = n
		time.Sleep(2 * time.Second) // influxd snapshots on its own clock: nothing to wait on
	}
	b.Fatal("the cache was not written to TSM files within a minute")
	return 0
}
