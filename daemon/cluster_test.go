package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/daemon/daemontest"
	"github.com/headend/headend/internal/etcdtest"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/sim/scenario"
	"github.com/headend/headend/sim/simulator"
)

// clusterTTL is the nodes' lease: how long a dead node's channels wait.
// Their margin is half of it: a node cut off from etcd stops polling
// 1.5 s after its last renewal, which leaves the closing of its channels
// (under the race detector, on a loaded machine) time before the lease
// could lapse.
const clusterTTL = 3 * time.Second

// clusterField is a simulated field of six concentrators on TCP, one
// channel each.
func clusterField(t *testing.T) *simulator.Simulator {
	t.Helper()
	sc := clusterScenario(t)
	noSleep := func(context.Context, time.Duration) error { return nil }
	sim, err := simulator.Start(context.Background(), sc, simulator.Options{Tick: -1, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	sim.Fleet.AdvanceTo(sim.Fleet.Start().Add(2 * time.Hour))
	sim.Step()
	return sim
}

// clusterScenario is clusterField's scenario: six areas A1..A6 of an
// area meter and two customers, from 2025-05-01 00:00 +08:00.
func clusterScenario(t *testing.T) *scenario.Scenario {
	t.Helper()
	var areas strings.Builder
	for i := 1; i <= 6; i++ {
		fmt.Fprintf(&areas, `
  - id: A%d
    name: A%d
    feeder: F1
    voltage_level: 10kV/0.4kV
    ct_ratio: 20
    tech_loss_pct: 4
    address_prefix: "00002%d"
    customers: {residential: 2}
    concentrator: {id: C%d, access: {kind: tcp-listen, listen: "127.0.0.1:0"}}`, i, i, i, i)
	}
	sc, err := scenario.Parse("cluster.yaml", []byte("name: cluster\nseed: 3\nstart: 2025-05-01T00:00:00+08:00\nspeed: 1\nareas:"+areas.String()+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// clusterNode is one head-end of the cluster, run in this process.
type clusterNode struct {
	t      *testing.T
	name   string
	http   string
	logs   *daemontest.LogSignal
	cancel context.CancelFunc
	done   chan error
}

// startClusterNode runs serve --cluster as node name on the field's
// channels, reading every meter every simulated minute (a second here).
func startClusterNode(t *testing.T, name, etcd string, sim *simulator.Simulator, crash bool) *clusterNode {
	t.Helper()
	return startClusterNodeWith(t, name, etcd, sim, crash, nil)
}

// startClusterNodeWith is startClusterNode; prepare, if set, is given
// the node's configuration before it starts.
func startClusterNodeWith(t *testing.T, name, etcd string, sim *simulator.Simulator, crash bool, prepare func(*config.Config)) *clusterNode {
	t.Helper()
	n, _ := startNode(t, name, etcd, sim, nodeSpec{crash: crash, prepare: prepare})
	return n
}

// startClusterNodeOn is startClusterNodeWith with listen, lines added to
// the collector section (the dial-in listeners).
func startClusterNodeOn(t *testing.T, name, etcd string, sim *simulator.Simulator, crash bool, listen string, prepare func(*config.Config)) *clusterNode {
	t.Helper()
	n, _ := startNode(t, name, etcd, sim, nodeSpec{crash: crash, collector: listen, prepare: prepare})
	return n
}

// nodeSpec is what a test's node has beyond the configuration every
// node of these tests shares.
type nodeSpec struct {
	crash     bool                 // stop without leaving the cluster, as a crash
	collector string               // lines added to the collector section
	top       string               // top-level lines (a store section)
	cluster   string               // keys added to the cluster section
	prepare   func(*config.Config) // given the configuration before the node starts
	accepted  func([]meter.Read)   // told of the reads its outbox takes
}

// startNode runs serve --cluster as node name on the field's channels,
// reading every meter every simulated minute (a second here); it returns
// the node and its directory.
func startNode(t *testing.T, name, etcd string, sim *simulator.Simulator, spec nodeSpec) (*clusterNode, string) {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	if spec.cluster != "" {
		spec.cluster = ", " + spec.cluster
	}
	fmt.Fprintf(&b, `collector:
  data_dir: %s/data
  instantaneous: {enabled: true, spec: every 1m, jitter: 0s}
  interval: {enabled: false}
  daily: {enabled: false}
  monthly: {enabled: false}
  clock: {enabled: false}
%s%shttp:
  listen: 127.0.0.1:0
  tokens: [{name: admin, roles: [admin], token: %s}]
cluster: {etcd: [%q], node: %s, ttl: %s, margin: 1500ms%s}
archive:
  areas:
`, dir, spec.collector, spec.top, tokAdmin, etcd, name, clusterTTL, spec.cluster)
	for _, a := range sim.Fleet.Areas() {
		fmt.Fprintf(&b, "    - {id: %s, name: %s}\n", a.ID, a.ID)
	}
	b.WriteString("  channels:\n")
	for _, e := range sim.Endpoints {
		switch e.Kind {
		case "gdw3761":
			fmt.Fprintf(&b, "    - {id: %s, kind: gdw3761, terminal: %q, timeout: 1s, gap: 0s, retries: 0}\n", e.Concentrator, e.Terminal)
		case "tcp-dialin":
			fmt.Fprintf(&b, "    - {id: %s, kind: dialin, dialin_id: %s, timeout: 1s, gap: 0s, retries: 0}\n", e.Concentrator, e.Concentrator)
		default:
			fmt.Fprintf(&b, "    - {id: %s, kind: tcp, address: %q, timeout: 300ms, gap: 0s, retries: 0}\n", e.Concentrator, e.Address)
		}
	}
	b.WriteString("  meters:\n")
	for _, e := range sim.Endpoints {
		for _, addr := range e.Meters {
			fmt.Fprintf(&b, "    - {address: %q, edition: %q, channel: %s, area: %s, ct: 1, pt: 1}\n",
				addr, fmt.Sprint(sim.Fleet.Meter(addr).Edition), e.Concentrator, e.Area)
		}
	}
	path := filepath.Join(dir, "headend.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, b.String())
	}
	if spec.prepare != nil {
		spec.prepare(cfg)
	}
	n := &clusterNode{t: t, name: name, logs: daemontest.NewLogSignal("collector running", "msg=http "), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	// a simulated minute a second: the instantaneous reads come every second
	clk := schedule.ScaledClock{Start: sim.Fleet.Start().Add(2 * time.Hour), RealStart: time.Now(), Speed: 60}
	go func() {
		n.done <- Run(ctx, cfg, Options{Log: n.logs, Clock: clk, Cluster: true, crash: spec.crash, accepted: spec.accepted, Signals: make(chan os.Signal)})
	}()
	t.Cleanup(func() {
		n.stop()
		if t.Failed() {
			t.Logf("%s's log:\n%s", name, n.logs.String())
		}
	})
	n.logs.Wait(t, "collector running")
	n.logs.Wait(t, "msg=http ")
	m := regexp.MustCompile(`msg=http address=(\S+)`).FindStringSubmatch(n.logs.String())
	if m == nil {
		t.Fatalf("%s: no http address:\n%s", name, n.logs.String())
	}
	n.http = "http://" + m[1]
	return n, dir
}

// stop stops the node (idempotent) and checks Run returned nil.
func (n *clusterNode) stop() {
	n.cancel()
	select {
	case err, ok := <-n.done:
		if ok && err != nil {
			n.t.Errorf("%s: Run: %v", n.name, err)
		}
		if ok {
			close(n.done)
		}
	case <-time.After(20 * time.Second):
		n.t.Errorf("%s: Run did not stop", n.name)
	}
}

// nodeStatus is what the test reads of GET /status.
type nodeStatus struct {
	Channels []struct {
		ID  string `json:"id"`
		Bus struct {
			Transactions int64 `json:"transactions"`
			Failed       int64 `json:"failed"`
		} `json:"bus"`
	} `json:"channels"`
	Cluster *struct {
		Node    string                  `json:"node"`
		Owned   []string                `json:"owned"`
		Dialled []string                `json:"dialled"`
		Members []struct{ Node string } `json:"members"`
		Self    *struct {
			Fenced   bool      `json:"fenced"`
			Deadline time.Time `json:"deadline"`
		} `json:"self"`
	} `json:"cluster"`
}

func (n *clusterNode) status() nodeStatus {
	n.t.Helper()
	req, _ := http.NewRequest("GET", n.http+"/status", nil)
	req.Header.Set("Authorization", "Bearer "+tokAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s: /status: %v", n.name, err)
	}
	defer resp.Body.Close()
	var st nodeStatus
	if resp.StatusCode != http.StatusOK {
		n.t.Fatalf("%s: /status: %s", n.name, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		n.t.Fatalf("%s: /status: %v", n.name, err)
	}
	if st.Cluster == nil || st.Cluster.Node != n.name {
		n.t.Fatalf("%s: /status has no cluster part of this node: %+v", n.name, st.Cluster)
	}
	return st
}

// polled are the channels the node's collector has open, and how many
// transactions each got through.
func (st nodeStatus) polled() map[string]int64 {
	out := map[string]int64{}
	for _, ch := range st.Channels {
		out[ch.ID] = ch.Bus.Transactions - ch.Bus.Failed
	}
	return out
}

// owned are the channels the node owns in the cluster.
func (st nodeStatus) owned() []string {
	var out []string
	for _, it := range st.Cluster.Owned {
		if ch, ok := strings.CutPrefix(it, "channel:"); ok {
			out = append(out, ch)
		}
	}
	sort.Strings(out)
	return out
}

// eventually polls cond (real I/O of three processes' worth of servers)
// until it holds or within passes; it returns how long it took.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		ok, why := cond()
		if ok {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v: %s", what, within, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitShared waits until every channel is owned by a or b, both own
// some, and each polls what it owns and has read from each.
func waitShared(t *testing.T, all []string, a, b *clusterNode) (sa, sb nodeStatus) {
	t.Helper()
	eventually(t, 20*time.Second, "channels shared out", func() (bool, string) {
		sa, sb = a.status(), b.status()
		oa, ob := sa.owned(), sb.owned()
		union := slices.Sorted(slices.Values(append(slices.Clone(oa), ob...)))
		why := fmt.Sprintf("a owns %v polls %v, b owns %v polls %v", oa, sa.polled(), ob, sb.polled())
		if len(oa) == 0 || len(ob) == 0 || !slices.Equal(union, all) {
			return false, why
		}
		for _, n := range []nodeStatus{sa, sb} {
			p := n.polled()
			if !slices.Equal(slices.Sorted(maps.Keys(p)), n.owned()) {
				return false, why // polled, not owned, or the reverse
			}
			for _, ch := range n.owned() {
				if p[ch] == 0 {
					return false, why // not read yet
				}
			}
		}
		return true, why
	})
	return sa, sb
}

// TestClusterSharesAndTakesOverChannels runs two head-ends against one
// etcd on one simulated field: each channel is polled by exactly one
// node, both poll some, reads come from every channel; when one node
// stops as a crash would (no Leave), the other owns and polls all the
// channels within the lease TTL and a margin.
func TestClusterSharesAndTakesOverChannels(t *testing.T) {
	etcd := etcdtest.Start(t)
	sim := clusterField(t)
	var all []string
	for _, e := range sim.Endpoints {
		all = append(all, e.Concentrator)
	}
	sort.Strings(all)

	a := startClusterNode(t, "node-a", etcd.Endpoint, sim, true)
	b := startClusterNode(t, "node-b", etcd.Endpoint, sim, false)

	// shared out: a claimed everything alone, then handed b its share
	sa, sb := waitShared(t, all, a, b)
	t.Logf("a owns %v, b owns %v", sa.owned(), sb.owned())
	if len(sa.Cluster.Members) != 2 || sa.Cluster.Self == nil || sa.Cluster.Self.Fenced {
		t.Errorf("a's cluster status: %+v", sa.Cluster)
	}
	dead := sa.owned()

	// a dies: its lease lapses a TTL later, and b takes its channels
	a.stop()
	before := b.status().polled()
	took := eventually(t, clusterTTL+5*time.Second, "b owns every channel", func() (bool, string) {
		st := b.status()
		return slices.Equal(st.owned(), all) && slices.Equal(slices.Sorted(maps.Keys(st.polled())), all),
			fmt.Sprintf("b owns %v polls %v", st.owned(), st.polled())
	})
	t.Logf("b took a's channels %v in %v (ttl %v)", dead, took, clusterTTL)
	eventually(t, 10*time.Second, "reads from a's channels on b", func() (bool, string) {
		p := b.status().polled()
		for _, ch := range dead {
			if p[ch] == 0 {
				return false, fmt.Sprintf("b polls %v", p)
			}
		}
		for ch, n := range before {
			if p[ch] <= n {
				return false, fmt.Sprintf("b's own channel %s stalled: %v", ch, p)
			}
		}
		return true, ""
	})
	if st := b.status(); len(st.Cluster.Members) != 1 || st.Cluster.Members[0].Node != "node-b" {
		t.Errorf("members after a's lease lapsed: %+v", st.Cluster.Members)
	}

	// a comes back and gets its share from b; b stops cleanly (a rolling
	// restart): it leaves, and a owns everything at once, well before b's
	// lease could lapse
	a = startClusterNode(t, "node-a", etcd.Endpoint, sim, false)
	if sa, _ := waitShared(t, all, a, b); !slices.Equal(sa.owned(), dead) {
		t.Errorf("a came back to %v, had %v", sa.owned(), dead)
	}
	b.stop()
	if !strings.Contains(b.logs.String(), `msg="cluster: left"`) {
		t.Errorf("b did not leave:\n%s", b.logs.String())
	}
	took = eventually(t, clusterTTL, "a owns every channel after b left", func() (bool, string) {
		st := a.status()
		return slices.Equal(st.owned(), all) && slices.Equal(slices.Sorted(maps.Keys(st.polled())), all),
			fmt.Sprintf("a owns %v polls %v", st.owned(), st.polled())
	})
	// b's lease, renewed every ttl/6 until it stopped, could not lapse
	// sooner than ttl − ttl/6 after
	if took >= clusterTTL-clusterTTL/6 {
		t.Errorf("a took b's channels %v after b left: a lapsed lease's time, not a handover", took)
	}
	t.Logf("a took b's channels in %v after b left", took)
}

// TestClusterFenceStopsPolling: when etcd stops answering, each node's
// fence falls before its lease could lapse and its collector polls
// nothing; when etcd is back, the channels are shared out again.
func TestClusterFenceStopsPolling(t *testing.T) {
	etcd := etcdtest.Start(t)
	sim := clusterField(t)
	var all []string
	for _, e := range sim.Endpoints {
		all = append(all, e.Concentrator)
	}
	sort.Strings(all)
	a := startClusterNode(t, "node-a", etcd.Endpoint, sim, false)
	b := startClusterNode(t, "node-b", etcd.Endpoint, sim, false)
	waitShared(t, all, a, b)

	etcd.Pause()
	pausedAt := time.Now()
	paused := true
	defer func() {
		if paused {
			etcd.Resume()
		}
	}()
	// /status waits for etcd up to 2 s: the nodes' logs tell when each
	// collector closed its last channel
	for _, n := range []*clusterNode{a, b} {
		var at time.Time
		eventually(t, clusterTTL+5*time.Second, n.name+" fenced", func() (bool, string) {
			at = lastDrop(t, n.logs.String(), pausedAt)
			return !at.IsZero(), "no channel ownership line with polled=0"
		})
		if st := n.status(); len(st.polled()) != 0 || len(st.owned()) != 0 {
			t.Errorf("%s fenced owns %v polls %v", n.name, st.owned(), st.polled())
		}
		// the fence falls ttl − margin after the last renewal, which was
		// before the pause
		if d := at.Sub(pausedAt); d > clusterTTL {
			t.Errorf("%s stopped polling %v after etcd stopped answering: later than its lease could lapse", n.name, d)
		} else {
			t.Logf("%s stopped polling %v after etcd stopped answering (ttl %v)", n.name, d.Round(time.Millisecond), clusterTTL)
		}
	}
	etcd.Resume()
	paused = false
	waitShared(t, all, a, b)
}

// lastDrop is the time of the first log line after since in which the
// collector closed its last channel.
func lastDrop(t *testing.T, log string, since time.Time) time.Time {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, `msg="channel ownership"`) || !strings.Contains(line, " polled=0") {
			continue
		}
		f := strings.Fields(line)
		at, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(f[0], "time="))
		if err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if at.After(since) {
			return at
		}
	}
	return time.Time{}
}
