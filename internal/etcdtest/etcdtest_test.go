package etcdtest

import (
	"context"
	"testing"
	"time"
)

func TestServerAnswersAClient(t *testing.T) {
	s := Start(t)
	c := s.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Put(ctx, "/k", "v"); err != nil {
		t.Fatal(err)
	}
	r, err := c.Get(ctx, "/k")
	if err != nil || len(r.Kvs) != 1 || string(r.Kvs[0].Value) != "v" {
		t.Fatalf("get /k: %v %v", r, err)
	}
	st, err := c.Status(ctx, s.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("server version %s", st.Version)
}

func TestProxyPartitionHoldsRequests(t *testing.T) {
	s := Start(t)
	p := NewProxy(t, s)
	c := s.Client(t, p.Endpoint)
	p.Partition()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err := c.Put(ctx, "/k", "v")
	cancel()
	if err == nil {
		t.Fatal("a put crossed a partitioned link")
	}
	p.Heal()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Put(ctx, "/k", "v2"); err != nil {
		t.Fatalf("put after heal: %v", err)
	}
}
