package terminal

import (
	"context"
	"testing"
	"time"

	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
)

// TestCurrentReReadIsIdempotent: current data read again before the
// concentrator has collected anew (its 15-minute round) is the same
// reads under the same store keys (the meter time is the concentrator's
// reading time), so the store replaces them; after its next round they
// are new keys. The dead meter's current data is failed.
func TestCurrentReReadIsIdempotent(t *testing.T) {
	a := startSimArea(t)
	ctx := context.Background()
	a.clock.t = a.clock.t.Add(10 * time.Hour) // 2025-04-01 10:00
	a.term.Collect(ctx)
	p := &Protocol{Reader: a.reader(), Mode: "current", Points: func() []Point { return a.points }}
	keys := func() map[store.Key]string {
		out := map[store.Key]string{}
		for _, pt := range a.points {
			for _, di := range []dlt645.DI{0x0001FF00, 0x0201FF00} {
				rs, err := p.Do(ctx, poll.Target{Address: pt.Meter, Edition: dlt645.DLT2007}, poll.Request{DI: di},
					meter.Read{Meter: pt.Meter, Class: meter.Instantaneous, DI: di})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rs {
					if pt == a.dead && r.Status != meter.Failed || pt != a.dead && r.Status != meter.OK {
						t.Fatalf("point %d: %+v", pt.Pn, r)
					}
					if r.Status == meter.OK {
						out[store.KeyOf(&r)] = r.Value.String()
					}
				}
			}
		}
		return out
	}
	a.clock.t = a.clock.t.Add(3 * time.Minute)
	first := keys()
	a.clock.t = a.clock.t.Add(6 * time.Minute) // 10:09: past Fresh, before the concentrator's 10:15 round
	again := keys()
	if p.Requests() != 2 {
		t.Fatalf("%d requests, want 2 (Fresh passed)", p.Requests())
	}
	if len(first) == 0 || len(again) != len(first) {
		t.Fatalf("%d keys, then %d", len(first), len(again))
	}
	for k, v := range first {
		if again[k] != v {
			t.Fatalf("re-read of %+v: %q, first %q", k, again[k], v)
		}
	}
	a.clock.t = a.clock.t.Add(7 * time.Minute) // 10:16
	a.term.Collect(ctx)
	for k := range keys() {
		if _, ok := first[k]; ok {
			t.Fatalf("after the concentrator's next round, key %+v again", k)
		}
	}
}
