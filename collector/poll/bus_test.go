package poll

import (
	"container/heap"
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/meterbus"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
)

// busLink is a Link straight onto a simulated bus: Send hands the request
// to the meters, Receive returns their reply at once or times out at once.
// (The real links are tested in collector/link against real transports.)
type busLink struct {
	bus     *meterbus.Bus
	mu      sync.Mutex
	pending [][]byte
	sent    int
}

func (l *busLink) Send(ctx context.Context, b []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent++
	if reply := l.bus.Exchange(ctx, b); reply != nil {
		r := dlt645.NewReader(strings.NewReader(string(reply)))
		for {
			_, err := r.ReadFrame()
			if err != nil {
				if fe, ok := err.(*dlt645.FrameError); ok {
					l.pending = append(l.pending, []byte("!"+fe.Error()))
					continue
				}
				break
			}
			l.pending = append(l.pending, append([]byte(nil), r.Raw()...))
		}
	}
	return nil
}

func (l *busLink) Receive(ctx context.Context, deadline time.Time) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) == 0 {
		return nil, link.ErrTimeout
	}
	b := l.pending[0]
	l.pending = l.pending[1:]
	if len(b) > 0 && b[0] == '!' {
		return nil, &dlt645.FrameError{Err: dlt645.ErrChecksum, Detail: string(b[1:])}
	}
	return b, nil
}

func (l *busLink) Discard()          { l.mu.Lock(); l.pending = nil; l.mu.Unlock() }
func (l *busLink) State() link.State { return link.State{Online: true} }
func (l *busLink) Close() error      { return nil }

const pollScenario = `
name: poll
seed: 3
start: 2025-04-01T00:00:00+08:00
speed: 1
areas:
  - id: P1
    name: Poll
    feeder: F1
    voltage_level: 10kV/0.4kV
    ct_ratio: 10
    tech_loss_pct: 4
    address_prefix: "000007"
    customers: {residential: 6}
    edition_1997_share: 0
    concentrator: {id: C7, access: {kind: tcp-listen, listen: "127.0.0.1:0"}}
faults:
  - {area: P1, index: 1, kind: no_answer, start: "2025-04-01 00:00"}
  - {area: P1, index: 2, kind: bad_checksum, start: "2025-04-01 00:00"}
  - {area: P1, index: 3, kind: bad_checksum, rate: 0.5, start: "2025-04-01 00:00"}
`

type rig struct {
	fleet  *model.Fleet
	area   *model.Area
	link   *busLink
	master *master.Master
	bus    *Bus
	slept  []time.Duration
	reads  [][]meter.Read
	mu     sync.Mutex
}

