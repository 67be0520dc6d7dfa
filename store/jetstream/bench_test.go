package jetstream

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/headend/headend/internal/natstest"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/influx"
	"github.com/headend/headend/store/outbox"
)

// BenchmarkPath measures reads per second from a node's outbox through
// the R3 stream of a 3-server cluster on loopback into SQLite: an op is
// one batch of 100 reads appended, and the clock stops when the last is in
// the store and acknowledged. direct is the same outbox delivering into
// SQLite with no JetStream between, and publish the outbox into the
// stream with no writer (the JetStream leg alone), on the same machine in
// the same run.
//
//	go test ./store/jetstream -run '^$' -bench Path -benchtime 1000x
func BenchmarkPath(b *testing.B) {
	c := natstest.Start(b, 3)
	sqlite := func(b *testing.B) store.Store { return openSQLite(b) }
	b.Run("direct", func(b *testing.B) { benchPath(b, nil, 0, sqlite) })
	b.Run("publish", func(b *testing.B) { benchPath(b, c, 0, sqlite) })
	b.Run("writers=1", func(b *testing.B) { benchPath(b, c, 1, sqlite) })
	b.Run("writers=2", func(b *testing.B) { benchPath(b, c, 2, sqlite) })
}

// BenchmarkPathInflux is BenchmarkPath into a private InfluxDB 1.8.10 on
// the same machine, a fresh database each run.
//
//	go test ./store/jetstream -run '^$' -bench PathInflux -benchtime 2000x
func BenchmarkPathInflux(b *testing.B) {
	url := startInfluxd(b)
	c := natstest.Start(b, 3)
	dbs := 0
	influxdb := func(b *testing.B) store.Store {
		dbs++
		ctx := context.Background()
		bk, err := influx.Setup(ctx, url, "", fmt.Sprint("bench", dbs), store.Retention{})
		if err != nil {
			b.Fatal(err)
		}
		st, err := influx.Open(ctx, influx.Options{URL: url, Buckets: bk, Location: time.UTC})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}
	b.Run("direct", func(b *testing.B) { benchPath(b, nil, 0, influxdb) })
	b.Run("writers=1", func(b *testing.B) { benchPath(b, c, 1, influxdb) })
	b.Run("writers=2", func(b *testing.B) { benchPath(b, c, 2, influxdb) })
}

func benchPath(b *testing.B, c *natstest.Cluster, writers int, open func(*testing.B) store.Store) {
	const size = 100
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := open(b)
	ob, err := outbox.Open(b.TempDir(), outbox.Options{Sync: outbox.SyncNone, MaxBytes: 1 << 34, Backoff: fastBackoff})
	if err != nil {
		b.Fatal(err)
	}
	defer ob.Close()
	o := testOptions("node-a")
	o.Timeout, o.AckWait = 10*time.Second, 30*time.Second
	var ws []*Writer
	var sink store.Store = st
	if c != nil {
		pnc := connect(b, c, "node-a")
		p, err := NewPublisher(ctx, pnc, o)
		if err != nil {
			b.Fatal(err)
		}
		if err := p.js.DeleteStream(ctx, o.Stream); err != nil { // what an earlier run left
			b.Fatal(err)
		}
		if p, err = NewPublisher(ctx, pnc, o); err != nil {
			b.Fatal(err)
		}
		sink = p
		for i := range writers {
			w, err := NewWriter(ctx, connect(b, c, fmt.Sprint("writer-", i)), st, o, nil)
			if err != nil {
				b.Fatal(err)
			}
			ws = append(ws, w)
			go w.Run(ctx)
		}
	}
	b.ResetTimer()
	go ob.Run(ctx, sink)
	for i := 0; i < b.N; i++ {
		if err := ob.Append(testBatch(i, size)); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		n, _ := ob.Backlog()
		done := n == 0
		if done && len(ws) > 0 {
			lag, err := ws[0].Lag(ctx)
			done = err == nil && lag.Messages == 0 && lag.AckPending == 0
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
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "reads/s")
	if c != nil {
		var msgs int64
		for _, w := range ws {
			msgs += w.Stats().Messages
		}
		if len(ws) == 0 {
			msgs = sink.(*Publisher).Stats().Messages
		}
		b.ReportMetric(float64(b.N*size)/float64(max(msgs, 1)), "reads/msg")
	}
}
