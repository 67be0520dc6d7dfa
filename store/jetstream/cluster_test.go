package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/headend/headend/internal/natstest"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/outbox"
)

// node is one head-end node's end of the path: its outbox delivering to a
// Publisher.
type node struct {
	ob   *outbox.Outbox
	pub  *Publisher
	stop func()
}

func startNode(t *testing.T, ctx context.Context, c *natstest.Cluster, o Options) *node {
	t.Helper()
	return startNodeIn(t, ctx, c, o, t.TempDir())
}

// startNodeIn is startNode on the outbox in dir.
func startNodeIn(t *testing.T, ctx context.Context, c *natstest.Cluster, o Options, dir string) *node {
	t.Helper()
	pub, err := NewPublisher(ctx, connect(t, c, o.Node), o)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbox.Open(dir, nodeOutbox)
	if err != nil {
		t.Fatal(err)
	}
	if cut := ob.Recovery(); len(cut) > 0 {
		t.Logf("outbox recovery: %v", cut)
	}
	rctx, cancel := context.WithCancel(ctx)
	wait := run(func() { _ = ob.Run(rctx, pub) })
	n := &node{ob: ob, pub: pub}
	n.stop = func() {
		cancel()
		wait()
		if err := ob.Close(); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(n.stop)
	return n
}

// nodeOutbox are the outbox options of the tests' nodes.
var nodeOutbox = outbox.Options{Sync: outbox.SyncEvery, Backoff: fastBackoff, DeliverReads: 500}

// startWriter runs a Writer into st until the returned stop is called (or
// ctx ends).
func startWriter(t *testing.T, ctx context.Context, c *natstest.Cluster, st store.Store, o Options, name string) (*Writer, func()) {
	t.Helper()
	log, buf := testLogger(t)
	w, err := NewWriter(ctx, connect(t, c, name), st, o, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log:\n%s", name, buf)
		}
	})
	rctx, cancel := context.WithCancel(ctx)
	wait := run(func() { _ = w.Run(rctx) })
	stop := func() { cancel(); wait() }
	t.Cleanup(stop)
	return w, stop
}

// streamLeader returns the index in c of the server leading stream name.
func streamLeader(t *testing.T, ctx context.Context, c *natstest.Cluster, p *Publisher, name string) int {
	t.Helper()
	s, err := p.js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, srv := range c.Servers {
		if info.Cluster != nil && srv.Name == info.Cluster.Leader {
			return i
		}
	}
	t.Fatalf("stream %s: no leader in %+v", name, info.Cluster)
	return -1
}

// TestServerKilled sends reads from a node's outbox through the R3 stream
// into SQLite while the stream's leader is SIGKILLed and later restarted:
// the outbox keeps publishing with 2 of 3 servers, and every read appended
// is in the store exactly once.
func TestServerKilled(t *testing.T) {
	c := natstest.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o := testOptions("node-a")
	n := startNode(t, ctx, c, o)
	st := newCountingStore(openSQLite(t))
	w, stopWriter := startWriter(t, ctx, c, st, o, "writer-1")
	want := map[store.Key]bool{}

	appendBatches(t, n.ob, want, 0, 60, 50)
	waitFor(t, 30*time.Second, "the writer storing a first message", func() (bool, string) {
		return w.Stats().Messages > 0, fmt.Sprintf("%+v", w.Stats())
	})
	leader := streamLeader(t, ctx, c, n.pub, o.Stream)
	c.Kill(leader)
	t.Logf("killed %s, the stream's leader, after %d messages stored", c.Servers[leader].Name, w.Stats().Messages)
	before := n.pub.Stats().Messages
	appendBatches(t, n.ob, want, 60, 120, 50)
	waitFor(t, 60*time.Second, "the outbox publishing everything with 2 of 3 servers", func() (bool, string) {
		b, _ := n.ob.Backlog()
		return b == 0, fmt.Sprintf("backlog %d batches; publisher %+v", b, n.pub.Stats())
	})
	if got := n.pub.Stats().Messages; got <= before {
		t.Fatalf("no message stored while %s was down (%d before, %d after)", c.Servers[leader].Name, before, got)
	}
	t.Logf("published %d messages with %s down", n.pub.Stats().Messages-before, c.Servers[leader].Name)
	c.Restart(leader)
	appendBatches(t, n.ob, want, 120, 180, 50)
	waitFor(t, 60*time.Second, "every message stored and acknowledged", drained(n.ob, w))
	stopWriter()
	n.stop()
	assertExactlyOnce(t, st, want)
	t.Logf("publisher %+v", n.pub.Stats())
	t.Logf("writer %+v; %d keys written more than once", w.Stats(), st.rewritten())
}

