package poll

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// Options tune a Bus. Zero values are the defaults.
type Options struct {
	Channel string        // name, carried on every read
	Gap     time.Duration // quiet time between transactions; some meters drop a request that follows a reply too closely
	Retries int           // further tries after a failed transaction (timeout, garbage); default 2, -1 for none
	Backoff time.Duration // wait before the first retry, doubled each time; default 200 ms
	// BreakAfter is how many failed tasks in a row open a meter's
	// breaker; default 2. An open breaker rests for Cooldown: the
	// meter's tasks are skipped without a transaction. The first task
	// after the rest sends one probe transaction (the task's other
	// requests are skipped if it fails); a failed probe doubles the rest
	// up to MaxCooldown, a success closes the breaker. Cooldown 0 rests
	// not at all (every task probes); MaxCooldown below Cooldown is
	// taken as Cooldown.
	BreakAfter  int
	Cooldown    time.Duration
	MaxCooldown time.Duration
	// Elapsed is the clock the breaker's rest is measured on: real time,
	// the time base of the transaction timeouts, even when Now is a
	// simulated clock. nil: time.Now. Tests inject one.
	Elapsed func() time.Time
	// Breakers, if set, holds the meters' breaker states, so that they
	// outlive this Bus (a configuration reload builds new ones).
	Breakers *Breakers
	Now      func() time.Time                                 // nil: time.Now
	Sleep    func(ctx context.Context, d time.Duration) error // nil: a timer; tests inject one
	// Observe, if set, is told of every transaction: the channel, how
	// long it took (real time) and its error (nil: an answer, a refusal
	// included). It must not block.
	Observe func(channel string, d time.Duration, err error)
}

// Protocol performs one transaction on a bus: DL/T 645 through a
// master.Master (DLT645), Modbus through a register map (collector/modbus).
type Protocol interface {
	// Do reads rq from t and returns its reads (base filled in with
	// values, units and the frames). An error means no usable answer and
	// is retried; a refusal by the meter is not an error but reads with
	// status Refused or NoData.
	Do(ctx context.Context, t Target, rq Request, base meter.Read) ([]meter.Read, error)
}

// Bus runs the tasks of one channel, one transaction at a time.
type Bus struct {
	proto Protocol
	opts  Options
	sink  Sink

	mu      sync.Mutex
	queue   taskQueue
	wake    chan struct{}
	seq     uint64
	breaker *Breakers
	pending map[pendingKey]bool
	stats   Stats
	busy    bool // a transaction has run: the next one waits the gap (Run's goroutine only)
	stopped bool // Stop was called: Run returns after the current task
}

// Stats are a bus's counters and health.
type Stats struct {
	Tasks, Transactions, Retries, Failed, Skipped int64
	Coalesced                                     int64 // scheduled tasks dropped: the meter's previous one was still waiting
	Queued                                        int
	LastSuccess                                   time.Time
}

type breaker struct {
	failures int           // failed tasks in a row
	open     bool          // resting or probing
	rest     time.Duration // length of the current rest
	until    time.Time     // end of the rest, on Options.Elapsed
}

// Breakers holds the circuit breakers of meters, by address. One
// registry handed to successive Buses (Options.Breakers) keeps an open
// breaker open, and its rest running, across a configuration reload.
// The zero value is ready to use; it is safe for concurrent use.
type Breakers struct {
	mu sync.Mutex
	m  map[string]*breaker
}

// BreakerState is a meter's breaker as Breakers.State reports it.
type BreakerState struct {
	Failures int           // failed tasks in a row
	Open     bool          // resting, or waiting to probe
	Rest     time.Duration // length of the current rest
	Until    time.Time     // end of the rest, real time (Options.Elapsed)
}

// State returns a meter's breaker state; the zero value for one never seen.
func (r *Breakers) State(addr string) BreakerState {
	r.mu.Lock()
	defer r.mu.Unlock()
	br := r.m[addr]
	if br == nil {
		return BreakerState{}
	}
	return BreakerState{Failures: br.failures, Open: br.open, Rest: br.rest, Until: br.until}
}

// get returns addr's breaker, made if new; r.mu held.
func (r *Breakers) get(addr string) *breaker {
	if r.m == nil {
		r.m = map[string]*breaker{}
	}
	br := r.m[addr]
	if br == nil {
		br = &breaker{}
		r.m[addr] = br
	}
	return br
}

