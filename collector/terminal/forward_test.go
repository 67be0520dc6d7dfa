package terminal

import (
	"context"
	"testing"
	"time"

	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/gdw3761"
	"github.com/headend/headend/sim/meterbus"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
)

// TestDailyPlanForwardedToSimulatedMeters runs the collector's 645 daily
// and instantaneous requests (poll.DLT645 on collector/master) through a
// terminal by AFN 10 F1 to simulated meters: the 645 side is unchanged.
func TestDailyPlanForwardedToSimulatedMeters(t *testing.T) {
	sc, err := scenario.Parse("fwd.yaml", []byte(`name: fwd
seed: 5
start: 2025-04-01T00:00:00+08:00
speed: 1
areas:
  - id: F1
    name: Forwarded
    feeder: F1
    voltage_level: 10kV/0.4kV
    ct_ratio: 10
    tech_loss_pct: 4
    address_prefix: "000009"
    customers: {residential: 2}
    edition_1997_share: 0
    concentrator: {id: C9, access: {kind: tcp-listen, listen: "127.0.0.1:0"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := model.New(sc.Config)
	if err != nil {
		t.Fatal(err)
	}
	day2 := fleet.Start().AddDate(0, 0, 1)
	fleet.AdvanceTo(day2.Add(10 * time.Minute))
	now := func() time.Time { return day2.Add(10 * time.Minute) }
	ms := fleet.Areas()[0].Customers
	mb, err := meterbus.New(fleet, ms, meterbus.Options{Seed: 1, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	_, ft, s := online(t, "4401 0001")
	ft.serve(func(req *gdw3761.Frame) [][]byte {
		us, err := req.Units(nil)
		if err != nil || len(us) != 1 {
			t.Errorf("forward request: %v", err)
			return nil
		}
		var fr gdw3761.ForwardRequest
		if err := fr.UnmarshalUnit(us[0].Data); err != nil {
			t.Error(err)
			return nil
		}
		reply := mb.Exchange(context.Background(), fr.Data)
		r := gdw3761.Response(req, req.Seq.Num(), true, true)
		r.Data = append(r.Data, 0, 0, 0x01, 0)
		x := gdw3761.ForwardReply{Port: fr.Port, Data: reply}
		r.Data, _ = x.AppendUnit(r.Data)
		return [][]byte{wire(t, r)}
	})
	p := poll.DLT645{Master: &master.Master{Link: &Link{Session: s}, Timeout: time.Second, Now: now}, Now: now}
	for _, m := range ms {
		tg := poll.Target{Address: m.Address, Edition: dlt645.DLT2007, Area: "F1"}
		var reads []meter.Read
		for _, rq := range append(schedule.DailyRequests(tg, now()), schedule.InstantaneousRequests(tg, now())...) {
			rs, err := p.Do(context.Background(), tg, rq, meter.Read{Meter: m.Address, Area: "F1", Class: meter.Daily, DI: rq.DI})
			if err != nil {
				t.Fatalf("%s %s: %v", m.Address, rq.DI.Format(dlt645.DLT2007), err)
			}
			reads = append(reads, rs...)
		}
		ok := 0
		for _, r := range reads {
			if r.Status == meter.OK {
				ok++
			}
			if r.Quantity == "daily freeze -1 forward active energy total" && (r.Status != meter.OK || r.Unit != "kWh" || len(r.Frame.Reply) == 0) {
				t.Fatalf("%+v", r)
			}
		}
		if ok < 10 {
			t.Fatalf("meter %s: %d ok reads of %d through AFN 10", m.Address, ok, len(reads))
		}
	}
	if st := s.Status(); st.Requests < 2*9 {
		t.Fatalf("%d forwarding requests", st.Requests)
	}
}
