package natstest_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/headend/headend/internal/natstest"
)

// TestClusterR3 shows that the servers form one JetStream cluster that
// holds a stream replicated 3 times, that it keeps taking messages with
// one server SIGKILLed, and that the restarted server catches up.
func TestClusterR3(t *testing.T) {
	c := natstest.Start(t, 3)
	nc, err := nats.Connect(c.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Replicas: 3, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	pub := func(n int) {
		t.Helper()
		for range n {
			for {
				_, err := js.Publish(ctx, "t.x", []byte("m"))
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("publish: %v", err)
				}
				time.Sleep(20 * time.Millisecond) // a new stream leader is being elected
			}
		}
	}
	pub(10)
	c.Kill(0)
	pub(10)
	c.Restart(0)
	pub(10)
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 30 {
		t.Errorf("stream holds %d messages, want 30", info.State.Msgs)
	}
	if info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("cluster info %+v: want a leader and 2 replicas", info.Cluster)
	}
	for _, r := range info.Cluster.Replicas {
		if r.Offline {
			t.Errorf("replica %s offline after the restart", r.Name)
		}
	}
}
