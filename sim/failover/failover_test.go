package failover

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/cluster"
	"github.com/headend/headend/internal/etcdtest"
	"github.com/headend/headend/internal/influxtest"
	"github.com/headend/headend/internal/natstest"
	"github.com/headend/headend/internal/pgtest"
	"github.com/headend/headend/internal/proctest"
	simfield "github.com/headend/headend/sim/field"
	clientv3 "go.etcd.io/etcd/client/v3"
)

const (
	// interval is the schedule slot, in simulated time: every meter's
	// instantaneous reads once a slot.
	interval = time.Minute
	// speed is simulated seconds per real second: a slot is 10 s real.
	speed = 6
	// ttl is the nodes' lease: a killed node's channels wait that long
	// (real time), well inside one slot.
	ttl = 3 * time.Second
	// nodes is the size of the cluster.
	nodes = 3
)

// terminalAreas is how many of the large scenario's 80 1376.1 areas the
// field has (HEADEND_FAILOVER_TERMINALS sets another number): 40 keep
// make test's run inside what 2 cores carry with three nodes, three NATS
// servers, InfluxDB and PostgreSQL beside it (docs/cluster.md).
var terminalAreas = envInt("HEADEND_FAILOVER_TERMINALS", 40)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}

// TestClusterFailover runs three nodes on the field, kills one with
// SIGKILL and brings it back, kills one of the three NATS servers and
// brings it back, and counts every meter's requests in every slot and
// every answer in storage.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster run of about 3 minutes; not with -short")
	}
	if raceOn {
		t.Skip("the cluster run is not run under the race detector (real processes, timed faults): make unit runs it")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	if k := os.Getenv("HEADEND_FAILOVER_KEEP"); k != "" {
		work = k // the logs kept for a look afterwards
		if err := os.MkdirAll(work, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := proctest.Build(t, root, filepath.Join(work, "bin", "headend"), "./cmd/headend")

	etcd := etcdtest.Start(t)
	streams := natstest.Start(t, 3)
	influxURL := influxtest.Start(t)
	f := startField(t, root, speed, terminalAreas)
	simHTTP := httptest.NewServer(f.sim.Handler())
	defer simHTTP.Close()

	// billing: one results database, one broker, a subscriber counting
	broker, err := simfield.StartBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Close() })
	sub := subscribeFeed(t, broker.URL())
	results := pgtest.Start(t, pgtest.Options{}).NewDatabase(t)

	run := &clusterRun{t: t, n: nodes, bin: bin, work: work, follow: simHTTP.URL, field: f,
		etcd: etcd.Endpoint, nats: streams.URLs(), influx: influxURL, results: results, broker: broker.URL()}
	run.writeConfigs()
	run.setupInflux()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch := newOwnerWatch(t, etcd)
	for i := range nodes {
		run.start(ctx, i)
	}
	defer run.stopAll()
	f.front.Route(run.gdws...) // the terminals dial in: each link to the next node in turn
	channels := f.channels()
	watch.waitShared(channels, run.names(), 60*time.Second)
	t.Logf("%d channels shared among %v: %v", len(channels), run.names(), watch.shares())

	first := f.nextSlot() // the first slot every node polls from its start
	if d := f.dailySlot().Add(2 * interval); first.Before(d) {
		// the slot of the daily freezes reads every meter twice: at 10 s
		// real a slot (15 min in the field) some lines overrun it, and
		// their reads of it are answered in the next
		first = d
	}
	f.waitSlotEnd(first.Add(interval))

	// a node dies in the middle of a slot; its channels must be polled
	// from the next slot on
	f.waitMidSlot()
	killedOwned := watch.ownedBy(run.name(1))
	run.kill(1)
	took := watch.waitNotOwnedBy(run.name(1), channels, interval/speed)
	t.Logf("SIGKILL of %s (%d channels): taken over in %.1f s (TTL %v, slot %v real)",
		run.name(1), len(killedOwned), took.Seconds(), ttl, interval/speed)
	if took > interval/speed {
		t.Errorf("fail-over took %.1f s, more than one slot (%v)", took.Seconds(), interval/speed)
	}
	f.waitSlotEnd(f.slotOf(f.sim.Clock.Sim()).Add(2 * interval))

	// it comes back and gets its share again, without a slot read twice
	f.waitMidSlot()
	run.start(ctx, 1)
	watch.waitShared(channels, run.names(), 30*time.Second)
	f.waitSlotEnd(f.slotOf(f.sim.Clock.Sim()).Add(2 * interval))

	// a NATS server dies and comes back: the stream keeps a quorum
	f.waitMidSlot()
	streams.Kill(1)
	f.waitSlotEnd(f.slotOf(f.sim.Clock.Sim()).Add(interval))
	streams.Restart(1)
	f.waitSlotEnd(f.slotOf(f.sim.Clock.Sim()).Add(interval))
	last := f.slotOf(f.sim.Clock.Sim()).Add(-interval) // the last slot whose reads are done

	c := f.countSlots(first, last)
	t.Logf("slots %s .. %s: %d meters × %d slots; %s", first.Format("15:04"), last.Format("15:04"),
		c.meters, c.slots, c)
	if c.missing > 0 || c.twice > 0 {
		t.Errorf("slots: %s\n%s", c, strings.Join(c.examples, "\n"))
	}

	// every answer of those slots is stored once, once the writers caught up
	s := run.waitStored(ctx, f, first, last.Add(interval), 90*time.Second)
	t.Logf("storage: %s", s)
	if s.lost > 0 || s.doubled > 0 {
		t.Errorf("storage: %s\n%s", s, strings.Join(s.examples, "\n"))
	}

	// every meter's daily freeze became one value in billing's feed, and
	// the feed reached the broker whole
	fc := run.waitFeed(f, sub, 120*time.Second)
	t.Logf("billing: %s (after %.1f s)", fc, fc.waited.Seconds())
	// at least once across a fail-over of the publisher: the batch in
	// flight when it died comes again from the taker, no more
	if fc.missing > 0 || fc.twice > 0 || fc.unpublished > 0 || fc.values == 0 || fc.repeats > publishBatch {
		t.Errorf("billing: %s\n%s", fc, strings.Join(fc.examples, "\n"))
	}
}

