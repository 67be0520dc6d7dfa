package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/api/billing"
	"github.com/headend/headend/api/publish"
	"github.com/headend/headend/cluster"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/internal/etcdtest"
	"github.com/headend/headend/internal/pgtest"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/field"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/postgres"
	"github.com/headend/headend/store/results"
)

// feedSub is billing's subscriber: how many times each seq arrived.
type feedSub struct {
	t  *testing.T
	mu sync.Mutex
	n  map[int64]int
}

func subscribeFeed(t *testing.T, url string) *feedSub {
	t.Helper()
	s := &feedSub{t: t, n: map[int64]int{}}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("billing-test").SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: connect %s: %v", url, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	if tok := c.Subscribe("headend/billing/#", 1, func(_ paho.Client, m paho.Message) {
		var ch billing.Change
		if err := json.Unmarshal(m.Payload(), &ch); err != nil || ch.Seq == 0 {
			t.Errorf("%s: %q: %v", m.Topic(), m.Payload(), err)
			return
		}
		s.mu.Lock()
		s.n[ch.Seq]++
		s.mu.Unlock()
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return s
}

// counts is a copy of the seqs received and how many times each.
func (s *feedSub) counts() map[int64]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.n)
}

// feedWriter puts values into the shared results store as the analysis
// does, each a new key of area X (no area of the archive, so that no
// node's analysis retracts them).
type feedWriter struct {
	res *postgres.Store
	n   int
}

func (w *feedWriter) put(k int) error {
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	var recs []store.Record
	for range k {
		w.n++
		m := fmt.Sprintf("99%010d", w.n)
		v := vee.Value{Key: vee.Key{Meter: m, Class: meter.Daily, Quantity: "forward active energy total", Time: at}, Unit: "kWh",
			Value: dlt645.Decimal{Units: int64(1000 + w.n), Scale: 2}, Quality: vee.Valid}
		b, _ := json.Marshal(v)
		recs = append(recs, store.Record{Kind: results.KindValue, Key: results.ValueKey(m, meter.Daily, v.Quantity, at), Area: "X", Meter: m, Time: at, Body: b})
	}
	if _, err := w.res.Put(context.Background(), recs); err != nil {
		return fmt.Errorf("putting %d values: %w", k, err)
	}
	return nil
}