// TestWriterKilledMidBatch stops a writer after its store write and before
// its acknowledgement, as a SIGKILL of its process would: the messages it
// held are redelivered to the other writer of the shared consumer and
// written again, and the store still holds each read once.
func TestWriterKilledMidBatch(t *testing.T) {
	c := natstest.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o := testOptions("node-a")
	n := startNode(t, ctx, c, o)
	shared := newCountingStore(openSQLite(t))

	// writer-a's context ends inside its second store write, after the
	// reads are in the store and before the acknowledgement.
	actx, kill := context.WithCancel(ctx)
	killed := make(chan struct{})
	doomed := &countingStore{Store: shared, writes: map[store.Key]int{}}
	doomed.after = func(k int) {
		if k == 2 {
			kill()
			close(killed)
		}
	}
	wa, _ := startWriter(t, actx, c, doomed, o, "writer-a")
	want := map[store.Key]bool{}
	appendBatches(t, n.ob, want, 0, 100, 50)
	select {
	case <-killed:
	case <-ctx.Done():
		t.Fatal("writer-a never wrote twice")
	}
	heldByA := wa.Stats()
	wb, _ := startWriter(t, ctx, c, shared, o, "writer-b")
	appendBatches(t, n.ob, want, 100, 150, 50)
	waitFor(t, 60*time.Second, "every message stored and acknowledged", drained(n.ob, wb))
	assertExactlyOnce(t, shared.Store, want)
	if shared.rewritten() == 0 || wb.Stats().Redelivered == 0 {
		t.Fatalf("nothing was redelivered (writer-b %+v): the kill did not leave a batch unacknowledged", wb.Stats())
	}
	t.Logf("writer-a acknowledged %d messages before its kill; writer-b %+v; %d keys written twice", heldByA.Messages, wb.Stats(), shared.rewritten())
}

// TestCorruptMessage puts bytes that are no batch on the stream among good
// batches: the writer reports it by stream sequence, terminates it, and
// stores the good ones.
func TestCorruptMessage(t *testing.T) {
	c := natstest.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o := testOptions("node-a")
	n := startNode(t, ctx, c, o)
	want := map[store.Key]bool{}
	appendBatches(t, n.ob, want, 0, 10, 20)
	waitFor(t, 30*time.Second, "the outbox publishing", func() (bool, string) {
		b, _ := n.ob.Backlog()
		return b == 0, fmt.Sprint(b, " batches")
	})
	ack, err := n.pub.js.Publish(ctx, o.Subject+".node-x", []byte{1, 0xff, 0xff, 0xff})
	if err != nil {
		t.Fatal(err)
	}
	appendBatches(t, n.ob, want, 10, 20, 20)

	st := openSQLite(t)
	log, buf := testLogger(t)
	w, err := NewWriter(ctx, connect(t, c, "writer"), st, o, log)
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	go w.Run(rctx)
	waitFor(t, 30*time.Second, "every message handled", drained(n.ob, w))
	assertExactlyOnce(t, st, want)
	s := w.Stats()
	if s.Terminated != 1 {
		t.Fatalf("terminated %d messages, want 1; stats %+v", s.Terminated, s)
	}
	msg := fmt.Sprintf("stream %s message %d (subject %s.node-x)", o.Stream, ack.Sequence, o.Subject)
	if !strings.Contains(s.LastCorrupt, msg) || !strings.Contains(buf.String(), msg) {
		t.Fatalf("the report does not name %q:\nstats: %s\nlog: %s", msg, s.LastCorrupt, buf)
	}
	t.Logf("reported: %s", s.LastCorrupt)
}