// ownerWatch reads the cluster's owners from etcd, as headend status
// does, through one client.
type ownerWatch struct {
	t   testing.TB
	cli *clientv3.Client
}

func newOwnerWatch(t testing.TB, srv *etcdtest.Server) *ownerWatch {
	return &ownerWatch{t: t, cli: srv.Client(t)}
}

func (w *ownerWatch) owners() map[string]string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := cluster.ReadStatus(ctx, w.cli, "")
	if err != nil {
		w.t.Fatalf("reading the cluster's status: %v", err)
	}
	return st.Owners
}

// shares is how many channels each node owns.
func (w *ownerWatch) shares() map[string]int {
	out := map[string]int{}
	for _, n := range w.owners() {
		out[n]++
	}
	return out
}

func (w *ownerWatch) ownedBy(node string) []string {
	var out []string
	for it, n := range w.owners() {
		if n == node {
			out = append(out, it)
		}
	}
	slices.Sort(out)
	return out
}

// waitShared waits until every channel has an owner and every node owns
// at least one.
func (w *ownerWatch) waitShared(channels, names []string, within time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(within)
	for {
		own := w.owners()
		byNode := map[string]int{}
		free := 0
		for _, ch := range channels {
			if n, ok := own[cluster.ChannelItem(ch)]; ok {
				byNode[n]++
			} else {
				free++
			}
		}
		ok := free == 0
		for _, n := range names {
			ok = ok && byNode[n] > 0
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("channels not shared among %v within %v: %d free, %v", names, within, free, byNode)
		}
		time.Sleep(50 * time.Millisecond) // polling etcd: what the test waits for is another process's
	}
}

// waitNotOwnedBy waits until every channel is owned, none by node, and
// returns how long that took.
func (w *ownerWatch) waitNotOwnedBy(node string, channels []string, within time.Duration) time.Duration {
	w.t.Helper()
	start := time.Now()
	deadline := start.Add(3 * within)
	for {
		own := w.owners()
		ok := true
		for _, ch := range channels {
			n, has := own[cluster.ChannelItem(ch)]
			ok = ok && has && n != node
		}
		if ok {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s's channels not taken over within %v", node, 3*within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sleepUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		time.Sleep(d) // the simulated field runs on the real clock: a slot passes in real time
	}
}
