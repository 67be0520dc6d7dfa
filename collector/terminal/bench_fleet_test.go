package terminal

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/field"
)

// The fleet test: one head-end listener holds n terminals dialled in over
// loopback and reads every terminal's daily freezes (AFN 0D F161/F163,
// 32 points each) through the frozen-mode Protocol the daemon puts on a
// gdw3761 channel, one goroutine per terminal as the daemon has one bus
// per channel. The terminals are sim/field's Fleet load tool in a child
// process (this test binary run again), so that the heap, goroutines and
// file descriptors measured here are the head-end's alone.
//
//	go test ./collector/terminal/ -run TestFleetDailyReads -v       # 50 terminals
//	HEADEND_BENCH_TERMINALS=10000 HEADEND_BENCH_HOLD=65s \
//	  go test ./collector/terminal/ -run TestFleetDailyReads -v -timeout 15m
//
// Each round (0 ms, then 300 ms answer delay on the terminal side, a GPRS
// round trip) logs the fleet in anew. HEADEND_BENCH_HOLD keeps the first
// round's fleet online that long before reading, heartbeating every 60 s
// (the small test beats every 20 ms and waits for a beat from the fleet).

const fleetPoints = 32

// fleetChild, when set, makes this test binary the load fleet:
// "addr n delay heartbeat".
const fleetChild = "HEADEND_FLEET_CHILD"

// TestFleetChild is the child process of TestFleetDailyReads; it does
// nothing in a normal run.
func TestFleetChild(t *testing.T) {
	spec := os.Getenv(fleetChild)
	if spec == "" {
		return
	}
	var addr, delayS, hbS string
	var n int
	if _, err := fmt.Sscan(spec, &addr, &n, &delayS, &hbS); err != nil {
		t.Fatalf("%s=%q: %v", fleetChild, spec, err)
	}
	delay, err1 := time.ParseDuration(delayS)
	hb, err2 := time.ParseDuration(hbS)
	if err1 != nil || err2 != nil {
		t.Fatalf("%s=%q: %v %v", fleetChild, spec, err1, err2)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &field.Fleet{Addr: addr, Area: 4401, N: n, Points: fleetPoints, Delay: delay, Heartbeat: hb}
	if err := f.Start(ctx); err != nil {
		fmt.Println("error", err)
		t.Fatal(err)
	}
	fmt.Println("ready")
	f.Wait() // until the head-end hangs up
	st := f.Stats()
	fmt.Printf("stats logins %d heartbeats %d requests %d answered %d errors %d\n", st.Logins, st.Heartbeats, st.Requests, st.Answered, st.Errors)
	f.Close()
}

// fleetRound is what one round measured.
type fleetRound struct {
	n                 int
	delay             time.Duration
	login             time.Duration // the whole fleet's logins
	heapPer, stackPer float64       // bytes per online terminal
	goroutinesPer     float64
	rssPer            float64 // VmRSS growth per terminal
	fds               int     // open descriptors with the fleet online
	read              time.Duration
	requests          int64
	reads, ok         int     // reads returned, forward totals correct
	cachedPer         float64 // the batches' heap after every meter's 05060101
	handedPer         float64 // after its 05060001 and 05060201 too (the daily task's three)
	restPer           float64 // with the batches then dropped: what is not the cache
	heartbeats        int64
	heldBeats         int64 // during the hold
	online            int
	childStats        string
}

func TestFleetDailyReads(t *testing.T) {
	n, hold := 50, time.Duration(0)
	hb := 20 * time.Millisecond
	if s := os.Getenv("HEADEND_BENCH_TERMINALS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 || n > 65535 {
			t.Fatalf("HEADEND_BENCH_TERMINALS=%q: want 1..65535", s)
		}
		hb = time.Minute
		if s := os.Getenv("HEADEND_BENCH_HOLD"); s != "" {
			if hold, err = time.ParseDuration(s); err != nil {
				t.Fatalf("HEADEND_BENCH_HOLD=%q: %v", s, err)
			}
		}
	}
	for i, delay := range []time.Duration{0, 300 * time.Millisecond} {
		h := time.Duration(0)
		if i == 0 {
			h = hold
		}
		r := fleetRun(t, n, delay, hb, h)
		t.Logf("%d terminals, %v answer delay: logins %v; per online terminal: heap %.0f B, stack %.0f B, %.2f goroutines, RSS %.0f B; %d fds open",
			r.n, r.delay, r.login.Round(time.Millisecond), r.heapPer, r.stackPer, r.goroutinesPer, r.rssPer, r.fds)
		t.Logf("  daily freezes of %d terminals x %d points: %v, %d requests, %d reads (%d forward totals right); batches cached %.0f B/terminal, %.0f B once every freeze is handed over (%.0f B of it not the batches); %d heartbeats (%d in the hold), %d online after; fleet: %s",
			r.n, fleetPoints, r.read.Round(time.Millisecond), r.requests, r.reads, r.ok, r.cachedPer, r.handedPer, r.restPer, r.heartbeats, r.heldBeats, r.online, r.childStats)
		if r.ok != n*fleetPoints {
			t.Errorf("%d forward totals right, want %d (every point of every terminal)", r.ok, n*fleetPoints)
		}
		if r.requests != int64(n) {
			t.Errorf("%d read requests, want %d (one per terminal of %d points)", r.requests, n, fleetPoints)
		}
		if h >= hb && r.heldBeats < int64(n) {
			t.Errorf("%d heartbeats in a hold of %v, want one from each of %d terminals at least", r.heldBeats, h, n)
		}
		if r.online != n {
			t.Errorf("%d terminals online after the reads, want %d", r.online, n)
		}
	}
}

