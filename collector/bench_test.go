package collector

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/scenario"
	"github.com/headend/headend/sim/simulator"
)

// BenchmarkCollectorLargeScenario reads the large scenario (100
// concentrators over loopback TCP, 20,100 meters, zero line delay) through
// the collector's own stack: a TCP link, a master and a bus per
// concentrator, one transaction in flight on each, every reply decoded
// into read.Read records. It reports meter reads per second.
//
//	go test ./collector -run '^$' -bench CollectorLarge -benchtime 100000x
func BenchmarkCollectorLargeScenario(b *testing.B) {
	sc, err := scenario.Load("../testdata/scenarios/large.yaml")
	if err != nil {
		b.Fatal(err)
	}
	noSleep := func(context.Context, time.Duration) error { return nil }
	sim, err := simulator.Start(context.Background(), sc, simulator.Options{Tick: -1, ZeroDelay: true, AnyPort: true, Sleep: noSleep})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	sim.Fleet.AdvanceTo(sim.Fleet.Start().Add(26 * time.Hour))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var reads, ok atomic.Int64
	var pending sync.WaitGroup
	sink := func(rs []meter.Read) {
		for _, r := range rs {
			if r.Status == meter.OK {
				ok.Add(1)
			}
		}
		reads.Add(1)
		pending.Done()
	}
	type line struct {
		bus     *poll.Bus
		targets []poll.Target
	}
	var lines []line
	eps := tcpEndpoints(sim) // the transparent TCP areas: the 376.1 ones dial a head-end
	for _, e := range eps {
		l := link.DialTCP(link.TCPConfig{Addr: e.Address})
		defer l.Close()
		m := &master.Master{Link: l, Timeout: 500 * time.Millisecond}
		bus := poll.New(poll.DLT645{Master: m}, sink, poll.Options{Channel: e.Concentrator, Retries: -1})
		go bus.Run(ctx)
		ln := line{bus: bus}
		for _, a := range e.Meters {
			ed := dlt645.DLT2007
			if sim.Fleet.Meter(a).Edition == 1997 {
				ed = dlt645.DLT1997
			}
			if sim.Fleet.Meter(a).Behaviour(sim.Fleet.Now()).Silent {
				continue // a planted dead meter would only measure the timeout
			}
			ln.targets = append(ln.targets, poll.Target{Address: a, Edition: ed})
		}
		lines = append(lines, ln)
	}
	b.ResetTimer()
	start := time.Now()
	pending.Add(b.N)
	for i := range b.N {
		ln := lines[i%len(lines)]
		t := ln.targets[(i/len(lines))%len(ln.targets)]
		di := dlt645.DI(0x00010000)
		if t.Edition == dlt645.DLT1997 {
			di = 0x9010
		}
		ln.bus.Enqueue(poll.Task{Target: t, Class: meter.OnDemand, Urgent: true, Requests: []poll.Request{{DI: di}}})
	}
	pending.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if ok.Load() < int64(b.N)*99/100 {
		b.Fatalf("only %d of %d reads succeeded", ok.Load(), b.N)
	}
	b.ReportMetric(float64(reads.Load())/elapsed.Seconds(), "meter-reads/s")
}

// BenchmarkDailyCycleLarge2400 runs one daily-frozen cycle of the large
// scenario (20,100 meters on 100 concentrators) with every line at a
// realistic 2400 bit/s 8E1 and a 50 ms gap between transactions, and
// reports how long it took against what the bus arithmetic allows:
// per meter 3 requests (freeze time, forward block, reverse block) of 20
// bytes with the FE preamble, replies of 21, 36 and 36 bytes (2007), at
// 11 bits a byte, plus the gaps. It takes minutes of real time: run it
// by hand, once.
//
//	go test ./collector -run '^$' -bench DailyCycleLarge2400 -benchtime 1x -timeout 30m
func BenchmarkDailyCycleLarge2400(b *testing.B) {
	sc, err := scenario.Load("../testdata/scenarios/large.yaml")
	if err != nil {
		b.Fatal(err)
	}
	sim, err := simulator.Start(context.Background(), sc, simulator.Options{Tick: -1, Baud: 2400, AnyPort: true})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	sim.Fleet.AdvanceTo(sim.Fleet.Start().Add(26 * time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const gap = 50 * time.Millisecond
	var pending sync.WaitGroup
	var okTasks atomic.Int64
	var worst atomic.Int64 // ns of the slowest line
	start := time.Now()
	sink := func(rs []meter.Read) {
		good := true
		for _, r := range rs {
			good = good && r.Status == meter.OK
		}
		if good {
			okTasks.Add(1)
		}
		pending.Done()
	}
	var allowed time.Duration
	eps := tcpEndpoints(sim) // the transparent TCP areas: the 376.1 ones dial a head-end
	for _, e := range eps {
		l := link.DialTCP(link.TCPConfig{Addr: e.Address})
		defer l.Close()
		m := &master.Master{Link: l, Timeout: 2 * time.Second}
		bus := poll.New(poll.DLT645{Master: m}, sink, poll.Options{Channel: e.Concentrator, Gap: gap, Retries: -1})
		var line time.Duration
		for _, a := range e.Meters {
			mt := sim.Fleet.Meter(a)
			ed := dlt645.DLT2007
			reqBytes, replyBytes := 3*20, 21+36+36
			if mt.Edition == 1997 {
				ed, reqBytes, replyBytes = dlt645.DLT1997, 2*18, 2*(12+2+20)
			}
			t := poll.Target{Address: a, Edition: ed}
			reqs := []poll.Request{{DI: 0x05060001}, {DI: 0x05060101}, {DI: 0x05060201}}
			if ed == dlt645.DLT1997 {
				reqs = []poll.Request{{DI: 0x901F}, {DI: 0x902F}}
			}
			if mt.Behaviour(sim.Fleet.Now()).Silent {
				line += time.Duration(len(reqs)) * (m.Timeout + gap)
			} else {
				line += time.Duration(reqBytes+replyBytes)*11*time.Second/2400 + time.Duration(len(reqs))*gap
			}
			pending.Add(1)
			bus.Enqueue(poll.Task{Target: t, Class: meter.Daily, Requests: reqs})
		}
		allowed = max(allowed, line)
		go func() {
			bus.Run(ctx)
		}()
	}
	b.ResetTimer()
	pending.Wait()
	took := time.Since(start)
	worst.Store(int64(took))
	b.StopTimer()
	b.ReportMetric(took.Seconds(), "cycle-s")
	b.ReportMetric(allowed.Seconds(), "arithmetic-s")
	b.ReportMetric(float64(okTasks.Load()), "meters-read")
}

// tcpEndpoints are the simulator's concentrators a benchmark dials: all
// but the Q/GDW 1376.1 ones, which dial the head-end.
func tcpEndpoints(sim *simulator.Simulator) []simulator.Endpoint {
	var out []simulator.Endpoint
	for _, e := range sim.Endpoints {
		if e.Kind != "gdw3761" {
			out = append(out, e)
		}
	}
	return out
}
