package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/anomaly"
	apifield "github.com/headend/headend/api/field"
	"github.com/headend/headend/collector"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/fieldops"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/gdw3761"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
	"github.com/headend/headend/sim/simulator"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/results"
	"github.com/headend/headend/store/sqlite"
)

// TestTerminalEventsBecomeFlagEvidence: gdw-demo's T4401-0001 dials the
// collector over TCP; in the simulation a meter's cover is opened and
// another meter's clock drifts beyond the terminal's tolerance. The
// terminal records ERC37 and ERC12 and sets ACD with its counter EC1 on
// its heartbeats; the collector reads the new records (AFN 0E F1 from its
// pointer), each a read of class event that keeps its frames; they raise
// the cover-opened and clock-drift flags with the event read as their
// evidence; headend terminal events lists them. After the collector
// restarts (and the terminal reconnects), a new event (ERC35, a meter
// found that the archive does not hold) is read, and the old ones are
// not read again: the pointer is kept in the collector's state file.
func TestTerminalEventsBecomeFlagEvidence(t *testing.T) {
	yaml, err := os.ReadFile("../../testdata/scenarios/gdw-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	yaml = []byte(strings.Replace(string(yaml), "start: 2025-06-01T00:00:00+08:00", "start: 2025-06-01T10:00:00+08:00", 1))
	sc, err := scenario.Parse("gdw-demo.yaml", yaml)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	// simulated time moves only when the test says (speed 1 on a clock
	// that stands still)
	base := time.Now()
	var off atomic.Int64
	noSleep := func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	sim, err := simulator.Start(context.Background(), sc, simulator.Options{Tick: -1, Speed: 1, Sleep: noSleep, HeadEnd: listen, ZeroDelay: true,
		Now: func() time.Time { return base.Add(time.Duration(off.Load())) }, Heartbeat: 20 * time.Millisecond,
		Backoff: func(int) time.Duration { return 10 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	start := sim.Fleet.Now()
	advance := func(to time.Time) {
		off.Store(int64(to.Sub(start)))
		sim.Fleet.AdvanceTo(to)
	}
	term, ok := sim.Terminal("T4401-0001")
	if !ok {
		t.Fatal("no terminal T4401-0001")
	}
	var area *model.Area
	for _, a := range sim.Fleet.Areas() {
		if a.ID == "G01" {
			area = a
		}
	}
	var meters strings.Builder
	fmt.Fprintf(&meters, "    - {address: %q, edition: \"%d\", channel: T1, area: G01, role: area, ct: 80, pt: 1, point: 1}\n", area.Meter.Address, area.Meter.Edition)
	n := 1
	for _, m := range sim.Fleet.Meters() {
		if m.Role != model.RoleArea && m.Area == area {
			n++
			fmt.Fprintf(&meters, "    - {address: %q, edition: \"%d\", channel: T1, area: G01, ct: 1, pt: 1, point: %d}\n", m.Address, m.Edition, n)
		}
	}
	covered, drifting := area.Customers[20].Address, area.Customers[19].Address // the scenario's faults: index 21 cover, 20 clock
	dir := t.TempDir()
	text := fmt.Sprintf(`collector:
  data_dir: %s
  zone: "+08:00"
  gdw3761_listen: %q
  instantaneous: {enabled: false}
  interval: {enabled: false}
  daily: {enabled: false}
  monthly: {enabled: false}
  clock: {enabled: false}
  backfill_days: 0
http: {listen: ""}
archive:
  areas: [{id: G01, name: G01, feeder: F10-201, voltage_level: 10kV/0.4kV}]
  concentrators: [{id: T4401-0001, area: G01, channels: [T1]}]
  channels:
    - {id: T1, kind: gdw3761, terminal: "4401 0001", mode: current, timeout: 5s, gap: 1ms}
  meters:
%s`, dir, listen, meters.String())
	path := filepath.Join(dir, "headend.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatalf("config: %v", err)
	}

	st, err := sqlite.Open(filepath.Join(dir, "headend.db"), sqlite.Options{Location: cfg.Collector.Location()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := results.Open(filepath.Join(dir, "results.db"), results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()

	// one collector run: its reads stored, its event reads kept, the
	// terminal online
	var mu sync.Mutex
	var events []meter.Read
	startCollector := func() (*collector.Collector, func()) {
		c, err := collector.New(&collector.Config{Collector: cfg.Collector, Archive: cfg.Archive}, collector.Options{Sink: func(rs []meter.Read) {
			if err := st.Write(context.Background(), rs); err != nil {
				t.Errorf("store: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range rs {
				if r.Class == meter.Event {
					events = append(events, r)
				}
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx) }()
		waitFor(t, "the simulated terminal logged in", func() bool {
			st := c.Status()
			return len(st.Terminals) == 1 && st.Terminals[0].Online
		})
		return c, func() { cancel(); <-done }
	}
	eventOf := func(erc uint8, addr string) (meter.Read, bool) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range events {
			if strings.HasPrefix(r.Quantity, fmt.Sprintf("event ERC%d ", erc)) && r.Meter == addr {
				return r, true
			}
		}
		return meter.Read{}, false
	}

	c, stop := startCollector()
	// the terminal's collections after midnight: the cover count and the
	// clocks read, a day apart (the cover was opened on the 2nd at 14:23)
	day := func(d int) time.Time { return time.Date(2025, 6, d, 0, 30, 0, 0, start.Location()) }
	advance(day(2))
	term.Collect(t.Context())
	advance(day(3))
	term.Collect(t.Context())
	waitFor(t, "the cover-open and clock events read", func() bool {
		_, a := eventOf(gdw3761.ERCMeterCoverOpen, covered)
		_, b := eventOf(gdw3761.ERCMeterClock, drifting)
		return a && b
	})
	cover, _ := eventOf(gdw3761.ERCMeterCoverOpen, covered)
	clock, _ := eventOf(gdw3761.ERCMeterClock, drifting)
	// each keeps the AFN 0E exchange it came in
	var req, rep gdw3761.Frame
	if err := req.UnmarshalBinary(cover.Frame.Request); err != nil || req.AFN != gdw3761.AFNClass3 || len(cover.Frame.Reply) == 0 {
		t.Fatalf("ERC37 read's request %v %v", req.AFN, err)
	}
	if err := rep.UnmarshalBinary(cover.Frame.Reply[0]); err != nil || rep.AFN != gdw3761.AFNClass3 || rep.Control.PRM() {
		t.Fatalf("ERC37 read's reply %v %v", rep.AFN, err)
	}
	if cover.Status != meter.OK || cover.Area != "G01" || cover.MeterTime.Before(day(2)) || cover.MeterTime.After(day(3)) || clock.Value.Units != 1 {
		t.Errorf("event reads: %+v\n%+v", cover, clock)
	}

	// the analysis run over the stores: the flags, raised by the events
	// (no counter or clock read here), each with its event read as
	// evidence, in the results store
	loc := cfg.Collector.Location()
	var regs []meter.Read
	for d := 1; d <= 5; d++ {
		at := time.Date(2025, 6, d, 0, 0, 0, 0, loc)
		for _, m := range cfg.Archive.Meters {
			regs = append(regs, meter.Read{Meter: m.Address, Area: m.Area, Channel: "T1", Class: meter.Daily, DI: 0x05060101, Edition: dlt645.DLT2007,
				Quantity: "forward active energy total", Value: dlt645.Decimal{Units: int64(1000 + 10*d), Scale: 2}, Unit: "kWh",
				MeterTime: at, ReadAt: at.Add(time.Hour), Status: meter.OK})
		}
	}
	if err := st.Write(t.Context(), regs); err != nil {
		t.Fatal(err)
	}
	an := analysis.New(st, res, c.ArchiveIndex(), analysis.Options{Location: loc})
	if _, err := an.Run(t.Context(), time.Date(2025, 6, 5, 10, 0, 0, 0, loc)); err != nil {
		t.Fatal(err)
	}
	flags, err := res.Current(t.Context(), store.RecordQuery{Kind: results.KindFlag})
	if err != nil {
		t.Fatal(err)
	}
	evidence := func(k anomaly.Kind, addr string, r meter.Read) {
		t.Helper()
		for _, rec := range flags {
			var f anomaly.Flag
			if err := json.Unmarshal(rec.Body, &f); err != nil {
				t.Fatal(err)
			}
			if f.Kind != k || f.Meter != addr {
				continue
			}
			for _, key := range f.Reads {
				if key.Meter == r.Meter && key.Quantity == r.Quantity && key.Time.Equal(r.MeterTime) && key.Class == meter.Event {
					return
				}
			}
			t.Errorf("%s flag on %s without the event read: %+v", k, addr, f)
			return
		}
		t.Errorf("no %s flag on %s among %d flags", k, addr, len(flags))
	}
	evidence(anomaly.CoverOpened, covered, cover)
	evidence(anomaly.ClockDrift, drifting, clock)
	// the evidence leads back to the stored read and its frames
	stored, err := st.Query(t.Context(), store.Query{Meters: []string{covered}, Class: meter.Event})
	if err != nil || len(stored) != 1 || !stored[0].MeterTime.Equal(cover.MeterTime) || len(stored[0].Frame.Reply) == 0 {
		t.Errorf("the stored event read of %s: %+v %v", covered, stored, err)
	}

	// headend terminal events, through the API
	d := &fieldops.Daemon{Collector: func() *collector.Collector { return c }, Options: fieldops.Options{Location: cfg.Collector.Location()}}
	mux := http.NewServeMux()
	apifield.RegisterTerminalEvents(mux, d)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	outText, errOut, err := run(t, "", "terminal", "events", "--terminal", "4401 0001", "--server", srv.URL, "--text")
	if err != nil || !strings.Contains(outText, "meter "+covered+"  event ERC37 meter cover opened") || !strings.Contains(outText, "event ERC12") {
		t.Errorf("headend terminal events: %v\n%s%s", err, outText, errOut)
	}
	outJSON, _, err := run(t, "", "terminal", "events", "--terminal", "4401-0001", "--server", srv.URL, "--read")
	var listed fieldops.TerminalEvents
	if err != nil || json.Unmarshal([]byte(outJSON), &listed) != nil || listed.Read != 0 || len(listed.Events) == 0 {
		t.Errorf("events --read with nothing new: %v\n%s", err, outJSON)
	} else if b, err := hex.DecodeString(listed.Events[0].Reply[0]); err != nil || b[0] != 0x68 {
		t.Errorf("listed event's reply frame %q", listed.Events[0].Reply[0])
	}
	mu.Lock()
	before := len(events)
	mu.Unlock()
	stop()

	// a restart: the terminal logs in again, a new event comes, only it
	// is read
	mu.Lock()
	events = nil
	mu.Unlock()
	c, stop = startCollector()
	defer stop()
	found := dlt645.MustParseAddress("000099000001")
	if term.FindMeters(found) != 1 {
		t.Fatal("the terminal filed no ERC35")
	}
	waitFor(t, "the ERC35 read after the restart", func() bool {
		_, ok := eventOf(gdw3761.ERCUnknownMeter, found.String())
		return ok
	})
	c.Terminals() // the collector in use, for the race detector's sake
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 1 {
		t.Errorf("after the restart %d event reads (%d before it), want only the new ERC35:", len(events), before)
		for _, r := range events {
			t.Logf("  %s %s %s", r.Meter, r.Quantity, r.Text)
		}
	}
}

// waitFor waits for cond, up to 10 s of real I/O.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
	}
}