// fleetRun logs n terminals in (a child process answering after delay,
// beating every hb), holds them for hold, and reads every terminal's day.
func fleetRun(t *testing.T, n int, delay, hb, hold time.Duration) fleetRound {
	r := fleetRound{n: n, delay: delay}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute+time.Duration(n)*5*time.Millisecond+hold)
	defer cancel()
	debug.FreeOSMemory()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	g0, rss0 := runtime.NumGoroutine(), rss(t)
	var logins atomic.Int64
	lctx, stop := context.WithCancel(ctx)
	l := Listen(lctx, ln, Config{Known: func(string) (time.Duration, bool) { return hb, true }, Location: time.UTC,
		OnEvent: func(e Event) {
			if e.Kind == EventLogin {
				logins.Add(1)
			}
		}})
	closed := false
	closeAll := func() {
		if !closed {
			closed = true
			stop()
			l.Close()
			l.wg.Wait()
		}
	}
	defer closeAll()

	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestFleetChild$", "-test.v=false")
	child.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %s %s", fleetChild, ln.Addr(), n, delay, hb))
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	start := time.Now()
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	defer child.Wait()
	defer closeAll() // before Wait: the fleet ends when the head-end hangs up
	ready := false
	for !ready && lines.Scan() {
		ready = lines.Text() == "ready"
		if strings.HasPrefix(lines.Text(), "error") {
			t.Fatalf("load fleet: %s", lines.Text())
		}
	}
	if !ready {
		t.Fatal("load fleet ended before its terminals were logged in")
	}
	waitFor(t, "every login", func() bool { return logins.Load() == int64(n) })
	r.login = time.Since(start)

	debug.FreeOSMemory()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	r.heapPer = float64(int64(m1.HeapInuse)-int64(m0.HeapInuse)) / float64(n)
	r.stackPer = float64(int64(m1.StackInuse)-int64(m0.StackInuse)) / float64(n)
	r.goroutinesPer = float64(runtime.NumGoroutine()-g0) / float64(n)
	r.rssPer = float64(rss(t)-rss0) / float64(n)
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		r.fds = len(ents)
	}

	switch {
	case hold > 0:
		hb0 := l.Stats().Heartbeats
		time.Sleep(hold) // the benchmark holds the fleet: heartbeats arrive meanwhile
		r.heldBeats = l.Stats().Heartbeats - hb0
	case hb < time.Second:
		hb0 := l.Stats().Heartbeats
		waitFor(t, "a heartbeat from every terminal", func() bool { return l.Stats().Heartbeats >= hb0+int64(n) })
	}

	day := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	protos := make([]*Protocol, n)
	for i := range protos {
		s, ok := l.Terminal(fmt.Sprintf("4401 %04X", i+1))
		if !ok {
			t.Fatalf("terminal %d has no session", i+1)
		}
		protos[i] = fleetProtocol(s, i+1, day.AddDate(0, 0, 1))
	}
	// no deadline, as the daemon's buses: each Exchange gets Config.Timeout (30 s)
	rctx, rcancel := context.WithCancel(context.Background())
	defer rcancel()
	var ok, reads, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start = time.Now()
	for i, p := range protos {
		wg.Go(func() {
			for pn := 1; pn <= fleetPoints; pn++ {
				tgt := poll.Target{Address: fleetMeter(i+1, pn)}
				got, err := p.Do(rctx, tgt, poll.Request{DI: 0x05060101}, meter.Read{Meter: tgt.Address, Class: meter.Daily})
				if err != nil {
					if failed.Add(1) == 1 {
						firstErr.Store(fmt.Errorf("terminal %d p%d: %w", i+1, pn, err))
					}
					return
				}
				reads.Add(int64(len(got)))
				want := fmt.Sprintf("%d.1234", pn)
				for _, rd := range got {
					if rd.Quantity == "daily freeze -1 forward active energy total" && rd.Status == meter.OK && rd.Value.String() == want {
						ok.Add(1)
					}
				}
			}
		})
	}
	wg.Wait()
	r.read = time.Since(start)
	if n := failed.Load(); n > 0 {
		t.Errorf("%d terminals' reads failed; the first: %v", n, firstErr.Load())
	}
	r.ok, r.reads = int(ok.Load()), int(reads.Load())
	runtime.GC()
	var m2 runtime.MemStats
	runtime.ReadMemStats(&m2)
	r.cachedPer = float64(int64(m2.HeapInuse)-int64(m1.HeapInuse)) / float64(n)
	// the rest of the daily task (the freeze time, the reverse energy):
	// from the batches, which then let go of each meter handed over
	for i, p := range protos {
		wg.Go(func() {
			for pn := 1; pn <= fleetPoints; pn++ {
				tgt := poll.Target{Address: fleetMeter(i+1, pn)}
				for _, di := range []dlt645.DI{0x05060001, 0x05060201} {
					if _, err := p.Do(rctx, tgt, poll.Request{DI: di}, meter.Read{Meter: tgt.Address, Class: meter.Daily}); err != nil {
						failed.Add(1)
					}
				}
			}
		})
	}
	wg.Wait()
	runtime.GC()
	var m3 runtime.MemStats
	runtime.ReadMemStats(&m3)
	r.handedPer = float64(int64(m3.HeapInuse)-int64(m1.HeapInuse)) / float64(n)
	for _, p := range protos {
		p.mu.Lock()
		p.batches = nil
		p.mu.Unlock()
	}
	runtime.GC()
	var m4 runtime.MemStats
	runtime.ReadMemStats(&m4)
	r.restPer = float64(int64(m4.HeapInuse)-int64(m1.HeapInuse)) / float64(n)
	if n := failed.Load(); n > 0 {
		t.Errorf("%d reads of the freeze time and reverse energy failed", n)
	}
	for _, p := range protos {
		r.requests += p.Requests()
	}
	runtime.KeepAlive(protos)
	st := l.Stats()
	r.heartbeats, r.online = st.Heartbeats, st.Online
	closeAll()
	for lines.Scan() {
		if s, ok := strings.CutPrefix(lines.Text(), "stats "); ok {
			r.childStats = s
		}
	}
	return r
}

// fleetProtocol is the frozen-mode Protocol of terminal i's channel, as
// collector.terminalProtocol builds it, its clock on the day after day.
func fleetProtocol(s *Session, i int, today time.Time) *Protocol {
	points := make([]Point, fleetPoints)
	for pn := range points {
		points[pn] = Point{Pn: uint16(pn + 1), Meter: fleetMeter(i, pn+1), Area: "A" + strconv.Itoa(i), Channel: "gdw" + strconv.Itoa(i)}
	}
	return &Protocol{Reader: &Reader{Session: s, Location: time.UTC, Now: func() time.Time { return today.Add(time.Hour) }},
		Mode: "frozen", Points: func() []Point { return points }}
}

func fleetMeter(i, pn int) string { return fmt.Sprintf("%06d%06d", i, pn) }

// rss is the process's resident set, bytes.
func rss(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