// feedSeqs are the seqs of billing's feed in the store: what the
// publisher must send.
func feedSeqs(t *testing.T, res store.Results) []int64 {
	t.Helper()
	recs, err := res.Since(context.Background(), 0, []string{results.KindValue}, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, r := range recs {
		if _, ok := billing.ChangeOf(r, time.UTC); ok {
			out = append(out, r.Seq)
		}
	}
	return out
}

// missing are the seqs of want not received.
func missing(want []int64, got map[int64]int) []int64 {
	var out []int64
	for _, s := range want {
		if got[s] == 0 {
			out = append(out, s)
		}
	}
	return out
}

// repeats are the seqs received more than once, sorted.
func repeats(got map[int64]int) []int64 {
	var out []int64
	for s, n := range got {
		if n > 1 {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

func (st nodeStatus) publishes() bool { return slices.Contains(st.Cluster.Owned, cluster.PublishItem) }

// TestClusterPublishesTheFeedOnce runs two head-ends on one etcd, one
// PostgreSQL results database and one MQTT broker. The feed goes out from
// one node at a time: no seq twice while both live, across the handover
// when the second node joins and wins the publish item. That node then
// dies (no Leave) while values keep coming; the survivor takes the item
// once the lease lapses and resumes from the cursor in etcd: every seq
// arrives, and the repeats are at most the one batch in flight.
func TestClusterPublishesTheFeedOnce(t *testing.T) {
	etcd := etcdtest.Start(t)
	dsn := pgtest.Start(t, pgtest.Options{}).NewDatabase(t)
	t.Setenv("HEADEND_RESULTS_KIND", "postgres")
	t.Setenv("HEADEND_RESULTS_DSN", dsn)
	broker, err := field.StartBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Close() })
	res, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	w := &feedWriter{res: res}
	sub := subscribeFeed(t, broker.URL())
	sim := clusterField(t)
	pub := func(c *config.Config) {
		c.Publish.Broker = broker.URL()
		c.Publish.Every = 50 * time.Millisecond
	}
	all := func() (bool, string) {
		m := missing(feedSeqs(t, res), sub.counts())
		return len(m) == 0, fmt.Sprintf("%d seqs not received: %v", len(m), m)
	}

	// survivor publishes alone; taker, the publish item's owner when both
	// live, joins and takes it over
	survivorName, takerName := "node-a", "node-b"
	if cluster.Owner([]cluster.Member{{Name: "node-a"}, {Name: "node-b"}}, cluster.PublishItem) == "node-a" {
		survivorName, takerName = takerName, survivorName
	}
	if err := w.put(20); err != nil {
		t.Fatal(err)
	}
	survivor := startClusterNodeWith(t, survivorName, etcd.Endpoint, sim, false, pub)
	eventually(t, 20*time.Second, "the first values published", all)
	if r := repeats(sub.counts()); len(r) > 0 {
		t.Fatalf("one node up: seqs received twice: %v", r)
	}

	// values keep coming from here on
	stopWriting := make(chan struct{})
	var wrote sync.WaitGroup
	wrote.Add(1)
	go func() {
		defer wrote.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopWriting:
				return
			case <-tick.C:
				if err := w.put(3); err != nil {
					t.Error(err)
					return
				}
			}
		}
	}()
	writing := true
	stop := func() {
		if writing {
			close(stopWriting)
			wrote.Wait()
			writing = false
		}
	}
	defer stop()

	taker := startClusterNodeWith(t, takerName, etcd.Endpoint, sim, true, pub)
	eventually(t, 20*time.Second, takerName+" takes the feed over and publishes", func() (bool, string) {
		sa, sb := survivor.status(), taker.status()
		sent := strings.Contains(taker.logs.String(), `msg="billing publish" component=publish values=`)
		return !sa.publishes() && sb.publishes() && sent, fmt.Sprintf("%s owns the feed %v, %s %v and published %v",
			survivorName, sa.publishes(), takerName, sb.publishes(), sent)
	})
	// what the store held once the taker owned the feed, all received
	before := feedSeqs(t, res)
	eventually(t, 20*time.Second, "the values before the handover published", func() (bool, string) {
		m := missing(before, sub.counts())
		return len(m) == 0, fmt.Sprintf("%d seqs not received: %v", len(m), m)
	})
	if r := repeats(sub.counts()); len(r) > 0 {
		t.Fatalf("both nodes up: seqs received twice: %v", r)
	}
	// the survivor stopped before the taker started
	handed := logTimes(t, survivor.logs.String(), `msg="cluster: billing feed handed over"`)
	gained := logTimes(t, taker.logs.String(), `msg="cluster: billing feed gained: publishing it"`)
	if len(handed) != 1 || len(gained) != 1 || !handed[0].Before(gained[0]) {
		t.Errorf("%s handed the feed over at %v, %s gained it at %v", survivorName, handed, takerName, gained)
	} else {
		t.Logf("handover: %s stopped, %s started %v later", survivorName, takerName, gained[0].Sub(handed[0]).Round(time.Millisecond))
	}
	lastBefore := slices.Max(before)
	t.Logf("%d seqs published once each, to seq %d, %s then %s", len(before), lastBefore, survivorName, takerName)

	// the taker dies mid-feed
	died := time.Now()
	taker.stop()
	stopped := time.Since(died)
	eventually(t, clusterTTL+10*time.Second, survivorName+" takes the feed back", func() (bool, string) {
		gained = logTimes(t, survivor.logs.String(), `msg="cluster: billing feed gained: publishing it"`)
		return len(gained) == 2, fmt.Sprintf("%s started publishing at %v", survivorName, gained)
	})
	took := gained[1].Sub(died)
	if !survivor.status().publishes() {
		t.Errorf("%s publishes without owning the feed", survivorName)
	}
	stop()
	put := time.Now()
	if err := w.put(20); err != nil {
		t.Fatal(err)
	}
	final := feedSeqs(t, res)
	eventually(t, 20*time.Second, "every value published after the take-over", func() (bool, string) {
		m := missing(final, sub.counts())
		return len(m) == 0, fmt.Sprintf("%d seqs not received: %v", len(m), m)
	})
	resumed := time.Since(put)
	got := sub.counts()
	if m := missing(final, got); len(m) > 0 {
		t.Fatalf("seqs never received: %v", m)
	}
	if extra := len(got) - len(final); extra != 0 {
		t.Errorf("%d seqs received that the feed does not hold", extra)
	}
	// the repeats: one batch at most, sent by the taker, its cursor not
	// saved when it died, and again by the survivor
	r := repeats(got)
	for _, s := range r {
		if got[s] > 2 {
			t.Errorf("seq %d received %d times", s, got[s])
		}
		if s <= lastBefore {
			t.Errorf("seq %d, published before the taker died, received again", s)
		}
	}
	if len(r) > 0 {
		i, j := slices.Index(final, r[0]), slices.Index(final, r[len(r)-1])
		if j-i+1 != len(r) || len(r) > 500 {
			t.Errorf("the repeats %v are not one batch of the feed", r)
		}
	}
	t.Logf("%d seqs, every one received; %d repeated (%v); %s started publishing %v after %s was stopped as a crash (its Run took %v to return; ttl %v); the last values out within %v of their put",
		len(final), len(r), r, survivorName, took.Round(time.Millisecond), takerName, stopped.Round(time.Millisecond), clusterTTL, resumed.Round(time.Millisecond))
}