func newRig(t *testing.T, opts Options) *rig {
	t.Helper()
	sc, err := scenario.Parse("poll.yaml", []byte(pollScenario))
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := model.New(sc.Config)
	if err != nil {
		t.Fatal(err)
	}
	fleet.AdvanceTo(fleet.Start().Add(26 * time.Hour))
	r := &rig{fleet: fleet, area: fleet.Areas()[0]}
	mb, err := meterbus.New(fleet, append([]*model.Meter{r.area.Meter}, r.area.Customers...), meterbus.Options{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	r.link = &busLink{bus: mb}
	r.master = &master.Master{Link: r.link}
	opts.Sleep = func(_ context.Context, d time.Duration) error {
		r.mu.Lock()
		r.slept = append(r.slept, d)
		r.mu.Unlock()
		return nil
	}
	r.bus = New(DLT645{Master: r.master}, func(rs []meter.Read) {
		r.mu.Lock()
		r.reads = append(r.reads, rs)
		r.mu.Unlock()
	}, opts)
	return r
}

func (r *rig) target(m *model.Meter) Target {
	return Target{Address: m.Address, Area: r.area.ID}
}

// runAll works the queue until it is empty, deterministically: Run in a
// goroutine, tasks carry Done channels, the test waits for each.
func (r *rig) runTasks(t *testing.T, tasks ...Task) [][]meter.Read {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan []meter.Read, len(tasks))
	for _, tk := range tasks {
		tk.Done = done
		r.bus.Enqueue(tk)
	}
	go r.bus.Run(ctx)
	var out [][]meter.Read
	for range tasks {
		select {
		case rs := <-done:
			out = append(out, rs)
		case <-time.After(10 * time.Second):
			t.Fatal("bus stalled")
		}
	}
	return out
}

func energy(reqs ...dlt645.DI) []Request {
	var out []Request
	for _, di := range reqs {
		out = append(out, Request{DI: di})
	}
	return out
}

func TestReadsMatchTheMeters(t *testing.T) {
	r := newRig(t, Options{Channel: "C7"})
	m := r.area.Customers[5]
	res := r.runTasks(t, Task{Target: r.target(m), Class: meter.Instantaneous, Requests: energy(0x0001FF00, 0x02010100)})
	rs := res[0]
	if len(rs) != 6 {
		t.Fatalf("%d reads: %+v", len(rs), rs)
	}
	reg := m.Registers(r.fleet.Now())
	if rs[0].Value.Units != reg.Forward[0] || rs[0].Status != meter.OK || rs[0].Quantity != "forward active energy total" || rs[0].Unit != "kWh" {
		t.Fatalf("first read %+v, model %d", rs[0], reg.Forward[0])
	}
	if rs[5].Value.Units != reg.Voltage[0] || rs[5].Channel != "C7" || rs[5].Area != "P1" {
		t.Fatalf("voltage read %+v", rs[5])
	}
	// every read carries the frames it came from
	for _, x := range rs {
		if len(x.Frame.Request) == 0 || len(x.Frame.Reply) != 1 || x.Frame.Tries != 1 {
			t.Fatalf("frame reference %+v", x.Frame)
		}
	}
	var f dlt645.Frame
	if err := f.UnmarshalBinary(rs[0].Frame.Reply[0]); err != nil || f.Address.String() != m.Address {
		t.Fatalf("reply frame of the read: %v", err)
	}
}

func TestDeadMeterCostsOneTimeoutPerCycleOnceBroken(t *testing.T) {
	r := newRig(t, Options{})
	dead, alive := r.area.Customers[0], r.area.Customers[5]
	req := energy(0x00010000, 0x00020000, 0x02010100)
	for cycle := 1; cycle <= 4; cycle++ {
		before := r.link.sent
		res := r.runTasks(t, Task{Target: r.target(dead), Requests: req}, Task{Target: r.target(alive), Requests: req})
		sentDead := r.link.sent - before - 3 // the live meter took 3
		var deadReads []meter.Read
		for _, rs := range res {
			if rs[0].Meter == dead.Address {
				deadReads = rs
			} else if rs[0].Status != meter.OK {
				t.Fatalf("cycle %d: live meter %+v", cycle, rs[0])
			}
		}
		switch cycle {
		case 1, 2: // breaker closed: every request tried 1+2 times
			if sentDead != 9 || deadReads[2].Status != meter.Failed || !strings.Contains(deadReads[2].Err, "after 3 tries") {
				t.Fatalf("cycle %d: %d transactions for the dead meter, reads %+v", cycle, sentDead, deadReads)
			}
		default: // open: one probe, the rest skipped
			if sentDead != 1 || deadReads[1].Status != meter.Skipped || deadReads[2].Status != meter.Skipped {
				t.Fatalf("cycle %d: %d transactions for the dead meter, reads %+v", cycle, sentDead, deadReads)
			}
		}
	}
	if !r.bus.BreakerOpen(dead.Address) || r.bus.BreakerOpen(alive.Address) {
		t.Fatal("breaker states")
	}
}

func TestCorruptRepliesAreRetriedAndCounted(t *testing.T) {
	r := newRig(t, Options{})
	always, sometimes := r.area.Customers[1], r.area.Customers[2]
	res := r.runTasks(t, Task{Target: r.target(always), Requests: energy(0x00010000)})
	if rs := res[0]; rs[0].Status != meter.Failed || !strings.Contains(rs[0].Err, "garbage") {
		t.Fatalf("always-corrupt meter: %+v", rs[0])
	}
	if n := r.master.Stats.BadFrames.Load(); n != 3 {
		t.Fatalf("bad frames counted %d, want 3 (one per try)", n)
	}
	// A meter that corrupts half its replies gets through on a retry.
	retried := false
	for range 10 {
		res = r.runTasks(t, Task{Target: r.target(sometimes), Requests: energy(0x00010000)})
		rs := res[0]
		if rs[0].Status == meter.OK && rs[0].Frame.Tries > 1 {
			retried = true
			if rs[0].Value.Units != sometimes.Registers(r.fleet.Now()).Forward[0] {
				t.Fatal("value after retry")
			}
			break
		}
	}
	if !retried {
		t.Fatal("no read succeeded on a retry in 10 tasks")
	}
}

func TestBackoffGapAndUrgentFirst(t *testing.T) {
	r := newRig(t, Options{Gap: 50 * time.Millisecond, Backoff: 100 * time.Millisecond})
	dead, alive := r.area.Customers[0], r.area.Customers[5]
	r.runTasks(t,
		Task{Target: r.target(dead), Requests: energy(0x00010000), Due: time.Unix(1, 0)},
		Task{Target: r.target(alive), Requests: energy(0x00010000), Due: time.Unix(0, 0)},
		Task{Target: r.target(alive), Class: meter.OnDemand, Requests: energy(0x02010100), Urgent: true, Due: time.Unix(5, 0)},
	)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reads[0][0].Class != meter.OnDemand {
		t.Fatalf("first task done was %s, want the urgent one", r.reads[0][0].Class)
	}
	if r.reads[1][0].Meter != alive.Address || r.reads[2][0].Meter != dead.Address {
		t.Fatal("scheduled tasks not in due order")
	}
	// no gap before the first transaction; a gap before every later one,
	// and before each retry the back-off, doubling, then the gap
	want := "50ms 50ms 100ms 50ms 200ms 50ms"
	var got []string
	for _, d := range r.slept {
		got = append(got, d.String())
	}
	if strings.Join(got, " ") != want {
		t.Fatalf("slept %v, want %s", got, want)
	}
}

func TestLoadProfileThroughFollowUps(t *testing.T) {
	r := newRig(t, Options{})
	m := r.area.Customers[4]
	from := dlt645.DateTime{Layout: dlt645.YYMMDDhhmm, Year: 2025, Month: 4, Day: 1, Hour: 6}
	res := r.runTasks(t, Task{Target: r.target(m), Class: meter.Interval, Requests: []Request{{DI: 0x06000001, Blocks: 8, From: from}}})
	rs := res[0]
	var times int
	for _, x := range rs {
		if x.Quantity == "record time" {
			times++
		}
	}
	if times != 8 || len(rs[0].Frame.Reply) < 2 {
		t.Fatalf("%d records from %d frames", times, len(rs[0].Frame.Reply))
	}
}

func TestLaggingLineCoalescesCycles(t *testing.T) {
	r := newRig(t, Options{})
	m := r.area.Customers[5]
	for range 5 {
		r.bus.Enqueue(Task{Target: r.target(m), Class: meter.Instantaneous, Requests: energy(0x00010000)})
	}
	if ok := r.bus.Enqueue(Task{Target: r.target(m), Class: meter.Daily, Requests: energy(0x00010000)}); !ok {
		t.Fatal("another class was coalesced")
	}
	if ok := r.bus.Enqueue(Task{Target: r.target(m), Class: meter.OnDemand, Urgent: true, Requests: energy(0x00010000)}); !ok {
		t.Fatal("an urgent task was coalesced")
	}
	st := r.bus.Stats()
	if st.Queued != 3 || st.Coalesced != 4 {
		t.Fatalf("queued %d coalesced %d", st.Queued, st.Coalesced)
	}
	// a task queued after them all (same class, another meter) runs last
	r.runTasks(t, Task{Target: r.target(r.area.Customers[4]), Class: meter.Instantaneous, Requests: energy(0x00010000)})
	// once its task has run, the meter's next cycle is taken again
	if !r.bus.Enqueue(Task{Target: r.target(m), Class: meter.Instantaneous, Requests: energy(0x00010000)}) {
		t.Fatal("next cycle refused")
	}
}

func TestGapBetweenEveryTransaction(t *testing.T) {
	r := newRig(t, Options{Gap: 30 * time.Millisecond})
	r.runTasks(t, Task{Target: r.target(r.area.Customers[5]), Requests: energy(0x00010000, 0x00020000, 0x02010100)})
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.slept) != 2 || r.slept[0] != 30*time.Millisecond || r.slept[1] != 30*time.Millisecond {
		t.Fatalf("slept %v, want the gap before the 2nd and 3rd transactions of the task", r.slept)
	}
}

