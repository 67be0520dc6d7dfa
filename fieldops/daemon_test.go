package fieldops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/collector"
	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/simulator"
)

// testClock moves only when the test sets it.
type testClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []struct {
		at time.Time
		ch chan time.Time
	}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, struct {
		at time.Time
		ch chan time.Time
	}{c.now.Add(d), ch})
	return ch
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(t) {
			w.ch <- t
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}

const phantom = "000031000009" // in the archive, not on the line

// daemonConfig writes the archive of the simulator's field, without
// farDrift (a meter found in the field but not in the archive) and with
// phantom (one in the archive that is not in the field).
func daemonConfig(t *testing.T, sim *simulator.Simulator) *config.Config {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, `collector:
  data_dir: %s
  zone: "+08:00"
  instantaneous: {enabled: true, spec: every 15m, jitter: 0s}
  interval: {enabled: false}
  daily: {enabled: false}
  monthly: {enabled: false}
  clock: {enabled: false}
http: {listen: ""}
archive:
  areas:
    - {id: PTY, name: Pty area, feeder: F1, voltage_level: 10kV/0.4kV}
    - {id: TCP, name: Tcp area, feeder: F1, voltage_level: 10kV/0.4kV}
  concentrators:
    - {id: CPTY, area: PTY, channels: [CPTY-1]}
    - {id: CTCP, area: TCP, channels: [CTCP-1]}
  channels:
`, dir)
	pty, _ := sim.Endpoint("CPTY")
	tcp, _ := sim.Endpoint("CTCP")
	fmt.Fprintf(&b, "    - {id: CPTY-1, kind: serial, device: %q, timeout: 150ms, gap: 1ms, retries: 0}\n", pty.Address)
	fmt.Fprintf(&b, "    - {id: CTCP-1, kind: tcp, address: %q, timeout: 300ms, gap: 1ms, retries: 0}\n", tcp.Address)
	b.WriteString("  meters:\n")
	for _, ep := range []simulator.Endpoint{pty, tcp} {
		for _, addr := range ep.Meters {
			if addr == farDrift {
				continue
			}
			m := sim.Fleet.Meter(addr)
			role := "customer"
			if m.Role == model.RoleArea {
				role = "area"
			}
			fmt.Fprintf(&b, "    - {address: %q, edition: \"%d\", channel: %s-1, area: %s, role: %s, ct: %d, pt: 1}\n", addr, m.Edition, ep.Concentrator, ep.Area, role, m.CT)
		}
	}
	fmt.Fprintf(&b, "    - {address: %q, channel: CPTY-1, area: PTY, ct: 1, pt: 1}\n", phantom)
	path := filepath.Join(dir, "headend.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return cfg
}

// until waits for cond, failing after a while (a guard, not a timing).
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

func busStats(c *collector.Collector, id string) collector.ChannelStatus {
	for _, ch := range c.Status().Channels {
		if ch.ID == id {
			return ch
		}
	}
	return collector.ChannelStatus{}
}

