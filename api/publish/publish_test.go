package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/api/billing"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/field"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/results"
)

func connect(t *testing.T, url, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", url, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func value(meterID string, day int, kwh int64) store.Record {
	at := time.Date(2025, 6, day, 0, 0, 0, 0, time.UTC)
	v := vee.Value{Key: vee.Key{Meter: meterID, Class: meter.Daily, Quantity: "forward active energy total", Time: at}, Unit: "kWh",
		Value: dlt645.Decimal{Units: kwh, Scale: 2}, Quality: vee.Valid}
	b, _ := json.Marshal(v)
	return store.Record{Kind: results.KindValue, Key: results.ValueKey(meterID, meter.Daily, v.Quantity, at), Area: "D01", Meter: meterID, Time: at, Body: b}
}

// Every value reaches a subscriber of a real broker once, a revision comes
// as a revision, and a restarted publisher goes on from its cursor.
func TestPublishToBroker(t *testing.T) {
	ctx := context.Background()
	broker, res := brokerAndResults(t)
	var recs []store.Record
	for d := 1; d <= 5; d++ {
		for m := 1; m <= 3; m++ {
			recs = append(recs, value(fmt.Sprintf("0000010000%02d", m), d, int64(100000*m+1000*d)))
		}
	}
	if _, err := res.Put(ctx, recs); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string][]billing.Change{}
	arrived := make(chan struct{}, 100)
	sub := connect(t, broker.URL(), "billing")
	if tok := sub.Subscribe("headend/billing/#", 1, func(_ paho.Client, m paho.Message) {
		var c billing.Change
		if err := json.Unmarshal(m.Payload(), &c); err != nil {
			t.Errorf("%s: %v", m.Topic(), err)
		}
		mu.Lock()
		got[m.Topic()] = append(got[m.Topic()], c)
		mu.Unlock()
		arrived <- struct{}{}
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	wait := func(n int) {
		for range n {
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
				t.Fatalf("messages did not arrive")
			}
		}
	}
	cursor := filepath.Join(t.TempDir(), "cursor")
	p, err := New(ctx, res, connect(t, broker.URL(), "headend"), Options{CursorFile: cursor, Batch: 4})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := p.Once(ctx); err != nil || n != 15 {
		t.Fatalf("published %d: %v", n, err)
	}
	wait(15)
	mu.Lock()
	if len(got) != 3 || len(got["headend/billing/D01/000001000002"]) != 5 {
		t.Fatalf("topics: %v", got)
	}
	mu.Unlock()
	// a revision, then a restart
	rev := value("000001000002", 3, 999999)
	if _, err := res.Put(ctx, []store.Record{rev}); err != nil {
		t.Fatal(err)
	}
	p, err = New(ctx, res, connect(t, broker.URL(), "headend2"), Options{CursorFile: cursor})
	if err != nil || p.Cursor() != 15 {
		t.Fatalf("restarted at %d: %v", p.Cursor(), err)
	}
	if n, err := p.Once(ctx); err != nil || n != 1 {
		t.Fatalf("after the revision: published %d: %v", n, err)
	}
	wait(1)
	mu.Lock()
	last := got["headend/billing/D01/000001000002"]
	mu.Unlock()
	if c := last[len(last)-1]; c.Change != "revision" || c.Version != 2 || c.Value != "9999.99" {
		t.Fatalf("revision: %+v", c)
	}
	if n, _ := p.Once(ctx); n != 0 {
		t.Fatalf("published %d again", n)
	}
}

func TestBadCursor(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cursor")
	if err := FileCursor(path).Save(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "7\n" {
		t.Fatalf("the cursor file holds %q: %v", b, err)
	}
	if p, err := New(ctx, nil, nil, Options{CursorFile: path}); err != nil || p.Cursor() != 7 {
		t.Fatalf("cursor %v %v", p, err)
	}
	if _, err := New(ctx, nil, nil, Options{}); err == nil {
		t.Fatal("no cursor file: no error")
	}
	if err := os.WriteFile(path, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(ctx, nil, nil, Options{CursorFile: path}); err == nil {
		t.Fatal("a cursor file that holds no seq: no error")
	}
}

// fencedCursor refuses every save after the first refuse seqs.
type fencedCursor struct {
	mu     sync.Mutex
	saved  []int64
	refuse int64 // refuses a save of a seq beyond it
}

func (c *fencedCursor) Load(context.Context) (int64, error) { return 0, nil }

func (c *fencedCursor) Save(_ context.Context, seq int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq > c.refuse {
		return fmt.Errorf("cursor at %d: %w", seq, ErrFenced)
	}
	c.saved = append(c.saved, seq)
	return nil
}

// A publisher whose save is refused as fenced, or that no longer holds the
// feed, stops: Run returns the error instead of retrying.
func TestFencedPublisherStops(t *testing.T) {
	ctx := context.Background()
	broker, res := brokerAndResults(t)
	var recs []store.Record
	for d := 1; d <= 6; d++ {
		recs = append(recs, value("000001000001", d, int64(1000*d)))
	}
	if _, err := res.Put(ctx, recs); err != nil {
		t.Fatal(err)
	}
	c := &fencedCursor{refuse: 2}
	p, err := New(ctx, res, connect(t, broker.URL(), "headend"), Options{Cursor: c, Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, time.Millisecond) }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrFenced) || p.Cursor() != 2 || len(c.saved) != 1 {
			t.Fatalf("Run returned %v at cursor %d, saved %v", err, p.Cursor(), c.saved)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a fenced publisher went on")
	}
	p, err = New(ctx, res, connect(t, broker.URL(), "headend2"), Options{Cursor: &fencedCursor{refuse: 100}, Holds: func() bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := p.Once(ctx); !errors.Is(err, ErrFenced) || n != 0 {
		t.Fatalf("a publisher that does not hold the feed published %d: %v", n, err)
	}
}

// brokerAndResults are a real MQTT broker and an embedded results store,
// closed when the test ends.
func brokerAndResults(t *testing.T) (*field.Broker, *results.Store) {
	t.Helper()
	broker, err := field.StartBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Close() })
	res, err := results.Open(filepath.Join(t.TempDir(), "results.db"), results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	return broker, res
}
