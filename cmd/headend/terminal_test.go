package main

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/headend/headend/protocol/gdw3761"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
	"github.com/headend/headend/sim/simulator"
)

// TestTerminalCommandsAgainstTheSimulatedTerminal configures a simulated
// Q/GDW 1376.1 concentrator (gdw-demo's T4401-0001) that dials the
// collector over TCP, through headend terminal --server, the API routes
// and fieldops.Daemon: it is online; a meter deleted from the terminal's
// archive (AFN 04 F10, point 0) shows in the diff; after a push its meter
// archive agrees with the head-end's again, and the push is audited; its
// clock reads as the terminal's.
func TestTerminalCommandsAgainstTheSimulatedTerminal(t *testing.T) {
	yaml, err := os.ReadFile("../../testdata/scenarios/gdw-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// started at 10:00, clear of midnight, when terminals freeze
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
	// the head-end's archive of area G01: the area meter point 1, the
	// customers 2.. (as the simulated terminal starts with them)
	var meters strings.Builder
	var area *model.Area
	for _, a := range sim.Fleet.Areas() {
		if a.ID == "G01" {
			area = a
		}
	}
	fmt.Fprintf(&meters, "    - {address: %q, edition: \"%d\", channel: T1, area: G01, role: area, ct: 80, pt: 1, point: 1}\n", area.Meter.Address, area.Meter.Edition)
	n := 1
	for _, m := range sim.Fleet.Meters() {
		if m.Role != model.RoleArea && m.Area == area {
			n++
			fmt.Fprintf(&meters, "    - {address: %q, edition: \"%d\", channel: T1, area: G01, ct: 1, pt: 1, point: %d}\n", m.Address, m.Edition, n)
		}
	}
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
				audited = append(audited, fmt.Sprintf("%s %s %v", action, target, detail["result"]))
			}}}
	mux := http.NewServeMux()
	apifield.RegisterTerminals(mux, d)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cli := func(args ...string) string {
		t.Helper()
		out, errOut, err := run(t, "", append([]string{"terminal"}, append(args, "--server", srv.URL)...)...)
		if err != nil {
			t.Fatalf("headend terminal %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
		}
		return out
	}

	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		st := c.Status()
		if len(st.Terminals) == 1 && st.Terminals[0].Online {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the simulated terminal never logged in")
		}
	}
	if out := cli("status", "--text"); !strings.Contains(out, "terminal 4401 0001: online since") {
		t.Errorf("status:\n%s", out)
	}

	// the field deletes point 3 from the terminal (AFN 04 F10, point 0)
	s, _ := c.Terminals().Terminal("4401 0001")
	if _, err := fieldops.PushArchive(ctx, s, s.Address(), [16]byte{}, []gdw3761.MeterEntry{{Serial: 3, Point: 0, Port: 2, IntDigits: 6, DecDigits: 2}}, 0); err != nil {
		t.Fatal(err)
	}
	out := cli("archive", "diff", "--terminal", "4401 0001")
	var diff apifield.DiffReply
	if err := json.Unmarshal([]byte(out), &diff); err != nil || diff.Agrees || len(diff.Points) != 1 || diff.Points[0].Point != 3 ||
		!strings.Contains(diff.Summary, "1 point differs from the archive: point 3 missing from the terminal") {
		t.Errorf("diff after deleting point 3: %v\n%s", err, out)
	}

	out = cli("archive", "push", "--terminal", "4401 0001")
	var push fieldops.ArchivePush
	if err := json.Unmarshal([]byte(out), &push); err != nil || push.Entries != n || push.Confirmed != n || !push.Agrees {
		t.Fatalf("push of %d entries: %v\n%s", n, err, out)
	}
	if out := cli("archive", "diff", "--terminal", "4401-0001", "--text"); !strings.Contains(out, "terminal 4401 0001: its meter archive agrees with the head-end's") {
		t.Errorf("diff after the push:\n%s", out)
	}
	out = cli("archive", "pull", "--terminal", "4401 0001")
	var pulled []fieldops.ArchiveEntry
	if err := json.Unmarshal([]byte(out), &pulled); err != nil || len(pulled) != n || pulled[2].Point != 3 || pulled[2].Meter == "" || pulled[0].Protocol == 0 {
		t.Errorf("pull: %v\n%s", err, out)
	}
	if strings.Contains(out, "password") {
		t.Errorf("the pull shows the meter passwords:\n%s", out)
	}
	mu.Lock()
	if len(audited) != 1 || audited[0] != "terminal.archive.push 4401 0001 ok" {
		t.Errorf("audit: %q", audited)
	}
	mu.Unlock()

	before := term.Clock().Truncate(time.Second)
	out = cli("time", "--terminal", "4401 0001")
	after := term.Clock()
	var clk fieldops.TerminalClock
	if err := json.Unmarshal([]byte(out), &clk); err != nil {
		t.Fatalf("time: %v\n%s", err, out)
	}
	if clk.TerminalTime.Before(before) || clk.TerminalTime.After(after) || clk.Terminal != "4401 0001" {
		t.Errorf("terminal clock %s, the terminal had %s..%s\n%s", clk.TerminalTime, before, after, out)
	}

	// a clock set: nothing to do within tolerance, never near midnight,
	// nor by hours unless forced
	out = cli("time", "--set", "--terminal", "4401 0001", "--text")
	if !strings.Contains(out, "terminal 4401 0001: clock within tolerance: nothing done") {
		t.Errorf("clock set within tolerance:\n%s", out)
	}
	at := func(by time.Duration) *fieldops.Daemon {
		o := *d
		o.Now = func() time.Time { return sim.Clock.Sim().Add(by) }
		return &o
	}
	if _, err := at(14*time.Hour-5*time.Minute).SetTerminalTime(ctx, "4401 0001", true); !errors.Is(err, fieldops.ErrNotAllowed) || !strings.Contains(err.Error(), "midnight") {
		t.Errorf("clock set at 23:55: %v", err)
	}
	later := at(3 * time.Hour)
	if _, err := later.SetTerminalTime(ctx, "4401 0001", false); !errors.Is(err, fieldops.ErrNotAllowed) || !strings.Contains(err.Error(), "beyond") {
		t.Errorf("clock set by 3 h: %v", err)
	}
	set, err := later.SetTerminalTime(ctx, "4401 0001", true)
	if err != nil || !set.Set || set.After == nil || !set.Corrected || set.Before.ErrorSeconds > -3*3600+120 {
		t.Errorf("forced clock set: %+v %v", set, err)
	}
	if got, want := term.Clock(), later.Now(); got.Sub(want).Abs() > 2*time.Second {
		t.Errorf("the terminal's clock after the set %s, want %s", got, want)
	}
	mu.Lock()
	if want := []string{"terminal.archive.push 4401 0001 ok", "terminal.time.set 4401 0001 ok",
		"terminal.time.set 4401 0001 not allowed", "terminal.time.set 4401 0001 not allowed", "terminal.time.set 4401 0001 ok"}; strings.Join(audited, "|") != strings.Join(want, "|") {
		t.Errorf("audit: %q, want %q", audited, want)
	}
	mu.Unlock()

	if _, _, err := run(t, "", "terminal", "time", "--terminal", "4401 0009", "--server", srv.URL); err == nil || !strings.Contains(err.Error(), "4401 0009") {
		t.Errorf("unknown terminal: %v", err)
	}
}

// TestTerminalCommandsNeedServerAndTerminal: the terminal commands say
// which flag is missing before reaching anything.
func TestTerminalCommandsNeedServerAndTerminal(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"terminal", "status"}, "--server: required"},
		{[]string{"terminal", "archive", "diff", "--server", "http://127.0.0.1:1"}, "--terminal: required"},
		{[]string{"terminal", "time", "--set", "--server", "http://127.0.0.1:1"}, "--terminal: required"},
	} {
		if _, _, err := run(t, "", c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}
