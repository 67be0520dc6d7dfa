package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/internal/natstest"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store/jetstream"
)

// benchRuns makes each run's reads its own: the same bytes again would be
// dropped by the stream's duplicate window.
var benchRuns atomic.Int64

// benchBatch is batch i of a run: 100 reads of one meter, each its own key.
func benchBatch(run int64, i int) []meter.Read {
	at := time.Date(2026, 3, 1, 0, 15, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	rs := make([]meter.Read, 100)
	for q := range rs {
		rs[q] = meter.Read{
			Meter: fmt.Sprintf("%06d%06d", run, i%100000), Area: "A1", Channel: "bus1", Class: meter.Interval,
			DI: dlt645.DI(0x06100101), Edition: dlt645.DLT2007, Quantity: fmt.Sprintf("energy.%d", q),
			Value: dlt645.Decimal{Units: int64(i*100 + q), Scale: 2}, Unit: "kWh", MeterTime: at, ReadAt: at.Add(7 * time.Second),
			Status: meter.OK, Frame: meter.FrameRef{Request: []byte{0x68, 0x11, 0x16}, Reply: [][]byte{{0x68, 0x91, 0x16}}, Tries: 1},
		}
	}
	return rs
}

// BenchmarkServeStream measures reads per second through serve's storage
// path as serve --cluster wires it with cluster.nats (writer: true, the
// defaults otherwise): the collector's sink (the persister) appends to the
// outbox, which delivers to the Publisher, the R3 stream of three
// nats-servers on loopback, and the node's Writer into its embedded
// SQLite store. An op is a batch of 100 reads accepted; the clock stops
// when the outbox is empty and the stream holds nothing unacknowledged.
// direct is the same without cluster.nats (a single node). Both with the
// outbox's default sync: every (an fsync per batch) and with sync: none.
//
//	go test ./daemon -run '^$' -bench ServeStream -benchtime 2000x
func BenchmarkServeStream(b *testing.B) {
	c := natstest.Start(b, 3)
	for _, sync := range []string{"every", "none"} {
		b.Run("direct/sync="+sync, func(b *testing.B) { benchServe(b, nil, sync) })
		b.Run("stream/sync="+sync, func(b *testing.B) { benchServe(b, c, sync) })
	}
}

func benchServe(b *testing.B, c *natstest.Cluster, sync string) {
	run := benchRuns.Add(1)
	dir := b.TempDir()
	cfg := config.Default()
	cfg.Collector.DataDir = dir
	cfg.Store.Path, cfg.Store.Outbox.Dir, cfg.Store.Outbox.Sync = filepath.Join(dir, "store"), filepath.Join(dir, "outbox"), sync
	node := ""
	if c != nil {
		cfg.Cluster.NATS = jetstream.Settings{URLs: c.URLs(), Writer: true}
		node = "bench"
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stg, err := openStorageFor(ctx, cfg, schedule.RealClock{}, slog.New(slog.DiscardHandler), node)
	if err != nil {
		b.Fatal(err)
	}
	defer stg.Close()
	b.ResetTimer()
	stg.run(ctx, schedule.RealClock{}, time.UTC, slog.New(slog.DiscardHandler))
	for i := range b.N {
		stg.persist.Accept(benchBatch(run, i))
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		done := stg.persist.Status().BacklogBatches == 0
		if done && stg.stream != nil {
			l, err := stg.stream.w.Lag(ctx)
			done = err == nil && l.Messages == 0 && l.AckPending == 0 && stg.stream.w.Stats().Reads >= int64(b.N*100)
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("not drained within 5 minutes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "reads/s")
	cancel()
}
