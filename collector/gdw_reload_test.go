package collector

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/protocol/gdw3761"
)

// A reload that adds the first gdw3761 channel starts the 376.1
// listener on collector.gdw3761_listen (set from the start, unused until
// then), and the terminal logs in.
func TestApplyFirstGDW3761ChannelStartsTheListener(t *testing.T) {
	dir := t.TempDir()
	listen, meterPort := closedPort(t), closedPort(t)
	load := func(name string, gdw bool) *Config {
		t.Helper()
		channels := fmt.Sprintf("    - {id: T0, kind: tcp, address: %q}\n", meterPort)
		meters := `    - {address: "000000000099", edition: "2007", channel: T0, area: A1, role: area, ct: 1, pt: 1}` + "\n"
		conc := "[T0]"
		if gdw {
			channels += `    - {id: T1, kind: gdw3761, terminal: "4401 0001", mode: frozen, timeout: 2s, gap: 1ms}` + "\n"
			meters += `    - {address: "000000000007", edition: "2007", channel: T1, area: A1, role: customer, ct: 1, pt: 1, point: 7}` + "\n"
			conc = "[T0, T1]"
		}
		text := fmt.Sprintf(`collector:
  data_dir: %s
  zone: UTC
  gdw3761_listen: %q
  instantaneous: {enabled: false}
  interval: {enabled: false}
  daily: {enabled: false}
  monthly: {enabled: false}
  clock: {enabled: false}
  backfill_days: 0
http: {listen: ""}
archive:
  areas: [{id: A1, name: A1, feeder: F1, voltage_level: 10kV/0.4kV}]
  concentrators: [{id: C1, area: A1, channels: %s}]
  channels:
%s  meters:
%s`, dir, listen, conc, channels, meters)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(path, nil)
		if err != nil {
			t.Fatalf("config %s: %v", name, err)
		}
		return &Config{Collector: cfg.Collector, Archive: cfg.Archive}
	}
	old, nc := load("old.yaml", false), load("new.yaml", true)
	c, err := New(old, Options{Clock: &testClock{now: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitCond(t, "the collector running", func() bool { return len(c.Status().Channels) == 1 })
	if c.Terminals() != nil {
		t.Fatal("a 376.1 listener without a gdw3761 channel")
	}
	ch, err := c.Apply(nc)
	if err != nil {
		t.Fatalf("Apply adding gdw3761 channel T1: %v", err)
	}
	if len(ch.Added) != 1 || ch.Added[0] != "T1" {
		t.Errorf("changes %+v", ch)
	}
	if c.Terminals() == nil {
		t.Fatal("no 376.1 listener after the reload added a gdw3761 channel")
	}
	var requests atomic.Int64
	fakeTerminal376(t, listen, gdw3761.Address{Area: 4401, Terminal: 1}, &requests)
	waitCond(t, "terminal 4401 0001 online", func() bool {
		st := c.Status()
		return len(st.Terminals) == 1 && st.Terminals[0].Online
	})
	if n := len(c.Status().Channels); n != 2 {
		t.Fatalf("%d channels after the reload, want 2", n)
	}
}
