package failover

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/cluster"
	"github.com/headend/headend/internal/etcdtest"
	"github.com/headend/headend/internal/influxtest"
	"github.com/headend/headend/internal/natstest"
	"github.com/headend/headend/internal/proctest"
)

const (
	// benchSpeed makes a schedule slot (one simulated minute) 1 s of real
	// time: far shorter than one round of a bus over its 201 meters (six
	// requests each), so that every bus always has its next task waiting
	// (a meter's task of a new slot is coalesced with the one still
	// queued, Bus.Enqueue) and the field is polled as fast as the nodes,
	// the lines and the storage path go. (A first try, one request a
	// meter and a slot of 100 ms, had the scheduler fire 22 coalesced
	// tasks a transaction, and the node took 415 µs of CPU a read.)
	benchSpeed = 60
	// benchWarm is how long the cluster runs, its reads arriving in
	// InfluxDB, before the window: the stream, the writers and the
	// InfluxDB shards in their steady state.
	benchWarm = 10 * time.Second
	// benchWindow is the measured window of real time.
	benchWindow = 20 * time.Second
	// clockTicks is the kernel's USER_HZ, the unit of utime and stime in
	// /proc/<pid>/stat (100 on Linux on amd64 and arm64).
	clockTicks = 100
)

// BenchmarkClusterNodes measures, for a cluster of 1, 2 and 3 `headend
// serve --cluster` nodes on the same parts (one etcd, three nats-servers
// holding the R3 stream, one InfluxDB, the in-process simulator of the
// large scenario's 20 TCP concentrators, 4,020 meters at zero line delay,
// all fresh for each N), how fast the cluster reads and stores, and, for
// N ≥ 2, how long a node's SIGKILL takes to mend:
//
//	go test -run '^$' -bench ClusterNodes -benchtime 1x ./sim/failover/
//
// The load: the default instantaneous plan (schedule.DefaultReading:
// forward and reverse energy blocks, phase voltages and currents, active
// power, power factor: six requests a meter, 18 reads on a 2007 meter)
// every simulated minute, with a simulated minute 1 s real (benchSpeed):
// the slot is far shorter than a round of a bus, so every bus always has
// a task waiting and runs one transaction after the other (gap 1 ms);
// the field is read as fast as it goes, and each read goes the whole
// production path (collector → outbox → Publisher → R3 stream → the
// nodes' Writers → InfluxDB).
//
// Metrics, over a window of benchWindow after benchWarm of warm-up:
//
//   - answered-requests/s: the read requests the simulator answered in
//     the window, per second (transactions; each gives one to five reads);
//   - reads/s: the reads taken in the window (their time in its simulated
//     span) that are in InfluxDB once the writers have caught up (the
//     InfluxQL count of the span, polled every 2 s until it stops
//     growing), per second of the window; /node divides it by N;
//     stored-after-s is how long after the window's end that count
//     stopped growing (to 2 s): the stream's lag behind the field;
//   - stored-reads/s: the growth of all reads in InfluxDB during the
//     window per second (what the writers stored then, a backlog of the
//     warm-up included: every node is a writer of the one durable
//     consumer);
//   - node-cpu-cores: the node processes' CPU (utime+stime of
//     /proc/<pid>/stat) per second of the window, all nodes together and
//     per node; sim-cpu-cores: this process's (the simulator, the counts);
//   - for N ≥ 2, he2 is SIGKILLed after the window: failover-owned-s is
//     the time from the kill until etcd shows every channel owned and
//     none by he2 (the lease's TTL is 3 s, renewed every 0.5 s: the
//     owners' watch polls etcd every 20 ms); failover-polled-s is the time
//     from the kill until every channel he2 owned has had a read answered
//     at the simulator (answers within 250 ms of the kill are he2's last
//     transactions: a survivor cannot claim before the lease lapses).
//
// The machine's cores are shared by everything here (N nodes, three
// NATS servers, etcd, InfluxDB and the simulator): the cluster's
// throughput on one machine cannot grow with N; what the figures show is
// how the load per node and the fail-over go with N.
func BenchmarkClusterNodes(b *testing.B) {
	if raceOn {
		b.Skip("real processes, timed: not under the race detector")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		b.Fatal(err)
	}
	bin := proctest.Build(b, root, filepath.Join(b.TempDir(), "headend"), "./cmd/headend")
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			// one run whatever b.N: it takes a minute (-benchtime 1x)
			fig := benchNodes(b, root, bin, n)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(fig.collected, "reads/s")
			b.ReportMetric(fig.collected/float64(n), "reads/s/node")
			b.ReportMetric(fig.drained.Seconds(), "stored-after-s")
			b.ReportMetric(fig.stored, "stored-reads/s")
			b.ReportMetric(fig.polled, "answered-requests/s")
			b.ReportMetric(fig.nodeCPU, "node-cpu-cores")
			b.ReportMetric(fig.nodeCPU/float64(n), "node-cpu-cores/node")
			b.ReportMetric(fig.simCPU, "sim-cpu-cores")
			if n >= 2 {
				b.ReportMetric(fig.owned.Seconds(), "failover-owned-s")
				b.ReportMetric(fig.polledAgain.Seconds(), "failover-polled-s")
				b.ReportMetric(float64(fig.moved), "channels-moved")
			}
		})
	}
}