func TestDaemonTakesTurnsWithPolling(t *testing.T) {
	sim := startSim(t)
	start := sim.Fleet.Start()
	at(sim, 2*time.Hour)
	cfg := daemonConfig(t, sim)
	clock := &testClock{now: start.Add(time.Hour + 59*time.Minute)}
	batches := make(chan []meter.Read, 64)
	c, err := collector.New(cfg, collector.Options{Clock: clock, Sink: func(rs []meter.Read) {
		if len(rs) == 0 {
			t.Error("the sink got an empty batch")
		}
		batches <- rs
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	until(t, "the channels to open", func() bool { return len(c.Status().Channels) == 2 })

	var audit auditLog
	var mu sync.Mutex
	d := &Daemon{Collector: func() *collector.Collector { return c },
		Options: Options{Now: sim.Fleet.Now, Location: sim.Fleet.Zone(), Audit: func(ctx context.Context, a, tg string, dt map[string]any) {
			mu.Lock()
			defer mu.Unlock()
			audit.hook(ctx, a, tg, dt)
		}}}

	// hold the serial bus while every meter's instantaneous read falls
	// due: nothing else goes on the line until the work is done
	err = c.Do(ctx, meterA, func(ctx context.Context, m *master.Master, ed dlt645.Edition) error {
		before := busStats(c, "CPTY-1")
		clock.Set(start.Add(2 * time.Hour))
		until(t, "the scheduled reads to queue", func() bool { return busStats(c, "CPTY-1").Bus.Queued >= 5 })
		addr := dlt645.MustParseAddress(meterA)
		for range 3 {
			req, _ := ed.ReadRequest(addr, 0x00010000)
			if _, err := m.ReadData(ctx, ed, req, nil); err != nil {
				return err
			}
		}
		after := busStats(c, "CPTY-1")
		if after.Bus.Transactions != before.Bus.Transactions || after.Stray != before.Stray {
			t.Errorf("the bus went on during on-demand work: %+v -> %+v", before.Bus, after.Bus)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// then polling resumes: every meter of the archive is tried
	seen := map[string]bool{}
	for len(seen) < len(cfg.Archive.Meters) {
		rs := <-batches
		seen[rs[0].Meter] = true
	}

	// the field operations through the daemon
	r := must[*Reading](t)(d.ReadMeter(ctx, meterA, []string{"forward active energy total"}))
	if r.Area != "PTY" || r.Channel != "CPTY-1" || r.Values[0].Value != modelForward(sim, meterA) {
		t.Errorf("read %+v", r)
	}
	if _, err := d.ReadMeter(ctx, "000031000008", nil); !errors.Is(err, ErrUnknownMeter) {
		t.Errorf("unknown meter: %v", err)
	}
	if _, err := d.ReadMeter(ctx, phantom, nil); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("phantom meter: %v", err)
	}
	var pe *ParamError
	if _, err := d.Relay(ctx, meterA, RelayRequest{Action: "trip", Operator: "1"}); !errors.As(err, &pe) || pe.Param != "password" {
		t.Errorf("relay without password: %v", err)
	}
	res := must[*RelayResult](t)(d.Relay(ctx, meterA, RelayRequest{Action: "trip", Password: simPasswd, Operator: "7"}))
	if res.State != "open" {
		t.Errorf("relay %+v", res)
	}
	mu.Lock()
	if len(audit.recs) != 2 || audit.recs[1].action != "relay.trip" || audit.recs[1].detail["channel"] != "CPTY-1" {
		t.Errorf("audit %+v", audit.recs)
	}
	noSecret(t, audit.recs, simPasswd)
	mu.Unlock()

	sr := must[*ScanResult](t)(d.Scan(ctx, "CPTY-1", ScanRequest{From: "000031000000", To: "000031000009", TimeoutMS: 50}, nil))
	var unknown []string
	for _, f := range sr.Found {
		if f.InArchive == nil || !*f.InArchive {
			unknown = append(unknown, f.Address)
		}
	}
	if len(sr.Found) != 5 || !slices.Equal(unknown, []string{farDrift}) || !slices.Equal(sr.Missing, []string{phantom}) {
		t.Errorf("scan %+v (not in the archive: %v)", sr, unknown)
	}
	if _, err := d.Scan(ctx, "CNOPE-1", ScanRequest{}, nil); !errors.Is(err, ErrUnknownChannel) {
		t.Errorf("unknown channel: %v", err)
	}

	st := must[*Status](t)(d.Status(ctx))
	if len(st.Channels) != 2 || st.Channels[0].Concentrator != "CPTY" || st.Channels[0].Kind != "serial" || st.Channels[0].Meters != 5 ||
		len(st.Concentrators) != 2 || !st.Concentrators[1].Online || len(st.Areas) != 2 || st.Areas[0].Name != "Pty area" ||
		len(st.Areas[0].Rates) != 1 || st.Areas[0].Rates[0].Expected != 5 || st.Areas[0].Rates[0].Collected != 4 {
		t.Errorf("status %+v", st)
	}

	// work whose caller gave up before its turn never runs
	gone, stop := context.WithCancel(ctx)
	stop()
	ran := false
	if err := c.Do(gone, meterA, func(context.Context, *master.Master, dlt645.Edition) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("abandoned work: %v, ran %v", err, ran)
	}
	none := &Daemon{Collector: func() *collector.Collector { return nil }}
	if _, err := none.ReadMeter(ctx, meterA, nil); !errors.Is(err, ErrUnavailable) {
		t.Errorf("no collector: %v", err)
	}
}
