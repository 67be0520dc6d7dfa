package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/headend/headend/internal/etcdtest"
	"github.com/headend/headend/internal/natstest"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/sim/simulator"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/jetstream"
	"github.com/headend/headend/store/outbox"
	"github.com/headend/headend/store/sqlite"
)

// acceptedKeys are the keys of the reads the nodes' outboxes took.
type acceptedKeys struct {
	mu   sync.Mutex
	keys map[store.Key]bool
	n    int // reads, a key read by both nodes counted twice
}

func (a *acceptedKeys) add(rs []meter.Read) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range rs {
		if store.Check(&rs[i]) == nil { // what the persister stores
			a.keys[store.KeyOf(&rs[i])] = true
			a.n++
		}
	}
}

func (a *acceptedKeys) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.keys)
}

// streamNodeConf is the cluster.nats section of the test's nodes: quick
// redeliveries, the default stream.
func streamNodeConf(urls []string, writer bool) string {
	return fmt.Sprintf("nats: {urls: [%s], writer: %t, ack_wait: 2s}", strings.Join(urls, ", "), writer)
}

// startStreamNode runs serve --cluster as node name with cluster.nats,
// as startClusterNode does without it; the reads its outbox takes go to
// acc. It returns the node and its data directory.
func startStreamNode(t *testing.T, name, etcd string, urls []string, writer bool, sim *simulator.Simulator, acc *acceptedKeys) (*clusterNode, string) {
	t.Helper()
	return startNode(t, name, etcd, sim, nodeSpec{top: "store: {outbox: {sync: none}}\n", cluster: streamNodeConf(urls, writer), accepted: acc.add})
}

// streamOf is the stream part of the node's GET /status.
func streamOf(t *testing.T, n *clusterNode) streamStatus {
	t.Helper()
	st, _ := streamAndBacklog(t, n)
	return st
}

