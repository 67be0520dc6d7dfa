package collector

import (
	"context"
	"testing"
	"time"

	"github.com/headend/headend/meter"
)

// Against the simulator over the real poll code: a meter that answers ERR
// "no requested data" to block DIs but answers single DIs gets its
// voltages, currents and reverse energy stored as the same quantities a
// block would give, and the collector remembers that it refuses blocks,
// across a reload too.
func TestBlockRefusedReadAsSingles(t *testing.T) {
	sim, cfg := fleet(t, "noblocks", area("TCP", "000041", `{kind: tcp-listen, listen: "127.0.0.1:0"}`), `faults:
  - {area: TCP, index: 1, kind: no_blocks, start: "2025-05-01 00:00"}
`, `  instantaneous: {enabled: true, spec: every 15m, jitter: 0s}
  interval: {enabled: false}
  daily: {enabled: false}
  monthly: {enabled: false}
  clock: {enabled: false}
`)
	start := sim.Fleet.Start()
	sim.Fleet.AdvanceTo(start.Add(10 * time.Hour))
	clock := &testClock{now: start.Add(10*time.Hour - time.Minute)}
	tasks := make(chan []meter.Read, 100)
	c, _ := New(cfg, Options{Clock: clock, Sink: func(rs []meter.Read) { tasks <- rs }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	clock.Set(start.Add(10 * time.Hour))
	refuser := sim.Fleet.Area("TCP").Customers[0].Address
	var got map[string]meter.Read
	deadline := time.After(20 * time.Second)
	for got == nil {
		select {
		case rs := <-tasks:
			if rs[0].Meter == refuser && rs[0].Class == meter.Instantaneous {
				got = map[string]meter.Read{}
				for _, r := range rs {
					got[r.Quantity] = r
				}
			}
		case <-deadline:
			t.Fatal("no instantaneous read of the meter that refuses blocks")
		}
	}
	for _, q := range []string{"phase A voltage", "phase A current", "forward active energy total", "reverse active energy total"} {
		if r, ok := got[q]; !ok || r.Status != meter.OK {
			t.Errorf("%s: %+v (reads %v)", q, r, keys(got))
		}
	}
	if !c.answers.Refuses(refuser, 0x0201FF00, clock.Now()) {
		t.Error("the collector did not learn that the meter refuses 0201FF00")
	}
	// a reload: the collector that follows knows it from the start
	cancel()
	<-done
	c2, _ := New(cfg, Options{Clock: clock})
	if err := c2.openLedger(); err != nil {
		t.Fatal(err)
	}
	defer c2.ledger.Close()
	defer c2.marks.Close()
	if !c2.answers.Refuses(refuser, 0x0201FF00, clock.Now()) {
		t.Error("the refusal of 0201FF00 was forgotten across a reload")
	}
}

func keys(m map[string]meter.Read) []string {
	var out []string
	for k, r := range m {
		out = append(out, k+"="+string(r.Status))
	}
	return out
}