// New returns a Bus that reads through proto and hands reads to sink.
func New(proto Protocol, sink Sink, opts Options) *Bus {
	if opts.Retries == 0 {
		opts.Retries = 2
	} else if opts.Retries < 0 {
		opts.Retries = 0
	}
	if opts.Backoff == 0 {
		opts.Backoff = 200 * time.Millisecond
	}
	if opts.BreakAfter == 0 {
		opts.BreakAfter = 2
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.Elapsed == nil {
		opts.Elapsed = time.Now
	}
	if opts.Cooldown < 0 {
		opts.Cooldown = 0
	}
	if opts.MaxCooldown < opts.Cooldown {
		opts.MaxCooldown = opts.Cooldown
	}
	br := opts.Breakers
	if br == nil {
		br = &Breakers{}
	}
	return &Bus{proto: proto, opts: opts, sink: sink, wake: make(chan struct{}, 1), breaker: br, pending: map[pendingKey]bool{}}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Enqueue adds a task. Urgent tasks run next; others by class (see rank),
// then in order of Due. A
// scheduled task for a meter and class that is still waiting from an
// earlier cycle replaces nothing and is dropped (it reports false): a line
// that falls behind reads each meter once when it gets to it, instead of
// piling up cycles it can never catch up with.
func (b *Bus) Enqueue(t Task) bool {
	b.mu.Lock()
	k := keyOf(&t)
	if !t.Urgent && b.pending[k] {
		b.stats.Coalesced++
		b.mu.Unlock()
		return false
	}
	if !t.Urgent {
		b.pending[k] = true
	}
	b.seq++
	heap.Push(&b.queue, &queued{Task: t, seq: b.seq})
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return true
}

// pendingKey identifies a scheduled task for coalescing: a meter, a class
// and what it reads first (so that backfill tasks for different freezes
// of one meter stay apart).
type pendingKey struct {
	meter string
	class meter.Class
	first dlt645.DI
}

func keyOf(t *Task) pendingKey {
	k := pendingKey{meter: t.Target.Address, class: t.Class}
	if len(t.Requests) > 0 {
		k.first = t.Requests[0].DI
	}
	return k
}

// Stats returns a snapshot of the counters.
func (b *Bus) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Queued = b.queue.Len()
	return s
}

// BreakerOpen reports whether a meter's breaker is open.
func (b *Bus) BreakerOpen(addr string) bool {
	return b.breaker.State(addr).Open
}

// Stop makes Run return once the task in flight, if any, is finished;
// tasks still queued are dropped. It is how a reload lets reads in flight
// complete.
func (b *Bus) Stop() {
	b.mu.Lock()
	b.stopped = true
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Run works the queue until ctx is done or Stop is called.
func (b *Bus) Run(ctx context.Context) error {
	for {
		b.mu.Lock()
		stopped := b.stopped
		b.mu.Unlock()
		if stopped {
			return nil
		}
		t := b.next()
		if t == nil {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-b.wake:
				continue
			}
		}
		reads := b.run(ctx, t)
		if b.sink != nil && (ctx.Err() == nil || answered(reads)) {
			// a task cut short by the end still hands on what the meter
			// answered: those reads were on the wire, and nothing else
			// will read them again before the next schedule
			b.sink(reads)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if t.Done != nil {
			t.Done <- reads
		}
	}
}

// answered reports whether any read carries the meter's answer.
func answered(reads []meter.Read) bool {
	for i := range reads {
		if reads[i].Status != meter.Failed && reads[i].Status != meter.Skipped {
			return true
		}
	}
	return false
}

func (b *Bus) next() *Task {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.queue.Len() == 0 {
		return nil
	}
	q := heap.Pop(&b.queue).(*queued)
	if !q.Urgent {
		delete(b.pending, keyOf(&q.Task))
	}
	return &q.Task
}

// run does one task: every request, with retries, behind the breaker.
func (b *Bus) run(ctx context.Context, t *Task) []meter.Read {
	b.count(func(s *Stats) { s.Tasks++ })
	reg := b.breaker
	reg.mu.Lock()
	br := reg.get(t.Target.Address)
	probing, resting := br.open, br.open && b.opts.Elapsed().Before(br.until)
	until := br.until
	reg.mu.Unlock()

	var out []meter.Read
	okAny, failedAll := false, true
	for i, rq := range t.Requests {
		base := meter.Read{Meter: t.Target.Address, Area: t.Target.Area, Channel: b.opts.Channel, Class: t.Class,
			DI: rq.DI, Edition: t.Target.Edition, Quantity: Asked(t.Target.Edition, rq.DI)}
		if resting {
			base.Status, base.ReadAt = meter.Skipped, b.opts.Now()
			base.Err = fmt.Sprintf("circuit breaker open: the meter rests for another %s (real time)", until.Sub(b.opts.Elapsed()).Round(time.Millisecond))
			b.count(func(s *Stats) { s.Skipped++ })
			out = append(out, base)
			continue
		}
		if probing && i > 0 && !okAny {
			base.Status, base.Err, base.ReadAt = meter.Skipped, "circuit breaker open: the meter failed its probe", b.opts.Now()
			b.count(func(s *Stats) { s.Skipped++ })
			out = append(out, base)
			continue
		}
		tries := 1 + b.opts.Retries
		if probing {
			tries = 1 // a dead meter costs one timeout per cycle
		}
		reads := b.request(ctx, t.Target, rq, base, tries)
		for _, r := range reads {
			if r.Status != meter.Failed {
				failedAll = false
				okAny = true
			}
		}
		out = append(out, reads...)
		if ctx.Err() != nil {
			return out
		}
	}
	if resting {
		return out
	}
	reg.mu.Lock()
	if failedAll && len(t.Requests) > 0 {
		br.failures++
		switch {
		case probing: // the probe failed: rest twice as long
			br.rest = min(2*br.rest, b.opts.MaxCooldown)
			br.until = b.opts.Elapsed().Add(br.rest)
		case br.failures >= b.opts.BreakAfter:
			br.open, br.rest = true, b.opts.Cooldown
			br.until = b.opts.Elapsed().Add(br.rest)
		}
		reg.mu.Unlock()
	} else {
		*br = breaker{}
		reg.mu.Unlock()
		b.count(func(s *Stats) { s.LastSuccess = b.opts.Now() })
	}
	return out
}

func (b *Bus) count(f func(*Stats)) {
	b.mu.Lock()
	f(&b.stats)
	b.mu.Unlock()
}

// request performs one request with up to tries transactions.
func (b *Bus) request(ctx context.Context, t Target, rq Request, base meter.Read, tries int) []meter.Read {
	backoff := b.opts.Backoff
	var last error
	for try := 1; try <= tries; try++ {
		if try > 1 {
			b.count(func(s *Stats) { s.Retries++ })
			if b.opts.Sleep(ctx, backoff) != nil {
				break
			}
			backoff *= 2
		}
		// the quiet time between one transaction and the next, whatever
		// task they belong to
		if b.busy && b.opts.Gap > 0 && b.opts.Sleep(ctx, b.opts.Gap) != nil {
			break
		}
		b.busy = true
		b.count(func(s *Stats) { s.Transactions++ })
		base.Frame.Tries = try
		start := time.Now()
		reads, err := b.proto.Do(ctx, t, rq, base)
		if b.opts.Observe != nil {
			b.opts.Observe(b.opts.Channel, time.Since(start), err)
		}
		if err == nil {
			return reads
		}
		last = err
		if ctx.Err() != nil {
			break
		}
	}
	b.count(func(s *Stats) { s.Failed++ })
	base.Status, base.ReadAt = meter.Failed, b.opts.Now()
	if last != nil {
		base.Err = fmt.Sprintf("after %d tries: %v", tries, last)
	}
	return []meter.Read{base}
}

// taskQueue orders urgent tasks first, then by due time, then by arrival.
type taskQueue []*queued

type queued struct {
	Task
	seq uint64
}

func (q taskQueue) Len() int { return len(q) }

// rank orders the classes on a busy line: the register reads billing and
// line loss are computed from (settlement, daily freezes and their
// backfill) first, then the clock and the load profile, and the
// instantaneous values, which a later read replaces anyway, last.
func rank(c meter.Class) int {
	switch c {
	case meter.Monthly, meter.Daily:
		return 0
	case meter.Clock, meter.Interval:
		return 1
	}
	return 2
}

// rankOf is a task's place by rank, with one exception before all: the
// daily read of a meter that keeps no daily freeze (DL/T 645-1997,
// Modbus) reads its registers now, so it must come as close after
// midnight as the line allows, while a freeze can be read at any hour.
func rankOf(t *Task) int {
	if t.Class == meter.Daily && (t.Target.Modbus || t.Target.Edition == dlt645.DLT1997) {
		return -1
	}
	return rank(t.Class)
}

func (q taskQueue) Less(i, j int) bool {
	a, b := q[i], q[j]
	if a.Urgent != b.Urgent {
		return a.Urgent
	}
	if pa, pb := rankOf(&a.Task), rankOf(&b.Task); pa != pb {
		return pa < pb
	}
	if !a.Due.Equal(b.Due) {
		return a.Due.Before(b.Due)
	}
	return a.seq < b.seq
}
func (q taskQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *taskQueue) Push(x any)   { *q = append(*q, x.(*queued)) }
func (q *taskQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// Asked names what a request asked for, so that a read that failed says
// which quantity is missing: the data identifier's name, or "DI" and its
// code when the registry does not know it.
func Asked(ed dlt645.Edition, di dlt645.DI) string {
	if s, ok := ed.Registry().Lookup(di); ok && s.Name != "" {
		return s.Name
	}
	return "DI " + di.Format(ed)
}
