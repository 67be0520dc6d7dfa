package failover

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/headend/headend/internal/proctest"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/sim/meterbus"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/influx"
)

// tokAdmin is the nodes' API token.
const tokAdmin = "failover-admin-0123456789"

// clusterRun is the head-end processes and what they share.
type clusterRun struct {
	t                     testing.TB
	n                     int // nodes
	bin, work, follow     string
	field                 *field
	etcd, influx          string
	nats                  []string
	configs, https, datas []string
	gdws                  []string // the nodes' 376.1 listeners, behind the field's front
	results, broker       string   // billing's PostgreSQL and MQTT broker (billingSection); none: ""
	procs                 []*proctest.Proc
	defaultPlan           bool // the default reading plan, not one identifier a meter (planSection)
}

func (r *clusterRun) name(i int) string { return fmt.Sprintf("he%d", i+1) }

func (r *clusterRun) names() []string {
	var out []string
	for i := range r.n {
		out = append(out, r.name(i))
	}
	return out
}

// archive is the configuration's archive section: the field's areas,
// channels and meters.
func (r *clusterRun) archive() string {
	var b strings.Builder
	b.WriteString("archive:\n  areas:\n")
	seen := map[string]bool{}
	for _, e := range r.field.sim.Endpoints {
		if !seen[e.Area] {
			seen[e.Area] = true
			fmt.Fprintf(&b, "    - {id: %s, name: %s}\n", e.Area, e.Area)
		}
	}
	b.WriteString("  channels:\n")
	for _, e := range r.field.sim.Endpoints {
		if e.Kind == "gdw3761" { // AFN 10 forwarding, one meter a transaction
			fmt.Fprintf(&b, "    - {id: %s, kind: gdw3761, terminal: %q, mode: forward, timeout: 1s, gap: 1ms, retries: 1}\n", e.Concentrator, e.Terminal)
			continue
		}
		fmt.Fprintf(&b, "    - {id: %s, kind: tcp, address: %q, timeout: 500ms, gap: 1ms, retries: 1}\n", e.Concentrator, e.Address)
	}
	b.WriteString("  meters:\n")
	for _, e := range r.field.sim.Endpoints {
		for _, addr := range e.Meters {
			fmt.Fprintf(&b, "    - {address: %q, edition: %q, channel: %s, area: %s, ct: 1, pt: 1}\n",
				addr, fmt.Sprint(r.field.sim.Fleet.Meter(addr).Edition), e.Concentrator, e.Area)
		}
	}
	return b.String()
}