// streamAndBacklog is the stream part of the node's GET /status and the
// batches its outbox holds.
func streamAndBacklog(t *testing.T, n *clusterNode) (streamStatus, int64) {
	t.Helper()
	req, _ := http.NewRequest("GET", n.http+"/status", nil)
	req.Header.Set("Authorization", "Bearer "+tokAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: /status: %v", n.name, err)
	}
	defer resp.Body.Close()
	var st struct {
		Storage struct {
			Backlog int64 `json:"backlog_batches"`
		} `json:"storage"`
		Cluster *struct {
			Stream *streamStatus `json:"stream"`
		} `json:"cluster"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("%s: /status: %v", n.name, err)
	}
	if st.Cluster == nil || st.Cluster.Stream == nil {
		t.Fatalf("%s: /status has no cluster.stream", n.name)
	}
	return *st.Cluster.Stream, st.Storage.Backlog
}

// TestClusterReadsThroughStream runs two head-ends (etcd shares the
// channels out) whose outboxes deliver to an R3 JetStream stream on three
// nats-servers; node-a also writes the stream into its SQLite store. The
// stream's leader is SIGKILLed while both poll, and restarted. After
// both stop cleanly and a writer took what their last flush published,
// the store holds every read the outboxes took, each key once, and
// nothing else; no outbox holds a read.
func TestClusterReadsThroughStream(t *testing.T) {
	started := time.Now()
	etcd := etcdtest.Start(t)
	nc3 := natstest.Start(t, 3)
	sim := clusterField(t)
	var all []string
	for _, e := range sim.Endpoints {
		all = append(all, e.Concentrator)
	}
	sort.Strings(all)
	acc := &acceptedKeys{keys: map[store.Key]bool{}}
	a, dirA := startStreamNode(t, "node-a", etcd.Endpoint, nc3.URLs(), true, sim, acc)
	b, dirB := startStreamNode(t, "node-b", etcd.Endpoint, nc3.URLs(), false, sim, acc)
	waitShared(t, all, a, b)

	// progress: both nodes published more, and node-a's writer stored more
	progress := func(what string, within time.Duration) {
		t.Helper()
		pa0, pb0 := streamOf(t, a), streamOf(t, b)
		eventually(t, within, what, func() (bool, string) {
			pa, pb := streamOf(t, a), streamOf(t, b)
			return pa.Publisher.Messages > pa0.Publisher.Messages && pb.Publisher.Messages > pb0.Publisher.Messages &&
					pa.Writer.Messages > pa0.Writer.Messages,
				fmt.Sprintf("a published %d (was %d), b %d (was %d), a's writer stored %d (was %d)",
					pa.Publisher.Messages, pa0.Publisher.Messages, pb.Publisher.Messages, pb0.Publisher.Messages,
					pa.Writer.Messages, pa0.Writer.Messages)
		})
	}
	progress("reads through the stream", 15*time.Second)
	if st := streamOf(t, b); st.Writer != nil || st.Subject != jetstream.DefaultSubject+".node-b" {
		t.Errorf("node-b's stream status: %+v", st)
	}

	// the stream's leader dies while both poll: 2 of 3 servers carry on
	nc, err := nats.Connect(nc3.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	leader := streamLeader(t, nc3, nc)
	nc3.Kill(leader)
	t.Logf("killed %s, the stream's leader", nc3.Servers[leader].Name)
	progress("reads through the stream with its leader dead", 30*time.Second)
	nc3.Restart(leader)
	progress("reads through the stream after the restart", 15*time.Second)
	for _, m := range []struct {
		n    *clusterNode
		name string
	}{{a, "headend_stream_published_reads_total"}, {b, "headend_stream_published_reads_total"},
		{a, "headend_stream_stored_reads_total"}, {a, "headend_stream_pending_messages"}} {
		if v, ok := metric(t, m.n, m.name); !ok || (v <= 0 && !strings.HasSuffix(m.name, "_messages")) {
			t.Errorf("%s: metric %s{node=%q} = %v (found %t)", m.n.name, m.name, m.n.name, v, ok)
		}
	}

	// a clean stop: each outbox flushes into the stream; node-a's writer
	// stops after its write in flight
	b.stop()
	a.stop()
	for _, n := range []*clusterNode{a, b} {
		if l := n.logs.String(); strings.Contains(l, "outbox not delivered before stopping") || strings.Contains(l, "stream writer stopped") {
			t.Errorf("%s's stop:\n%s", n.name, l)
		}
	}
	assertStoredOnce(t, nc, dirA, acc, dirA, dirB)
	t.Logf("%v in all", time.Since(started).Round(time.Millisecond))
}

// assertStoredOnce checks that the nodes' outboxes (in their dirs) are
// empty, takes what the stream still holds into the SQLite store in
// storeDir, and checks that the store holds each key acc has exactly
// once and nothing else.
func assertStoredOnce(t *testing.T, nc *nats.Conn, storeDir string, acc *acceptedKeys, dirs ...string) {
	t.Helper()
	for _, dir := range dirs {
		ob, err := outbox.Open(filepath.Join(dir, "data", "outbox"), outbox.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if bt, n := ob.Backlog(); bt != 0 {
			t.Errorf("%s: the outbox holds %d batches (%d bytes) after a clean stop", dir, bt, n)
		}
		ob.Close()
	}

	// what the last flushes published: a writer takes it into node-a's store
	st, err := sqlite.Open(filepath.Join(storeDir, "data", "store", "headend.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	o := jetstream.Settings{AckWait: 2 * time.Second}.Options("test")
	w, err := jetstream.NewWriter(context.Background(), nc, st, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	go w.Run(context.Background())
	eventually(t, 15*time.Second, "the stream drained into the store", func() (bool, string) {
		l, err := w.Lag(context.Background())
		if err != nil {
			return false, err.Error()
		}
		return l.Messages == 0 && l.Pending == 0 && l.AckPending == 0, fmt.Sprintf("%+v", l)
	})
	if err := w.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	got, err := st.Query(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	count := map[store.Key]int{}
	for i := range got {
		count[store.KeyOf(&got[i])]++
	}
	var lost, doubled, extra []string
	for k := range acc.keys {
		switch c := count[k]; {
		case c == 0:
			lost = append(lost, fmt.Sprint(k))
		case c > 1:
			doubled = append(doubled, fmt.Sprintf("%v ×%d", k, c))
		}
	}
	for k := range count {
		if !acc.keys[k] {
			extra = append(extra, fmt.Sprint(k))
		}
	}
	sort.Strings(lost)
	if len(acc.keys) == 0 || len(lost)+len(doubled)+len(extra) > 0 {
		t.Fatalf("store holds %d reads for %d keys taken by the outboxes: %d lost (%v), %d doubled (%v), %d never taken (%v)",
			len(got), len(acc.keys), len(lost), lost[:min(3, len(lost))], len(doubled), doubled[:min(3, len(doubled))], len(extra), extra[:min(3, len(extra))])
	}
	t.Logf("store holds each of the %d keys the outboxes took (%d reads) exactly once; the test writer stored %d more",
		acc.len(), acc.n, w.Stats().Reads)
}

// metric is the value of the node's metric name{node="<node>"} in GET /metrics.
func metric(t *testing.T, n *clusterNode, name string) (float64, bool) {
	t.Helper()
	req, _ := http.NewRequest("GET", n.http+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+tokAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: /metrics: %v", n.name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + `\{node="` + n.name + `"\} (\S+)$`).FindSubmatch(body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	return v, err == nil
}

// streamLeader is the index of the server leading the reads stream.
func streamLeader(t *testing.T, c *natstest.Cluster, nc *nats.Conn) int {
	t.Helper()
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var name string
	eventually(t, 10*time.Second, "the stream's leader", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, jetstream.DefaultStream)
		if err != nil {
			return false, err.Error()
		}
		info, err := s.Info(ctx)
		if err != nil || info.Cluster == nil || info.Cluster.Leader == "" {
			return false, fmt.Sprint(err)
		}
		name = info.Cluster.Leader
		return true, ""
	})
	for i, s := range c.Servers {
		if s.Name == name {
			return i
		}
	}
	t.Fatalf("stream leader %q is none of the servers", name)
	return -1
}

// TestClusterStreamQuorumLost kills two of the three nats-servers while a
// node polls: the stream has no quorum, the node's deliveries fail and
// its reads wait in the outbox (polling goes on); once the servers are
// back the outbox empties into the stream, and the store ends up with
// every read the outbox took, exactly once.
func TestClusterStreamQuorumLost(t *testing.T) {
	started := time.Now()
	etcd := etcdtest.Start(t)
	nc3 := natstest.Start(t, 3)
	sim := clusterField(t)
	acc := &acceptedKeys{keys: map[store.Key]bool{}}
	a, dirA := startStreamNode(t, "node-a", etcd.Endpoint, nc3.URLs(), true, sim, acc)
	eventually(t, 20*time.Second, "reads through the stream", func() (bool, string) {
		st := streamOf(t, a)
		return st.Publisher.Messages > 0 && st.Writer.Messages > 0, fmt.Sprintf("%+v", st)
	})
	nc3.Kill(0)
	nc3.Kill(1)
	before := acc.len()
	eventually(t, 30*time.Second, "reads waiting in the outbox", func() (bool, string) {
		st, backlog := streamAndBacklog(t, a)
		return st.Publisher.Failures > 0 && backlog > 1 && acc.len() > before,
			fmt.Sprintf("publisher %+v, outbox backlog %d batches, %d keys taken (%d before)", st.Publisher, backlog, acc.len(), before)
	})
	st, backlog := streamAndBacklog(t, a)
	t.Logf("without quorum: %d publish failures (%s), %d batches in the outbox", st.Publisher.Failures, st.Publisher.LastError, backlog)
	nc3.Restart(0)
	nc3.Restart(1)
	published := st.Publisher.Messages
	eventually(t, 30*time.Second, "the outbox delivered into the stream", func() (bool, string) {
		st, backlog := streamAndBacklog(t, a)
		return backlog <= 1 && st.Publisher.Messages > published, fmt.Sprintf("publisher %+v, outbox backlog %d", st.Publisher, backlog)
	})
	a.stop()
	nc, err := nats.Connect(nc3.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	assertStoredOnce(t, nc, dirA, acc, dirA)
	t.Logf("%v in all", time.Since(started).Round(time.Millisecond))
}