// Stop lets the task in flight finish and hand on its reads, then Run
// returns; queued tasks are dropped.
func TestStopFinishesTheTaskInFlight(t *testing.T) {
	r := newRig(t, Options{})
	m := r.area.Customers[5]
	inFlight := make(chan struct{})
	release := make(chan struct{})
	// the bus's Sleep is called for the gap before the 2nd transaction:
	// hold the task there, mid-flight
	r.bus.opts.Gap = time.Millisecond
	r.bus.opts.Sleep = func(ctx context.Context, d time.Duration) error {
		close(inFlight)
		<-release
		return nil
	}
	done := make(chan []meter.Read, 2)
	r.bus.Enqueue(Task{Target: r.target(m), Requests: energy(0x00010000, 0x00020000), Done: done})
	r.bus.Enqueue(Task{Target: r.target(r.area.Customers[4]), Requests: energy(0x00010000), Done: done})
	ran := make(chan error, 1)
	go func() { ran <- r.bus.Run(context.Background()) }()
	<-inFlight
	r.bus.Stop()
	close(release)
	rs := <-done
	if len(rs) != 2 || rs[0].Status != meter.OK || rs[1].Status != meter.OK {
		t.Fatalf("the task in flight: %+v", rs)
	}
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(done) != 0 {
		t.Fatal("a queued task ran after Stop")
	}
}

