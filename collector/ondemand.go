package collector

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// Errors of [Collector.Do].
var (
	// ErrNoTarget: the target is neither a meter nor a channel of the archive.
	ErrNoTarget = errors.New("collector: no such meter or channel")
	// ErrNotDLT645: the meter or channel is read over Modbus, or its
	// channel is not open (the collector has not started it yet).
	ErrNotDLT645 = errors.New("collector: no DL/T 645 bus to work on")
	// ErrStopping: the collector stopped before the work got its turn.
	ErrStopping = errors.New("collector: stopping")
)

// Do runs fn on the bus of target, a meter's address or a channel's id,
// when the bus gets to it: as an urgent task, after the transaction in
// flight and the channel's gap, so that fn has the half-duplex bus to
// itself and never interleaves with polling (which waits until fn
// returns). fn gets the channel's master and the meter's edition (for a
// channel: that of its first meter, or 2007). Do returns fn's error, or
// ctx's when ctx ends before fn started; once started, fn's ctx ends with
// ctx or the collector, and Do waits for fn to return.
func (c *Collector) Do(ctx context.Context, target string, fn func(ctx context.Context, m *master.Master, ed dlt645.Edition) error) error {
	chID, ed := target, dlt645.DLT2007
	if m, ok := c.idx.Meter(target); ok {
		e, ok := m.Edition.DLT645()
		if !ok {
			return fmt.Errorf("%w: meter %s is read over Modbus", ErrNotDLT645, target)
		}
		chID, ed = m.Channel, e
	} else if _, ok := c.idx.Channel(target); !ok {
		return fmt.Errorf("%w: %q", ErrNoTarget, target)
	} else {
		for _, m := range c.idx.MetersOnChannel(target) {
			if e, ok := m.Edition.DLT645(); ok {
				ed = e
				break
			}
		}
	}
	ch := c.channel(chID)
	if ch == nil || ch.jobs == nil {
		return fmt.Errorf("%w: channel %s is not open or not DL/T 645", ErrNotDLT645, chID)
	}
	j := &job{ctx: ctx, done: make(chan error, 1), fn: func(ctx context.Context) error { return fn(ctx, ch.master, ed) }}
	id := ch.jobs.add(j)
	ch.bus.Enqueue(poll.Task{Target: poll.Target{Address: onDemandAddress, Edition: ed}, Class: meter.OnDemand,
		Urgent: true, Requests: []poll.Request{{DI: dlt645.DI(id)}}})
	var stop error
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		stop = ctx.Err()
	case <-c.drain:
		stop = fmt.Errorf("%w: on-demand work on %s dropped", ErrStopping, chID)
	}
	if ch.jobs.take(id) != nil {
		return stop // never started
	}
	return <-j.done // running: its ctx ends with ours, so it returns soon
}

// ArchiveIndex returns the archive the collector runs on.
func (c *Collector) ArchiveIndex() *archive.Index { return c.idx }

// onDemandAddress is the target of job tasks; it is no meter address,
// so that no meter's breaker or pending task is touched.
const onDemandAddress = "on-demand"

// onDemand is a channel's protocol with room for on-demand work: a task
// for onDemandAddress carries a job ticket in its one request's DI, and
// the job runs inside the bus's transaction slot.
type onDemand struct {
	poll.Protocol

	mu   sync.Mutex
	next uint32
	jobs map[uint32]*job
}

type job struct {
	ctx  context.Context // the caller's
	fn   func(ctx context.Context) error
	done chan error // buffered: the bus never waits for the caller
}

func (p *onDemand) add(j *job) uint32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.jobs == nil {
		p.jobs = map[uint32]*job{}
	}
	p.next++
	p.jobs[p.next] = j
	return p.next
}

// take removes job id and returns it, or nil if the bus took it first.
func (p *onDemand) take(id uint32) *job {
	p.mu.Lock()
	defer p.mu.Unlock()
	j := p.jobs[id]
	delete(p.jobs, id)
	return j
}

// Do runs a job for a job task and does a read for any other.
func (p *onDemand) Do(ctx context.Context, t poll.Target, rq poll.Request, base meter.Read) ([]meter.Read, error) {
	if t.Address != onDemandAddress {
		return p.Protocol.Do(ctx, t, rq, base)
	}
	j := p.take(uint32(rq.DI))
	if j == nil {
		return nil, nil // the caller gave up before its turn
	}
	j.done <- p.run(ctx, j)
	return nil, nil
}

func (p *onDemand) run(busCtx context.Context, j *job) (err error) {
	ctx, cancel := context.WithCancel(busCtx)
	defer cancel()
	defer context.AfterFunc(j.ctx, cancel)()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("collector: on-demand work panicked: %v", r)
		}
	}()
	return j.fn(ctx)
}
