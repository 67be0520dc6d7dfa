package terminal

import (
	"context"
	"testing"

	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// TestUnservedHandsOverTheBatch: one meter's daily freeze reads the
// whole area's batch; what the other meters' tasks never asked for (a
// stop came first) is taken out by Unserved, each live meter's three
// identifiers with the reply's frames and the freeze's day, the asked
// meter's remaining two; nothing is taken out twice.
func TestUnservedHandsOverTheBatch(t *testing.T) {
	a := startSimArea(t)
	day := a.clock.t
	p := a.collected()
	ctx := context.Background()
	first := a.points[0]
	tg := poll.Target{Address: first.Meter, Edition: dlt645.DLT2007, Area: "D1"}
	if _, err := p.Do(ctx, tg, poll.Request{DI: 0x05060101}, meter.Read{Meter: first.Meter, Area: "D1", Class: meter.Daily, DI: 0x05060101}); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[dlt645.DI]meter.Read{}
	for _, reads := range p.Unserved() {
		for _, r := range reads {
			if got[r.Meter] == nil {
				got[r.Meter] = map[dlt645.DI]meter.Read{}
			}
			if _, dup := got[r.Meter][r.DI]; dup && r.DI != 0x05060101 && r.DI != 0x05060201 {
				t.Errorf("meter %s DI %s twice", r.Meter, r.DI)
			}
			got[r.Meter][r.DI] = r
			if r.Class != meter.Daily || r.Channel != "T-D1" || len(r.Frame.Request) == 0 || len(r.Frame.Reply) == 0 {
				t.Errorf("unserved read without its class, channel or frames: %+v", r)
			}
		}
	}
	for _, pt := range a.points {
		dis := got[pt.Meter]
		switch {
		case pt == a.dead:
			if len(dis) != 0 {
				t.Errorf("the dead meter (no data) was handed over: %v", dis)
			}
		case pt == first:
			if _, ok := dis[0x05060101]; ok || dis[0x05060001].Status != meter.OK || dis[0x05060201].Status != meter.OK {
				t.Errorf("the asked meter: %v, want its time and reverse freeze only", dis)
			}
		default:
			tm := dis[0x05060001]
			if tm.Status != meter.OK || dis[0x05060101].Status != meter.OK || dis[0x05060201].Status != meter.OK {
				t.Errorf("meter %s: %v, want time, forward and reverse freezes", pt.Meter, dis)
			}
			if want := day.AddDate(0, 0, 1); !dis[0x05060101].MeterTime.Equal(want) {
				t.Errorf("meter %s: freeze at %v, want %v", pt.Meter, dis[0x05060101].MeterTime, want)
			}
		}
	}
	if again := p.Unserved(); len(again) != 0 {
		t.Errorf("handed over twice: %d more", len(again))
	}
}