func TestObserveSeesEveryTransaction(t *testing.T) {
	type seen struct {
		channel string
		err     bool
	}
	var mu sync.Mutex
	var got []seen
	r := newRig(t, Options{Channel: "C7", Observe: func(ch string, d time.Duration, err error) {
		if d < 0 {
			t.Errorf("latency %s", d)
		}
		mu.Lock()
		got = append(got, seen{ch, err != nil})
		mu.Unlock()
	}})
	dead, alive := r.area.Customers[0], r.area.Customers[5]
	r.runTasks(t, Task{Target: r.target(dead), Requests: energy(0x00010000)})
	r.runTasks(t, Task{Target: r.target(alive), Requests: energy(0x00010000)})
	mu.Lock()
	defer mu.Unlock()
	want := []seen{{"C7", true}, {"C7", true}, {"C7", true}, {"C7", false}} // a try and two retries, then an answer
	if len(got) != len(want) {
		t.Fatalf("observed %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("observed %v, want %v", got, want)
		}
	}
}

// On a busy line the daily freezes go before the instantaneous values
// that were due earlier, and urgent tasks before both.
func TestClassesOrderTheQueue(t *testing.T) {
	var q taskQueue
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for i, tk := range []Task{
		{Class: meter.Instantaneous, Due: at},
		{Class: meter.Interval, Due: at.Add(time.Minute)},
		{Class: meter.Daily, Due: at.Add(2 * time.Minute)},
		{Class: meter.Instantaneous, Due: at.Add(-time.Minute), Urgent: true},
		{Class: meter.Monthly, Due: at.Add(time.Minute)},
	} {
		heap.Push(&q, &queued{Task: tk, seq: uint64(i)})
	}
	var got []meter.Class
	for q.Len() > 0 {
		got = append(got, heap.Pop(&q).(*queued).Class)
	}
	want := []meter.Class{meter.Instantaneous, meter.Monthly, meter.Daily, meter.Interval, meter.Instantaneous}
	if !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

// The daily register read of a meter without freezes goes before the
// freezes: its value is of the moment it is read.
func TestRegistersBeforeFreezes(t *testing.T) {
	var q taskQueue
	at := time.Date(2025, 6, 1, 0, 5, 0, 0, time.UTC)
	heap.Push(&q, &queued{Task: Task{Class: meter.Daily, Due: at, Target: Target{Edition: dlt645.DLT2007}}, seq: 1})
	heap.Push(&q, &queued{Task: Task{Class: meter.Daily, Due: at.Add(time.Minute), Target: Target{Edition: dlt645.DLT1997}}, seq: 2})
	heap.Push(&q, &queued{Task: Task{Class: meter.Daily, Due: at.Add(2 * time.Minute), Target: Target{Modbus: true}}, seq: 3})
	var got []uint64
	for q.Len() > 0 {
		got = append(got, heap.Pop(&q).(*queued).seq)
	}
	if !slices.Equal(got, []uint64{2, 3, 1}) {
		t.Fatalf("order %v, want the 1997 and Modbus register reads first", got)
	}
}
