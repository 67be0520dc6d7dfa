package jetstream

import (
	"context"
	"testing"
	"time"

	"github.com/headend/headend/internal/influxtest"
	"github.com/headend/headend/internal/natstest"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/influx"
)

// startInfluxd starts a private influxd 1.8.10, killed when the test
// ends, and returns its URL.
func startInfluxd(t testing.TB) string { return influxtest.Start(t) }

// TestIntoInfluxDB runs the path into InfluxDB, the production store, with
// a writer stopped before its acknowledgement: the redelivered messages
// are written again, and InfluxDB holds each read once.
func TestIntoInfluxDB(t *testing.T) {
	url := startInfluxd(t)
	c := natstest.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := influx.Setup(ctx, url, "", "jetstream_test", store.Retention{})
	if err != nil {
		t.Fatal(err)
	}
	ist, err := influx.Open(ctx, influx.Options{URL: url, Buckets: b, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	defer ist.Close()
	st := newCountingStore(ist)
	o := testOptions("node-a")
	n := startNode(t, ctx, c, o)

	actx, kill := context.WithCancel(ctx)
	killed := make(chan struct{})
	doomed := &countingStore{Store: st, writes: map[store.Key]int{}}
	doomed.after = func(k int) {
		if k == 1 {
			kill()
			close(killed)
		}
	}
	startWriter(t, actx, c, doomed, o, "writer-a")
	want := map[store.Key]bool{}
	appendBatches(t, n.ob, want, 0, 60, 50)
	<-killed
	w, _ := startWriter(t, ctx, c, st, o, "writer-b")
	waitFor(t, 60*time.Second, "every message stored", drained(n.ob, w))
	assertExactlyOnce(t, ist, want)
	if st.rewritten() == 0 {
		t.Fatal("nothing was written twice: the stop did not leave a batch unacknowledged")
	}
	t.Logf("writer-b %+v; %d keys written twice", w.Stats(), st.rewritten())
}
