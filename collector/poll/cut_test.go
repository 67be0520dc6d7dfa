package poll

import (
	"context"
	"testing"

	"github.com/headend/headend/meter"
)

// stopAfterOne answers the first request, then the daemon stops (its
// context ends) in the middle of the task.
type stopAfterOne struct {
	stop  context.CancelFunc
	calls int
}

func (p *stopAfterOne) Do(ctx context.Context, _ Target, rq Request, base meter.Read) ([]meter.Read, error) {
	p.calls++
	if p.calls > 1 {
		p.stop()
		return nil, ctx.Err()
	}
	base.Status, base.DI = meter.OK, rq.DI
	return []meter.Read{base}, nil
}

// A task cut short by a stop still hands on the reads the meter answered
// (they were dropped with the rest of the task, and lost for good).
func TestTaskCutShortHandsOnWhatWasAnswered(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got []meter.Read
	b := New(&stopAfterOne{stop: cancel}, func(rs []meter.Read) { got = append(got, rs...) }, Options{Channel: "c", Retries: -1})
	b.Enqueue(Task{Target: Target{Address: "000000000001"}, Class: meter.Daily, Requests: []Request{{DI: 0x05060101}, {DI: 0x05060201}}})
	b.Run(ctx)
	if len(got) == 0 || got[0].Status != meter.OK || got[0].DI != 0x05060101 {
		t.Fatalf("handed on %+v, want the answered read", got)
	}
}