// logTimes are the times of the log lines that contain text.
func logTimes(t *testing.T, log, text string) []time.Time {
	t.Helper()
	var out []time.Time
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, text) {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(strings.Fields(line)[0], "time="))
		if err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, at)
	}
	return out
}

// The cluster's cursor: the node's file until one is saved in etcd, then
// etcd's; a save once the node no longer owns the feed is refused as
// fenced (which stops the publisher).
func TestClusterCursorFenced(t *testing.T) {
	srv := etcdtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	node, err := cluster.Join(ctx, srv.Client(t), cluster.Options{Node: "node-a", TTL: 2 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	node.SetItems([]string{cluster.PublishItem})
	file := publish.FileCursor(filepath.Join(t.TempDir(), "publish.cursor"))
	if err := file.Save(ctx, 41); err != nil {
		t.Fatal(err)
	}
	c := clusterCursor{node: node, file: file}
	eventually(t, 10*time.Second, "the node owns the feed", func() (bool, string) { return node.Owns(cluster.PublishItem), "" })
	if seq, err := c.Load(ctx); err != nil || seq != 41 {
		t.Fatalf("before any in etcd: %d %v, want the file's 41", seq, err)
	}
	if err := c.Save(ctx, 50); err != nil {
		t.Fatal(err)
	}
	if seq, err := c.Load(ctx); err != nil || seq != 50 {
		t.Fatalf("after a save: %d %v, want 50", seq, err)
	}
	node.SetItems(nil) // the feed is no longer an item: released, nobody's
	eventually(t, 10*time.Second, "the node hands the feed on", func() (bool, string) {
		if slices.Contains(node.Releasable(), cluster.PublishItem) {
			node.Release(ctx, cluster.PublishItem)
		}
		return !node.Owns(cluster.PublishItem), ""
	})
	if err := c.Save(ctx, 60); !errors.Is(err, publish.ErrFenced) || !errors.Is(err, cluster.ErrNotOwner) {
		t.Fatalf("a save without the feed: %v", err)
	}
	if seq, err := c.Load(ctx); err != nil || seq != 50 {
		t.Fatalf("after a refused save: %d %v, want 50", seq, err)
	}
}
