package collector

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// orderProto answers every read and records the DIs in the order asked.
type orderProto struct {
	mu   sync.Mutex
	asks []dlt645.DI
}

func (p *orderProto) Do(_ context.Context, _ poll.Target, rq poll.Request, base meter.Read) ([]meter.Read, error) {
	p.mu.Lock()
	p.asks = append(p.asks, rq.DI)
	p.mu.Unlock()
	base.Status = meter.OK
	return []meter.Read{base}, nil
}

// TestCommissioningReadsHistoryAfterTheDaysBalanced: on a line still busy
// with a commissioning backfill when the next day's daily read comes due
// (the demo's slow D05), the meters' latest freeze and the next day's
// freeze go before the older freezes, so the first day after the start
// balances; the history follows.
func TestCommissioningReadsHistoryAfterTheDaysBalanced(t *testing.T) {
	start := time.Date(2025, 6, 4, 0, 20, 0, 0, time.UTC)
	plan := schedule.DefaultReading()
	proto := &orderProto{}
	bus := poll.New(proto, nil, poll.Options{Channel: "C1"})
	tgt := poll.Target{Address: "000000000001", Edition: dlt645.DLT2007}
	for k := 3; k >= 1; k-- { // as commission enqueues them
		bus.Enqueue(poll.Task{Target: tgt, Class: meter.Daily, Due: freezeDue(start, k), Requests: plan.FreezeRequests(k)[:1]})
	}
	// the next day's daily read, due 00:05 with its jitter
	next := start.Add(24*time.Hour - 15*time.Minute + 20*time.Minute)
	other := poll.Target{Address: "000000000002", Edition: dlt645.DLT2007}
	bus.Enqueue(poll.Task{Target: other, Class: meter.Daily, Due: next, Requests: []poll.Request{{DI: 0x05060101}}})
	done := make(chan []meter.Read, 1)
	bus.Enqueue(poll.Task{Target: tgt, Class: meter.Instantaneous, Due: next.Add(time.Hour), Requests: []poll.Request{{DI: 0x00010000}}, Done: done})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go bus.Run(ctx)
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the bus did not work its queue in 10 s")
	}
	got := proto.asks
	// freeze 1 (today's), then the next day's daily read, then freezes 3 and 2
	want := []dlt645.DI{plan.FreezeRequests(1)[0].DI, 0x05060101, plan.FreezeRequests(3)[0].DI, plan.FreezeRequests(2)[0].DI, 0x00010000}
	if len(got) != len(want) {
		t.Fatalf("asked %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("asked %v, want %v", got, want)
		}
	}
}
