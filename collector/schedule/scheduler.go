package schedule

import (
	"container/heap"
	"context"
	"time"

	"github.com/headend/headend/collector/poll"
)

// Clock is the scheduler's time: the real one, or one a test moves.
type Clock interface {
	Now() time.Time
	// After returns a channel that fires once d has passed.
	After(d time.Duration) <-chan time.Time
}

// RealClock is time itself.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// After is time.After.
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// ScaledClock runs at Speed times real time from Start, as metersim's
// accelerated clock does, so that a head-end can follow a simulated fleet
// (a simulated day per real minute: Speed 1440).
type ScaledClock struct {
	Start     time.Time // the clock's time at RealStart
	RealStart time.Time
	Speed     float64
}

// Now is Start plus the real time since RealStart, times Speed.
func (c ScaledClock) Now() time.Time {
	return c.Start.Add(time.Duration(float64(time.Since(c.RealStart)) * c.Speed))
}

// After fires after d of this clock's time.
func (c ScaledClock) After(d time.Duration) <-chan time.Time {
	return time.After(time.Duration(float64(d) / c.Speed))
}

// Member is a meter on a bus.
type Member struct {
	Target poll.Target
	Bus    *poll.Bus
}

// Scheduler enqueues every member's tasks on its bus when they are due.
type Scheduler struct {
	clock Clock
	plans []Plan
	items dueQueue
}

// New schedules plans for members, starting from the clock's now (a
// cycle due at this very instant is run).
func New(clock Clock, plans []Plan, members []Member) *Scheduler {
	s := &Scheduler{clock: clock, plans: plans}
	now := clock.Now().Add(-time.Nanosecond)
	for _, m := range members {
		for i := range plans {
			heap.Push(&s.items, &due{at: plans[i].next(m.Target.Address, now), member: m, plan: &plans[i]})
		}
	}
	return s
}

// Next returns when the next task is due.
func (s *Scheduler) Next() (time.Time, bool) {
	if s.items.Len() == 0 {
		return time.Time{}, false
	}
	return s.items[0].at, true
}

// Fire enqueues every task due at or before now and returns how many the
// buses took (a bus drops a meter's task while its previous one waits).
// Cycles missed while the head-end was away are not all run: only the
// latest due cycle of each meter and plan is (history comes back through
// backfill from the meters' freezes, not by replaying schedules).
func (s *Scheduler) Fire(now time.Time) int {
	n := 0
	for s.items.Len() > 0 && !s.items[0].at.After(now) {
		d := heap.Pop(&s.items).(*due)
		next := d.plan.next(d.member.Target.Address, d.at)
		if next.After(now) {
			reqs := d.plan.Requests(d.member.Target, d.at)
			if len(reqs) > 0 && d.member.Bus.Enqueue(poll.Task{Target: d.member.Target, Class: d.plan.Class, Due: d.at, Requests: reqs}) {
				n++
			}
		}
		d.at = next
		heap.Push(&s.items, d)
	}
	return n
}

// Run fires tasks as they fall due until ctx is done.
func (s *Scheduler) Run(ctx context.Context) error {
	for {
		at, ok := s.Next()
		if !ok {
			<-ctx.Done()
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.clock.After(at.Sub(s.clock.Now())):
			s.Fire(s.clock.Now())
		}
	}
}

type due struct {
	at     time.Time
	member Member
	plan   *Plan
}

type dueQueue []*due

func (q dueQueue) Len() int           { return len(q) }
func (q dueQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q dueQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *dueQueue) Push(x any)        { *q = append(*q, x.(*due)) }
func (q *dueQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