// writeConfigs writes each node's configuration: its own data dir and
// HTTP port; the same etcd, NATS servers, InfluxDB and archive.
func (r *clusterRun) writeConfigs() {
	arch := r.archive()
	for i := range r.n {
		dir := filepath.Join(r.work, r.name(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			r.t.Fatal(err)
		}
		ports := proctest.FreePorts(r.t, 2)
		http, gdw := ports[0], ports[1]
		cfg := fmt.Sprintf(`collector:
  data_dir: %[1]s/data
  gdw3761_listen: %[11]s
  instantaneous: {enabled: true, spec: every 1m, jitter: 0s}
  interval: {enabled: false}
  daily: {enabled: false}
  monthly: {enabled: false}
  clock: {enabled: false}
  backfill_days: 0
%[10]sstore:
  kind: influxdb
  path: %[1]s/store
  url: %[2]s
  org: "-"
  token: "headend:secret"
  bucket: headend/registers
  bucket_raw: headend/raw
  bucket_aggregates: headend/aggregates
  retention: {raw: 0, registers: 0, aggregates: 0} # the field's 2025 is older than 30 days
http:
  listen: %[3]s
  tokens: [{name: admin, roles: [admin], token: %[4]s}]
cluster:
  etcd: [%[5]q]
  node: %[6]s
  ttl: %[7]s
  margin: 1500ms
%[8]s%[9]s`, dir, r.influx, http, tokAdmin, r.etcd, r.name(i), ttl, r.natsSection(), arch, r.planSection(), gdw)
		if r.results != "" {
			cfg = strings.Replace(cfg, "  daily: {enabled: false}\n", "  daily: {enabled: true, spec: \"daily "+dailyAt+"\", jitter: 0s}\n", 1)
			cfg += r.billingSection()
		}
		path := filepath.Join(dir, "headend.yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			r.t.Fatal(err)
		}
		r.configs = append(r.configs, path)
		r.https = append(r.https, http)
		r.gdws = append(r.gdws, gdw)
		r.procs = append(r.procs, nil)
	}
}

// planSection is the collector's plan: forward active energy alone
// (one request a meter and slot, what the test counts), or with
// defaultPlan the project's default plan (schedule.DefaultReading: six
// identifiers a meter).
func (r *clusterRun) planSection() string {
	if r.defaultPlan {
		return ""
	}
	daily := ""
	if r.results != "" {
		daily = `    daily:
      "2007": ["05060101"]
      "1997": ["901F"]
`
	}
	return `  plan:
    instantaneous:
      "2007": ["00010000"]
      "1997": ["9010"]
` + daily
}

// natsSection is the cluster's nats part: every node publishes its reads
// to the stream and runs a storage writer.
func (r *clusterRun) natsSection() string {
	if !useNATS {
		return ""
	}
	return fmt.Sprintf("  nats: {urls: [%s], writer: true, replicas: 3}\n", strings.Join(r.nats, ", "))
}

// setupInflux makes the database and its retention policies.
func (r *clusterRun) setupInflux() {
	out, err := exec.Command(r.bin, "storage", "influx-setup", "--config", r.configs[0]).CombinedOutput()
	if err != nil {
		r.t.Fatalf("headend storage influx-setup: %v\n%s", err, out)
	}
}

// start starts node i and waits until its HTTP server answers.
func (r *clusterRun) start(ctx context.Context, i int) {
	r.t.Helper()
	r.procs[i] = proctest.Start(r.t, r.work, r.name(i), proctest.Options{Context: ctx, DieWithTest: true}, r.bin,
		"serve", "--cluster", "--config", r.configs[i], "--follow", r.follow)
	proctest.WaitHTTP(r.t, "http://"+r.https[i]+"/healthz", 60*time.Second, r.procs[i])
}

// kill ends node i with SIGKILL: no leave, nothing flushed.
func (r *clusterRun) kill(i int) {
	r.procs[i].Stop(r.t, syscall.SIGKILL)
	r.procs[i] = nil
}

func (r *clusterRun) stopAll() {
	for i, p := range r.procs {
		if p != nil {
			p.Stop(r.t, syscall.SIGTERM)
			r.procs[i] = nil
		}
	}
}

// storeCount is how the answers of the slots checked are in storage.
type storeCount struct {
	answers, reads  int
	lost, doubled   int
	examples        []string
	waited          time.Duration
	stored, unasked int
}

func (s storeCount) String() string {
	return fmt.Sprintf("%d answers, %d reads stored from them; %d answers not stored, %d stored under two keys (after %.1f s)",
		s.answers, s.reads, s.lost, s.doubled, s.waited.Seconds())
}

// waitStored queries InfluxDB until every answer of [from, to) is stored
// (the writers drain the stream behind the nodes) or within passes, and
// counts.
func (r *clusterRun) waitStored(ctx context.Context, f *field, from, to time.Time, within time.Duration) storeCount {
	r.t.Helper()
	st, err := influx.Open(ctx, influx.Options{URL: r.influx, Org: "-",
		Buckets: influx.Buckets{Raw: "headend/raw", Registers: "headend/registers", Aggregates: "headend/aggregates"}})
	if err != nil {
		r.t.Fatalf("influx: %v", err)
	}
	defer st.Close()
	start := time.Now()
	for {
		reads, err := st.Query(ctx, store.Query{Class: meter.Instantaneous, From: from, To: to.Add(interval)})
		if err != nil {
			r.t.Fatalf("influx query: %v", err)
		}
		c := account(f, reads, from, to)
		c.waited = time.Since(start)
		if c.lost == 0 || time.Since(start) > within {
			return c
		}
		time.Sleep(2 * time.Second) // the writers are other processes: poll storage
	}
}

// account matches each answer the simulator gave in [from, to) to the
// reads stored from its reply (by meter and the reply's hash).
func account(f *field, reads []meter.Read, from, to time.Time) storeCount {
	type mh struct{ meter, hash string }
	keysOf := map[mh]map[store.Key]bool{}
	for i := range reads {
		rd := &reads[i]
		for _, fr := range rd.Frame.Reply {
			k := mh{rd.Meter, fmt.Sprintf("%016x", meterbus.ReplyHash(fr))}
			if keysOf[k] == nil {
				keysOf[k] = map[store.Key]bool{}
			}
			keysOf[k][store.KeyOf(rd)] = true
		}
	}
	var c storeCount
	note := func(format string, args ...any) {
		if len(c.examples) < 20 {
			c.examples = append(c.examples, fmt.Sprintf(format, args...))
		}
	}
	// the answers of each reply (a meter that used nothing answers the
	// same bytes again: in the next slot, or at once when its line lagged
	// into the next slot)
	answered := map[mh][]time.Time{}
	for _, m := range f.sim.Counts() {
		for _, a := range m.Answers {
			if dailyDIs[a.DI] {
				continue // stored at the freeze's time: the billing feed accounts for them
			}
			at, _ := time.Parse(time.RFC3339Nano, a.Sim)
			if at.Before(from) || !at.Before(to) {
				continue
			}
			c.answers++
			k := mh{m.Meter, a.Hash}
			answered[k] = append(answered[k], at)
		}
	}
	near := func(t time.Time, ats []time.Time) bool {
		for _, at := range ats {
			if d := t.Sub(at); d > -time.Second && d < time.Second {
				return true
			}
		}
		return false
	}
	for k, ats := range answered {
		keys := keysOf[k]
		// one reply gives one read per quantity of its identifier, at the
		// time it came (milliseconds after the simulator's answer): each
		// answer must have a stored time near it, and the reply no more
		// stored times near its answers than it has answers
		times := map[time.Time]bool{}
		for sk := range keys {
			if near(sk.Time, ats) {
				times[sk.Time] = true
				c.reads++
			}
		}
		for _, at := range ats {
			found := false
			for tm := range times {
				found = found || near(tm, []time.Time{at})
			}
			if !found {
				c.lost++
				note("meter %s answered at %s: not stored (the same reply stored at %v)", k.meter, at.Format(time.RFC3339Nano), keys)
			}
		}
		if extra := len(times) - len(ats); extra > 0 {
			c.doubled += extra
			note("meter %s: %d answers %v stored at %d times: %v", k.meter, len(ats), ats, len(times), keys)
		}
	}
	return c
}

// useNATS sends the reads through JetStream (cluster.nats).
var useNATS = true
