package simulator

import (
	"bufio"
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/scenario"
)

// BenchmarkLargeScenarioReads runs the large scenario (100 concentrators,
// 20,100 meters) with zero line delay and reads meters over loopback TCP,
// one connection per concentrator, one transaction at a time on each, as
// a head-end would. It reports reads per second and the process's peak
// resident memory.
//
//	go test ./sim/simulator -run '^$' -bench LargeScenario -benchtime 200000x
func BenchmarkLargeScenarioReads(b *testing.B) {
	sc, err := scenario.Load("../../testdata/scenarios/large.yaml")
	if err != nil {
		b.Fatal(err)
	}
	noSleep := func(context.Context, time.Duration) error { return nil }
	sim, err := Start(context.Background(), sc, Options{Tick: -1, ZeroDelay: true, AnyPort: true, Sleep: noSleep})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	sim.Fleet.AdvanceTo(sim.Fleet.Start().Add(26 * time.Hour))

	type target struct {
		addr string
		req  []byte
	}
	var lines [][]target
	eps := tcpEndpoints(sim) // the transparent TCP areas: the 376.1 ones dial a head-end
	for _, e := range eps {
		var ts []target
		for _, a := range e.Meters {
			ed := dlt645.DLT2007
			di := dlt645.DI(0x00010000)
			if sim.Fleet.Meter(a).Edition == 1997 {
				ed, di = dlt645.DLT1997, 0x9010
			}
			f, _ := ed.ReadRequest(dlt645.MustParseAddress(a), di)
			req, _ := f.MarshalBinary()
			ts = append(ts, target{a, req})
		}
		lines = append(lines, ts)
	}
	conns := make([]net.Conn, len(lines))
	for i, e := range eps {
		if conns[i], err = net.Dial("tcp", e.Address); err != nil {
			b.Fatal(err)
		}
		defer conns[i].Close()
	}
	var done, failed atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := b.N / len(lines)
	for i := range lines {
		wg.Go(func() {
			c := conns[i]
			r := dlt645.NewReader(c)
			c.SetDeadline(time.Now().Add(10 * time.Minute))
			for n := 0; n < per; n++ {
				t := lines[i][n%len(lines[i])]
				if _, err := c.Write(t.req); err != nil {
					b.Error(err)
					return
				}
				if sim.Fleet.Meter(t.addr).Behaviour(sim.Fleet.Now()).Silent {
					failed.Add(1) // a planted dead meter: no reply to wait for
					continue
				}
				if _, err := r.ReadFrame(); err != nil {
					b.Error(err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(done.Load())/elapsed.Seconds(), "reads/s")
	b.ReportMetric(float64(peakRSS())/1024, "peak-RSS-MB")
}

// peakRSS returns the process's peak resident set (VmHWM) in KiB.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// tcpEndpoints are the simulator's concentrators a benchmark dials: all
// but the Q/GDW 1376.1 ones, which dial the head-end.
func tcpEndpoints(sim *Simulator) []Endpoint {
	var out []Endpoint
	for _, e := range sim.Endpoints {
		if e.Kind != "gdw3761" {
			out = append(out, e)
		}
	}
	return out
}
