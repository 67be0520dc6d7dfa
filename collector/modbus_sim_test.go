package collector

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/sim/field"
)

// modbusServe runs serve on a loopback port until the test ends.
func modbusServe(t *testing.T, serve func(context.Context, net.Listener) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// modbusConfigText is a collector reading SDM630s every 15 minutes: one
// behind a serial server (RTU over TCP, channel RT) and, with both, one
// behind a Modbus TCP gateway (channel MT).
func modbusConfigText(dir, rtu, tcp string, both bool) string {
	channels := fmt.Sprintf("    - {id: MT, kind: modbus-tcp, address: %q, timeout: 5s, gap: 0s}\n", tcp)
	meters := `    - {address: "000000000001", edition: "modbus", unit: 1, channel: MT, area: A1, role: area, ct: 1, pt: 1}` + "\n"
	list := "[MT]"
	if both {
		channels += fmt.Sprintf("    - {id: RT, kind: modbus-rtu-over-tcp, address: %q, timeout: 5s, gap: 0s, retries: 0}\n", rtu)
		meters += `    - {address: "000000000003", edition: "modbus", unit: 3, channel: RT, area: A1, role: customer, ct: 1, pt: 1}` + "\n"
		list = "[MT, RT]"
	}
	return fmt.Sprintf(`collector:
  data_dir: %s
  instantaneous: {enabled: true, spec: every 15m, jitter: 0s}
  interval: {enabled: false}
  daily: {enabled: false}
  monthly: {enabled: false}
  clock: {enabled: false}
http: {listen: ""}
archive:
  areas: [{id: A1, name: A1, feeder: F1, voltage_level: 10kV/0.4kV}]
  concentrators: [{id: C1, area: A1, channels: %s}]
  channels:
%s  meters:
%s`, dir, list, channels, meters)
}

func loadModbusConfig(t *testing.T, dir, text string) *Config {
	t.Helper()
	path := filepath.Join(dir, "headend.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Config{Collector: cfg.Collector, Archive: cfg.Archive}
}

// An SDM630 behind a simulated serial server, read end to end through the
// collector over real TCP in RTU frames: its readings arrive; a garbled
// answer fails the read with an error naming channel and meter, is
// counted in the channel's bad frames, and the next cycle reads the
// meter. A reload that removes the channel closes its connection to the
// serial server; the shutdown closes the gateway's.
func TestModbusThroughASerialServer(t *testing.T) {
	serial := field.NewModbusServer()
	serial.SetUnit(3, field.NewSDM630(field.ThreePhaseReadings{Voltage: [3]float64{230.1, 229.9, 231}, ImportKWh: 12345.67}))
	var garble atomic.Bool
	serial.Mangle = func(_ byte, frame []byte) []byte {
		if garble.CompareAndSwap(true, false) {
			frame[len(frame)-2] ^= 0x55 // the CRC
		}
		return frame
	}
	gateway := field.NewModbusServer()
	gateway.SetUnit(1, field.NewSDM630(field.ThreePhaseReadings{ImportKWh: 42}))
	rtu := modbusServe(t, serial.ServeRTUOverTCP)
	tcp := modbusServe(t, gateway.ServeTCP)

	dir := t.TempDir()
	cfg := loadModbusConfig(t, dir, modbusConfigText(dir, rtu, tcp, true))
	start := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	clock := &testClock{now: start}
	tasks := make(chan []meter.Read, 100)
	c, err := New(cfg, Options{Clock: clock, Sink: func(rs []meter.Read) { tasks <- rs }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()
	// cycle returns the next task's reads of channel RT
	cycle := func(what string) []meter.Read {
		t.Helper()
		deadline := time.After(20 * time.Second) // failure guard only
		for {
			select {
			case rs := <-tasks:
				if len(rs) > 0 && rs[0].Channel == "RT" {
					return rs
				}
			case <-deadline:
				t.Fatalf("%s: no reads of channel RT", what)
			}
		}
	}
	okRead := func(what string, rs []meter.Read) {
		t.Helper()
		got := map[string]string{}
		for _, r := range rs {
			if r.Status != meter.OK || r.Meter != "000000000003" {
				t.Fatalf("%s: %s %s %s: %s", what, r.Meter, r.Quantity, r.Status, r.Err)
			}
			got[r.Quantity] = r.Value.String()
		}
		if got["phase A voltage"] != "230.1" || got["forward active energy total"] != "12345.67" {
			t.Errorf("%s: %v", what, got)
		}
	}
	okRead("first cycle", cycle("first cycle"))

	garble.Store(true)
	clock.Set(start.Add(15 * time.Minute))
	rs := cycle("garbled cycle")
	failed := 0
	for _, r := range rs {
		if r.Status == meter.Failed {
			failed++
			for _, s := range []string{"channel RT", "meter 000000000003", "bad answer", "crc"} {
				if !strings.Contains(r.Err, s) {
					t.Errorf("garbled answer: %q does not say %q", r.Err, s)
				}
			}
		}
	}
	if failed != 1 {
		t.Errorf("%d failed reads after one garbled answer, want 1: %+v", failed, rs)
	}
	var rt ChannelStatus
	for _, cs := range c.Status().Channels {
		if cs.ID == "RT" {
			rt = cs
		}
	}
	if rt.Bad != 1 || !rt.Link.Online {
		t.Errorf("channel RT status %+v, want 1 bad frame and online", rt)
	}
	clock.Set(start.Add(30 * time.Minute))
	okRead("cycle after the garbled answer", cycle("cycle after the garbled answer"))

	if n := serial.Connections(); n != 1 {
		t.Fatalf("%d connections to the serial server, want 1", n)
	}
	changes, err := c.Apply(loadModbusConfig(t, dir, modbusConfigText(dir, rtu, tcp, false)))
	if err != nil || len(changes.Removed) != 1 || changes.Removed[0] != "RT" {
		t.Fatalf("Apply: %+v, %v", changes, err)
	}
	modbusWait(t, "the serial server sees the removed channel's connection closed", func() bool { return serial.Connections() == 0 })

	if n := gateway.Connections(); n != 1 {
		t.Fatalf("%d connections to the gateway, want 1", n)
	}
	cancel()
	<-done
	stopped = true
	modbusWait(t, "the gateway sees the connection closed at shutdown", func() bool { return gateway.Connections() == 0 })
}

// modbusWait polls cond until it holds, for real I/O the test is not
// told of; it fails the test after 10 s.
func modbusWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 10 s", what)
		}
	}
}
