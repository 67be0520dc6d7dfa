package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	apifield "github.com/headend/headend/api/field"
	"github.com/headend/headend/collector"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/fieldops"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
	"github.com/headend/headend/sim/simulator"
)

// TestTerminalHeartbeatAndPointRead drives gdw-demo's simulated
// concentrator T4401-0001 (dialled in over TCP) through headend terminal
// heartbeat and read, the API routes and fieldops.Daemon: its heartbeat
// period reads back (AFN 0A F1), a set to 5 min (AFN 04 F1) is confirmed,
// read back, audited, and the terminal heartbeats at it; a period beyond
// the channel's heartbeat is refused; one point's current data (AFN 0C)
// is the terminal's own, and a frozen day (AFN 0D) is named as the 645
// daily freeze.
func TestTerminalHeartbeatAndPointRead(t *testing.T) {
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
	noSleep := func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	sim, err := simulator.Start(context.Background(), sc, simulator.Options{Tick: -1, Speed: 1, Sleep: noSleep, HeadEnd: listen, ZeroDelay: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	term, ok := sim.Terminal("T4401-0001")
	if !ok {
		t.Fatal("no terminal T4401-0001")
	}
	var meters strings.Builder
	var area *model.Area
	for _, a := range sim.Fleet.Areas() {
		if a.ID == "G01" {
			area = a
		}
	}
	fmt.Fprintf(&meters, "    - {address: %q, edition: \"%d\", channel: T1, area: G01, role: area, ct: 80, pt: 1, point: 1}\n", area.Meter.Address, area.Meter.Edition)
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
    - {id: T1, kind: gdw3761, terminal: "4401 0001", mode: current, timeout: 5s, gap: 1ms, heartbeat: 10m}
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
	c, err := collector.New(&collector.Config{Collector: cfg.Collector, Archive: cfg.Archive}, collector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	var mu sync.Mutex
	var audited []string
	d := &fieldops.Daemon{Collector: func() *collector.Collector { return c },
		Options: fieldops.Options{Now: sim.Clock.Sim, Location: cfg.Collector.Location(),
			Audit: func(_ context.Context, action, target string, detail map[string]any) {
				mu.Lock()
				defer mu.Unlock()
				audited = append(audited, fmt.Sprintf("%s %s %v %v", action, target, detail["heartbeat_min"], detail["result"]))
			}}}
	mux := http.NewServeMux()
	apifield.RegisterTerminalOps(mux, d)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cli := func(args ...string) (string, error) {
		t.Helper()
		out, errOut, err := run(t, "", append([]string{"terminal"}, append(args, "--server", srv.URL, "--terminal", "4401 0001")...)...)
		return out + errOut, err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if st := c.Status(); len(st.Terminals) == 1 && st.Terminals[0].Online {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the simulated terminal never logged in")
		}
	}

	out, err := cli("heartbeat")
	var comm fieldops.TerminalComm
	if err != nil || json.Unmarshal([]byte(out), &comm) != nil || comm.HeartbeatMin < 1 || comm.Terminal != "4401 0001" {
		t.Fatalf("heartbeat: %v\n%s", err, out)
	}
	out, err = cli("heartbeat", "--set", "5m", "--text")
	if err != nil || !strings.Contains(out, "terminal 4401 0001: heartbeat set") || !strings.Contains(out, "after:  terminal 4401 0001 heartbeat 5m0s") {
		t.Fatalf("heartbeat --set 5m: %v\n%s", err, out)
	}
	if got := term.HeartbeatInterval(); got != 5*time.Minute {
		t.Errorf("the terminal heartbeats every %v, want 5m", got)
	}
	if out, err = cli("heartbeat", "--set", "20m"); err == nil || !strings.Contains(out+err.Error(), "longer than channel T1's 10m0s") {
		t.Errorf("heartbeat --set 20m beyond the channel's 10m: %v\n%s", err, out)
	}
	if out, err = cli("heartbeat", "--set", "90s"); err == nil || !strings.Contains(out+err.Error(), "whole minutes") {
		t.Errorf("heartbeat --set 90s: %v\n%s", err, out)
	}
	mu.Lock()
	if want := "terminal.heartbeat.set 4401 0001 5 ok"; strings.Join(audited, "|") != want {
		t.Errorf("audit %q, want %q", audited, want)
	}
	mu.Unlock()

	term.Collect(ctx) // the terminal reads its meters' current data
	out, err = cli("read", "--point", "1", "--current")
	var rd fieldops.TerminalReading
	if err != nil || json.Unmarshal([]byte(out), &rd) != nil {
		t.Fatalf("read --current: %v\n%s", err, out)
	}
	got := map[string]fieldops.Value{}
	for _, v := range rd.Values {
		got[v.Quantity] = v
	}
	if fwd := got["forward active energy total"]; rd.Meter != area.Meter.Address || rd.Data != "current" || fwd.Status != "ok" || fwd.Value == "" || fwd.DI != "0001FF00" {
		t.Errorf("point 1 current data: %+v\n%s", fwd, out)
	}
	if v := got["phase A voltage"]; v.Status != "ok" || v.Unit != "V" {
		t.Errorf("point 1 phase A voltage %+v\n%s", v, out)
	}
	out, err = cli("read", "--point", "1", "--frozen", "--date", "2025-05-31", "--text")
	if err != nil || !strings.Contains(out, "terminal 4401 0001 point 1, frozen data of 2025-05-31") || !strings.Contains(out, "05060101") ||
		!strings.Contains(out, "daily freeze -1 forward active energy total") {
		t.Errorf("read --frozen: %v\n%s", err, out)
	}
	if out, err = cli("read", "--point", "1"); err == nil || !strings.Contains(err.Error(), "--current or --frozen") {
		t.Errorf("read without --current/--frozen: %v\n%s", err, out)
	}
}