// nodeFigures is what one run of benchNodes measured.
type nodeFigures struct {
	stored, polled     float64 // reads/s, requests/s
	collected          float64 // reads/s
	drained            time.Duration
	nodeCPU, simCPU    float64 // cores
	owned, polledAgain time.Duration
	moved              int
}

func benchNodes(b *testing.B, root, bin string, n int) nodeFigures {
	work := b.TempDir()
	if k := os.Getenv("HEADEND_FAILOVER_KEEP"); k != "" {
		work = filepath.Join(k, fmt.Sprintf("nodes=%d", n)) // the logs kept for a look afterwards
		if err := os.MkdirAll(work, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	etcd := etcdtest.Start(b)
	streams := natstest.Start(b, 3)
	influxURL := influxtest.Start(b)
	f := startField(b, root, benchSpeed, 0)
	simHTTP := httptest.NewServer(f.sim.Handler())
	defer simHTTP.Close()

	run := &clusterRun{t: b, n: n, bin: bin, work: work, follow: simHTTP.URL, field: f,
		etcd: etcd.Endpoint, nats: streams.URLs(), influx: influxURL, defaultPlan: true}
	run.writeConfigs()
	run.setupInflux()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch := newOwnerWatch(b, etcd)
	for i := range n {
		run.start(ctx, i)
	}
	defer run.stopAll()
	channels := f.channels()
	watch.waitShared(channels, run.names(), 60*time.Second)
	b.Logf("%d channels shared among %v: %v", len(channels), run.names(), watch.channelShares(channels))

	// the path runs end to end once the first reads are in InfluxDB
	deadline := time.Now().Add(60 * time.Second)
	for storedReads(b, influxURL) == 0 {
		if time.Now().After(deadline) {
			b.Fatalf("no read in InfluxDB within 60 s of the nodes' start")
		}
		time.Sleep(500 * time.Millisecond) // the writers are other processes: poll storage
	}
	<-time.After(benchWarm) // the warm-up: real time is what is measured

	s0 := run.sample(influxURL)
	<-time.After(benchWindow) // the window
	s1 := run.sample(influxURL)
	secs := s1.at.Sub(s0.at).Seconds()
	// the reads taken in the window, once the writers have stored them
	// all: the count of the window's simulated span stops growing
	collected, drained := int64(-1), time.Duration(0)
	for deadline := time.Now().Add(120 * time.Second); ; {
		n := storedBetween(b, influxURL, s0.sim, s1.sim)
		if n == collected {
			drained = time.Since(s1.at) - 2*time.Second // the first of the two equal counts
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the window's reads still arriving in InfluxDB 120 s after it: %d", n)
		}
		collected = n
		time.Sleep(2 * time.Second) // the writers are other processes: poll storage
	}
	answered := 0
	for _, m := range f.sim.Counts() {
		for _, a := range m.Answers {
			if a.At >= s0.at.UnixNano() && a.At < s1.at.UnixNano() {
				answered++
			}
		}
	}
	fig := nodeFigures{
		collected: float64(collected) / secs,
		drained:   max(drained, 0),
		stored:    float64(s1.stored-s0.stored) / secs,
		polled:    float64(answered) / secs,
		nodeCPU:   (s1.nodes - s0.nodes).Seconds() / secs,
		simCPU:    (s1.self - s0.self).Seconds() / secs,
	}
	b.Logf("nodes=%d: window %.1f s: %d requests answered at the simulator (%.0f/s), their %d reads in InfluxDB (%.0f/s) %.1f s after the window; %d reads stored in the window (%.0f/s); nodes' CPU %.2f cores, this process's %.2f; load average %s",
		n, secs, answered, fig.polled, collected, fig.collected, fig.drained.Seconds(), s1.stored-s0.stored, fig.stored, fig.nodeCPU, fig.simCPU, loadAvg())
	if n < 2 {
		return fig
	}

	// he2 dies; its channels must be owned and polled by the others
	victim := run.name(1)
	items := watch.ownedBy(victim)
	byItem := map[string]string{}
	for _, ch := range channels {
		byItem[cluster.ChannelItem(ch)] = ch
	}
	moved := map[string]bool{}
	for _, it := range items {
		if ch, ok := byItem[it]; ok {
			moved[ch] = true
		}
	}
	fig.moved = len(moved)
	killed := time.Now()
	run.kill(1)
	watch.waitNotOwnedBy(victim, channels, 10*time.Second)
	fig.owned = time.Since(killed)
	fig.polledAgain = f.waitPolledAfter(moved, killed.Add(250*time.Millisecond), 30*time.Second).Sub(killed)
	b.Logf("SIGKILL of %s (%d channels): owned by the others after %.2f s, all polled again after %.2f s (TTL %v); channels now %v",
		victim, fig.moved, fig.owned.Seconds(), fig.polledAgain.Seconds(), ttl, watch.channelShares(channels))
	return fig
}

// channelShares is how many of channels each node owns.
func (w *ownerWatch) channelShares(channels []string) map[string]int {
	own := w.owners()
	out := map[string]int{}
	for _, ch := range channels {
		out[own[cluster.ChannelItem(ch)]]++
	}
	return out
}

// waitPolledAfter waits until every one of channels has had a read
// answered after from, and returns when the last of them had its first.
func (f *field) waitPolledAfter(channels map[string]bool, from time.Time, within time.Duration) time.Time {
	f.t.Helper()
	chanOf := map[string]string{}
	for _, e := range f.sim.Endpoints {
		if channels[e.Concentrator] {
			for _, m := range e.Meters {
				chanOf[m] = e.Concentrator
			}
		}
	}
	deadline := time.Now().Add(within)
	for {
		first := map[string]int64{}
		for _, m := range f.sim.Counts() {
			ch, ok := chanOf[m.Meter]
			if !ok {
				continue
			}
			for _, a := range m.Answers {
				if a.At > from.UnixNano() && (first[ch] == 0 || a.At < first[ch]) {
					first[ch] = a.At
				}
			}
		}
		if len(first) == len(channels) {
			var last int64
			for _, at := range first {
				last = max(last, at)
			}
			return time.Unix(0, last)
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%d of %d channels polled again within %v of the kill", len(first), len(channels), within)
		}
		time.Sleep(time.Second) // the nodes are other processes; the answers carry their own times
	}
}

// benchSample is the counters at one moment.
type benchSample struct {
	at, sim time.Time     // real, and the field's simulated time
	stored  int64         // reads in InfluxDB
	nodes   time.Duration // CPU of the node processes
	self    time.Duration // CPU of this process
}

func (r *clusterRun) sample(influxURL string) benchSample {
	r.t.Helper()
	s := benchSample{at: time.Now(), sim: r.field.sim.Clock.Sim(), self: cpuOf(r.t, "self")}
	for _, p := range r.procs {
		if p != nil {
			s.nodes += cpuOf(r.t, strconv.Itoa(p.Pid()))
		}
	}
	s.stored = storedReads(r.t, influxURL)
	return s
}

// cpuOf is the user and system CPU of process pid ("self" for this one)
// so far, from /proc/<pid>/stat.
func cpuOf(t testing.TB, pid string) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		t.Fatalf("CPU of process %s: %v", pid, err)
	}
	// the fields after the command's ")": state is the 3rd field of
	// the line, utime and stime the 14th and 15th
	i := bytes.LastIndexByte(b, ')')
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 13 {
		t.Fatalf("/proc/%s/stat: %q", pid, b)
	}
	ut, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("/proc/%s/stat: %q", pid, b)
	}
	return time.Duration(ut+st) * time.Second / clockTicks
}