// TestStoreDown fails the store's first writes: the writer naks the
// messages, they come back after the back-off, and nothing is lost.
func TestStoreDown(t *testing.T) {
	c := natstest.Start(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o := testOptions("node-a")
	n := startNode(t, ctx, c, o)
	st := newCountingStore(openSQLite(t))
	st.before = func(k int) error {
		if k <= 3 {
			return errors.New("database is locked")
		}
		return nil
	}
	w, _ := startWriter(t, ctx, c, st, o, "writer")
	want := map[store.Key]bool{}
	appendBatches(t, n.ob, want, 0, 30, 40)
	waitFor(t, 60*time.Second, "every message stored", drained(n.ob, w))
	assertExactlyOnce(t, st.Store, want)
	if s := w.Stats(); s.Failures != 3 || s.Redelivered == 0 || !strings.Contains(s.LastStore, "database is locked") {
		t.Fatalf("writer stats %+v: want 3 failures, redeliveries, the store's error", s)
	}
}

// TestPublishedTwice writes the same batch twice, as the outbox does when
// a PubAck is lost: the stream keeps one message.
func TestPublishedTwice(t *testing.T) {
	c := natstest.Start(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o := testOptions("node-a")
	o.Replicas = 1
	p, err := NewPublisher(ctx, connect(t, c, "node-a"), o)
	if err != nil {
		t.Fatal(err)
	}
	rs := testBatch(1, 2500) // three messages
	for range 2 {
		if err := p.Write(ctx, rs); err != nil {
			t.Fatal(err)
		}
	}
	s, err := p.js.Stream(ctx, o.Stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 3 || p.Stats().Duplicates != 3 {
		t.Fatalf("stream holds %d messages (want 3), publisher %+v (want 3 duplicates)", info.State.Msgs, p.Stats())
	}
	if info.Config.Retention != jetstream.WorkQueuePolicy || info.Config.Discard != jetstream.DiscardNew {
		t.Fatalf("stream config %+v", info.Config)
	}
	if _, err := p.Query(ctx, store.Query{}); !errors.Is(err, ErrNoQuery) {
		t.Fatalf("Query: %v, want ErrNoQuery", err)
	}
}

// TestRegrouped publishes a batch, then the same reads with more behind
// them, as an outbox reopened after a crash regroups what it had not
// acknowledged: the identical first message is dropped as a duplicate,
// the rest reaches the store, where the reads sent twice are one point
// each.
func TestRegrouped(t *testing.T) {
	c := natstest.Start(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o := testOptions("node-a")
	o.Replicas = 1
	o.AckWait = time.Minute // no redelivery but the one under test, however slow the machine
	p, err := NewPublisher(ctx, connect(t, c, "node-a"), o)
	if err != nil {
		t.Fatal(err)
	}
	rs := testBatch(1, 2500)
	if err := p.Write(ctx, rs[:1500]); err != nil { // messages [0,1000) [1000,1500)
		t.Fatal(err)
	}
	if err := p.Write(ctx, rs); err != nil { // [0,1000) again, [1000,2000), [2000,2500)
		t.Fatal(err)
	}
	if s := p.Stats(); s.Messages != 5 || s.Duplicates != 1 {
		t.Fatalf("publisher %+v: want 5 messages, 1 duplicate", s)
	}
	st := newCountingStore(openSQLite(t))
	w, _ := startWriter(t, ctx, c, st, o, "writer")
	waitFor(t, 30*time.Second, "every message stored", func() (bool, string) {
		l, err := w.Lag(ctx)
		return err == nil && l.Messages == 0 && l.AckPending == 0, fmt.Sprintf("%+v %v", l, err)
	})
	want := map[store.Key]bool{}
	for i := range rs {
		want[store.KeyOf(&rs[i])] = true
	}
	assertExactlyOnce(t, st.Store, want)
	if n := st.rewritten(); n != 500 {
		t.Fatalf("%d keys written twice, want the 500 of [1000,1500)", n)
	}
	lag, err := StreamLag(ctx, connect(t, c, "status"), o)
	if err != nil || lag.AckFloor != 4 || lag.LastSeq != 4 {
		t.Fatalf("StreamLag: %+v, %v: want ack floor and last seq 4", lag, err)
	}
}

// TestStreamConflict meets a stream of the same name made otherwise
// (limits retention): the error names the stream.
func TestStreamConflict(t *testing.T) {
	c := natstest.Start(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o := testOptions("node-a")
	o.Replicas = 1
	nc := connect(t, c, "node-a")
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: o.Stream, Subjects: []string{o.Subject + ".>"}}); err != nil {
		t.Fatal(err)
	}
	_, err = NewPublisher(ctx, nc, o)
	if err == nil || !strings.Contains(err.Error(), "stream "+o.Stream) {
		t.Fatalf("NewPublisher over a limits stream: %v", err)
	}
	t.Log(err)
}

// TestSlowStore holds one writer's store write for 2.5 AckWaits while
// another writer pulls: the slow writer tells the server its messages are
// in progress, and none of them is redelivered to the other.
func TestSlowStore(t *testing.T) {
	c := natstest.Start(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o := testOptions("node-a")
	o.Replicas, o.AckWait = 1, 1500*time.Millisecond
	n := startNode(t, ctx, c, o)
	want := map[store.Key]bool{}
	appendBatches(t, n.ob, want, 0, 40, 50)
	waitFor(t, 30*time.Second, "the outbox publishing", func() (bool, string) {
		b, _ := n.ob.Backlog()
		return b == 0, fmt.Sprint(b, " batches")
	})
	st := newCountingStore(openSQLite(t))
	slowing := make(chan struct{})
	slow := &countingStore{Store: st, writes: map[store.Key]int{}}
	slow.before = func(k int) error {
		if k == 1 {
			close(slowing)
			time.Sleep(5 * o.AckWait / 2) // the store is slow, not waited for
		}
		return nil
	}
	startWriter(t, ctx, c, slow, o, "slow")
	<-slowing
	w, _ := startWriter(t, ctx, c, st, o, "fast")
	waitFor(t, 30*time.Second, "every message stored", drained(n.ob, w))
	assertExactlyOnce(t, st.Store, want)
	if s := w.Stats(); s.Redelivered != 0 || st.rewritten() != 0 {
		t.Fatalf("fast writer %+v, %d keys written twice: the slow write's messages were redelivered", s, st.rewritten())
	}
}

// TestNATSAwayAtStart starts a node and a writer while no NATS server
// answers: they start, the outbox keeps the reads, and once the server is
// up the stream and the consumer are made and every read is stored.
func TestNATSAwayAtStart(t *testing.T) {
	c := natstest.Start(t, 1)
	c.Kill(0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o := testOptions("node-a")
	o.Replicas, o.Timeout, o.URLs = 1, time.Second, c.URLs()
	nc, err := Dial(o)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	p, err := NewPublisher(ctx, nc, o)
	if err != nil {
		t.Fatalf("NewPublisher with NATS away: %v", err)
	}
	st := openSQLite(t)
	w, err := NewWriter(ctx, nc, st, o, nil)
	if err != nil {
		t.Fatalf("NewWriter with NATS away: %v", err)
	}
	ob, err := outbox.Open(t.TempDir(), nodeOutbox)
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	go ob.Run(rctx, p)
	go w.Run(rctx)
	want := map[store.Key]bool{}
	appendBatches(t, ob, want, 0, 10, 20)
	waitFor(t, 10*time.Second, "a failed publish", func() (bool, string) {
		return p.Stats().Failures > 0, fmt.Sprintf("%+v", p.Stats())
	})
	c.Restart(0)
	waitFor(t, 30*time.Second, "every message stored", drained(ob, w))
	assertExactlyOnce(t, st, want)
}

// TestWriterStop stops a writer during a slow store write: Stop waits for
// the write, which is acknowledged (no key reaches the store twice), and
// the messages fetched meanwhile go back to the stream at once, so a
// second writer stores everything long before the ack wait.
func TestWriterStop(t *testing.T) {
	c := natstest.Start(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o := testOptions("node-a")
	o.Replicas, o.AckWait, o.Fetch, o.MessageReads = 1, 30*time.Second, 2, 50
	n := startNode(t, ctx, c, o)
	want := map[store.Key]bool{}
	appendBatches(t, n.ob, want, 0, 40, 50)
	waitFor(t, 30*time.Second, "the outbox publishing", func() (bool, string) {
		b, _ := n.ob.Backlog()
		return b == 0, fmt.Sprint(b, " batches")
	})
	st := newCountingStore(openSQLite(t))
	inWrite, release := make(chan struct{}), make(chan struct{})
	slow := &countingStore{Store: st, writes: map[store.Key]int{}}
	slow.before = func(k int) error {
		if k == 1 {
			close(inWrite)
			<-release
		}
		return nil
	}
	a, err := NewWriter(ctx, connect(t, c, "a"), slow, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	ran := run(func() {
		if err := a.Run(ctx); err != nil {
			t.Errorf("Run after Stop: %v", err)
		}
	})
	<-inWrite
	stopped := make(chan error, 1)
	go func() { stopped <- a.Stop(ctx) }()
	// the fetcher holds the next group meanwhile
	waitFor(t, 10*time.Second, "a fetching ahead", func() (bool, string) {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.held) > o.Fetch, fmt.Sprint(len(a.held), " messages held")
	})
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) during the store write", err)
	default:
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	ran()
	if s := a.Stats(); s.Writes != 1 || s.Messages == 0 || s.AckErrors != 0 {
		t.Fatalf("a after Stop: %+v", s)
	}
	start := time.Now()
	b, _ := startWriter(t, ctx, c, st, o, "b")
	waitFor(t, o.AckWait/2, "b storing the rest", drained(n.ob, b))
	assertExactlyOnce(t, st.Store, want)
	if r := st.rewritten(); r != 0 || b.Stats().Redelivered == 0 {
		t.Fatalf("%d keys written twice, b %+v: want a's write acknowledged and its held messages given back", r, b.Stats())
	}
	t.Logf("a stored %d messages before it stopped; b took the rest, %d of them given back by a, in %v",
		a.Stats().Messages, b.Stats().Redelivered, time.Since(start).Round(time.Millisecond))
}
