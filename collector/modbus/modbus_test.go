package modbus

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/field"
)

// Against the simulator's Modbus TCP server with an SDM630 map.
func TestReadsSDM630OverTCP(t *testing.T) {
	srv := field.NewModbusServer()
	srv.SetUnit(3, field.NewSDM630(field.ThreePhaseReadings{
		Voltage: [3]float64{230.1, 229.9, 231}, Current: [3]float64{1.25, 0, 2.5},
		TotalPower: 1234.5, PowerFactor: 0.98, Frequency: 50.01, ImportKWh: 12345.67, ExportKWh: 8.5,
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.ServeTCP(ctx, ln)
	p := NewTCP(ln.Addr().String(), 5*time.Second)
	target := poll.Target{Address: "000004000003", Unit: 3}
	want := map[string]string{
		"forward active energy total": "12345.67", "reverse active energy total": "8.50",
		"phase A voltage": "230.1", "phase C voltage": "231.0", "phase A current": "1.250",
		"active power total": "1.2345", "power factor total": "0.980", "grid frequency": "50.01",
	}
	got := map[string]string{}
	for _, di := range []uint32{0x00010000, 0x00020000, 0x0201FF00, 0x0202FF00, 0x02030000, 0x02060000, 0x02800002} {
		rs, err := p.Do(ctx, target, poll.Request{DI: dlt645.DI(di)}, meter.Read{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			got[r.Quantity] = r.Value.String()
		}
	}
	for q, v := range want {
		if got[q] != v {
			t.Errorf("%s = %s, want %s", q, got[q], v)
		}
	}
	// a DI the map lacks is "no data"; an unknown unit is an error to retry
	rs, err := p.Do(ctx, target, poll.Request{DI: 0x05060101}, meter.Read{})
	if err != nil || rs[0].Status != meter.NoData {
		t.Fatalf("daily freeze over Modbus: %+v %v", rs, err)
	}
	if _, err := p.Do(ctx, poll.Target{Unit: 9}, poll.Request{DI: 0x00010000}, meter.Read{}); err == nil {
		t.Fatal("unknown unit answered")
	}
}

// The far end stopped and started again at the same address: the reads
// fail while it is away (the line shown down), and come back by
// themselves (goburrow alone keeps the broken connection: broken pipe for
// ever).
func TestReconnectsAfterTheServerRestarts(t *testing.T) {
	srv := field.NewModbusServer()
	srv.SetUnit(1, field.NewSDM630(field.ThreePhaseReadings{ImportKWh: 42}))
	serve := func(addr string) (context.CancelFunc, chan struct{}) {
		t.Helper()
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { srv.ServeTCP(ctx, ln); close(done) }()
		return func() { cancel(); ln.Close() }, done
	}
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port to come back on
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stop, done := serve(addr)
	p := NewTCP(addr, time.Second)
	defer p.Close()
	target := poll.Target{Unit: 1}
	read1 := func() error {
		_, err := p.Do(ctx, target, poll.Request{DI: 0x00010000}, meter.Read{})
		return err
	}
	if err := read1(); err != nil || !p.State().Online {
		t.Fatalf("first read: %v, state %+v", err, p.State())
	}
	stop()
	<-done
	for i := 0; i < 3; i++ {
		if err := read1(); err == nil {
			t.Fatalf("read %d with the server stopped succeeded", i)
		}
	}
	if st := p.State(); st.Online || st.LastErr == "" {
		t.Fatalf("state with the server stopped: %+v", st)
	}
	stop, done = serve(addr)
	defer func() { stop(); <-done }()
	if err := read1(); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	if !p.State().Online {
		t.Fatalf("state after the restart: %+v", p.State())
	}
}

// A float32 energy keeps the decimals it really has: 2 at 100 kWh, 1 at
// 200,000 kWh (its step there is 0.015625 kWh), none at 20,000,000.
func TestFloatEnergyResolution(t *testing.T) {
	for _, c := range []struct {
		v    float32
		want uint8
	}{{100.25, 2}, {131071.5, 2}, {200000.5, 1}, {20000000, 0}, {0, 2}} {
		if got := resolution(c.v, 1, 2); got != c.want {
			t.Errorf("%v kWh: %d decimals, want %d", c.v, got, c.want)
		}
	}
	if got := resolution(0.5, 0.001, 4); got != 4 { // W to kW
		t.Errorf("power: %d decimals", got)
	}
}