// storedReads counts the points of measurement reads in InfluxDB (the
// instantaneous reads are in retention policy raw) with InfluxQL.
func storedReads(t testing.TB, influxURL string) int64 {
	return influxCount(t, influxURL, `SELECT count("rec") FROM "headend"."raw"."reads"`)
}

// storedBetween counts the reads of [from, to) (their time: when the
// node read them, on the field's clock).
func storedBetween(t testing.TB, influxURL string, from, to time.Time) int64 {
	return influxCount(t, influxURL, fmt.Sprintf(`SELECT count("rec") FROM "headend"."raw"."reads" WHERE time >= %d AND time < %d`,
		from.UnixNano(), to.UnixNano()))
}

// loadAvg is the machine's load average (1, 5, 15 minutes).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func influxCount(t testing.TB, influxURL, query string) int64 {
	t.Helper()
	q := url.Values{"db": {"headend"}, "q": {query}}
	resp, err := http.Get(influxURL + "/query?" + q.Encode())
	if err != nil {
		t.Fatalf("influx count: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Results []struct {
			Series []struct {
				Values [][]any `json:"values"`
			} `json:"series"`
			Err string `json:"error"`
		} `json:"results"`
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("influx count: %s: %v", resp.Status, err)
	}
	var n int64
	for _, r := range out.Results {
		if r.Err != "" {
			t.Fatalf("influx count: %s", r.Err)
		}
		for _, s := range r.Series {
			for _, v := range s.Values {
				if len(v) > 1 {
					num, _ := v[1].(json.Number)
					c, err := num.Int64()
					if err != nil {
						t.Fatalf("influx count: %q: %v", v[1], err)
					}
					n += c
				}
			}
		}
	}
	return n
}
