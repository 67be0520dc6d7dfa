package terminal

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/gdw3761"
	"github.com/headend/headend/sim/field"
	"github.com/headend/headend/sim/meterbus"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
)

func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// simArea is a simulated concentrator (sim/field) over TCP in front of
// an area of four 2007 meters on the model's meter bus, the third of
// which never answers; its points are 1..4.
type simArea struct {
	term   *field.Terminal
	s      *Session
	clock  *fakeClock
	points []Point
	dead   Point
}

func startSimArea(t *testing.T) *simArea {
	t.Helper()
	sc, err := scenario.Parse("dead.yaml", []byte(`name: dead
seed: 7
start: 2025-04-01T00:00:00+08:00
speed: 1
areas:
  - id: D1
    name: Dead meter
    feeder: F1
    voltage_level: 10kV/0.4kV
    ct_ratio: 10
    tech_loss_pct: 4
    address_prefix: "000011"
    customers: {residential: 4}
    edition_1997_share: 0
    concentrator: {id: C1, access: {kind: tcp-listen, listen: "127.0.0.1:0"}}
faults:
  - {area: D1, index: 2, kind: no_answer, start: "2025-04-01 00:00"}
`))
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := model.New(sc.Config)
	if err != nil {
		t.Fatal(err)
	}
	a := &simArea{clock: &fakeClock{t: fleet.Start()}}
	ms := fleet.Areas()[0].Customers
	mb, err := meterbus.New(fleet, ms, meterbus.Options{Seed: 1, Now: a.clock.Now, Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	var entries []gdw3761.MeterEntry
	for i, m := range ms {
		pn := uint16(i + 1)
		entries = append(entries, gdw3761.MeterEntry{Serial: pn, Point: pn, Port: 2, Protocol: gdw3761.MeterDLT2007,
			Address: dlt645.MustParseAddress(m.Address), Tariffs: 4, IntDigits: 6, DecDigits: 2})
		a.points = append(a.points, Point{Pn: pn, Meter: m.Address, Area: "D1", Channel: "T-D1"})
		for _, f := range m.Faults {
			if f.Kind == model.WireNoAnswer {
				a.dead = a.points[i]
			}
		}
	}
	if a.dead.Pn == 0 {
		t.Fatal("no dead meter planted")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	l := Listen(ctx, ln, Config{Known: func(id string) (time.Duration, bool) { return time.Hour, id == "4401 0011" }, Location: fleet.Zone()})
	addr, _ := gdw3761.ParseAddress("4401 0011")
	a.term, err = field.NewTerminal(ln.Addr().String(), field.TerminalOptions{Options: field.Options{Sleep: noSleep},
		Address: addr, Archive: entries, Now: a.clock.Now, Poll: mb, PollEvery: -1, Heartbeat: time.Hour,
		Backoff: func(int) time.Duration { return 10 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { a.term.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; l.Close(); l.wg.Wait() })
	a.s, _ = l.Terminal("4401 0011")
	waitFor(t, "the concentrator logged in", func() bool { return a.s.Status().Online })
	fleet.AdvanceTo(fleet.Start().Add(24*time.Hour + 10*time.Minute))
	return a
}

// collected has the concentrator collect its first day's freeze (at
// 00:10 of the next day) and returns a frozen-mode Protocol on it, 30
// minutes later.
func (a *simArea) collected() *Protocol {
	day := a.clock.t
	a.clock.t = day.Add(24*time.Hour + 10*time.Minute)
	a.term.Collect(context.Background())
	a.clock.t = day.Add(24*time.Hour + 40*time.Minute)
	return &Protocol{Reader: a.reader(), Mode: "frozen", Points: func() []Point { return a.points }}
}

func (a *simArea) reader() *Reader {
	return &Reader{Session: a.s, Location: a.clock.t.Location(), Now: a.clock.Now}
}

// TestDeadMeterBehindTheConcentratorIsAFailedRead: a meter that never
// answers its concentrator's collection comes back as the EE filler in
// AFN 0D F161/F163 beside its neighbours' freezes; its reads are failed
// (as a DL/T 645 timeout of the direct path), keep the frames and say
// what and where. Before the concentrator has collected (every point
// EE) the same points are no_data, not failed; a freeze it never
// collected, asked 6 h past it, is failed.
func TestDeadMeterBehindTheConcentratorIsAFailedRead(t *testing.T) {
	a := startSimArea(t)
	day := a.clock.t // 2025-04-01: its freeze is at 04-02 00:00
	a.clock.t = day.Add(24*time.Hour + 3*time.Minute)
	r := a.reader()
	ctx := context.Background()
	// 00:03: the concentrator has not collected (it starts at 00:05)
	reads, _, err := r.ReadDaily(ctx, day, a.points)
	if err != nil {
		t.Fatal(err)
	}
	for _, rd := range reads {
		if rd.Status != meter.NoData || !strings.Contains(rd.Err, "collected no point of the request yet") {
			t.Fatalf("before the collection: %+v", rd)
		}
	}
	a.clock.t = day.Add(24*time.Hour + 10*time.Minute)
	a.term.Collect(ctx)
	a.clock.t = day.Add(24*time.Hour + 40*time.Minute)
	reads, n, err := r.ReadDaily(ctx, day, a.points)
	if err != nil || n != 1 {
		t.Fatalf("%v, %d requests", err, n)
	}
	failed, ok := map[dlt645.DI]meter.Read{}, map[string]bool{}
	for _, rd := range reads {
		switch {
		case rd.Meter == a.dead.Meter:
			if rd.Status != meter.Failed {
				t.Fatalf("dead meter: %+v", rd)
			}
			failed[rd.DI] = rd
		case rd.Status == meter.OK && rd.Quantity == "daily freeze -1 forward active energy total":
			ok[rd.Meter] = true
		}
	}
	if len(ok) != 3 {
		t.Fatalf("forward freezes of %d live meters, want 3", len(ok))
	}
	if len(failed) != 3 {
		t.Fatalf("dead meter: failed reads of %d identifiers, want 3 (time, forward, reverse): %+v", len(failed), failed)
	}
	fwd := failed[0x05060101]
	want := fmt.Sprintf("concentrator 4401 0011 holds no data for point %d (AFN 0D F161, EE)", a.dead.Pn)
	if fwd.Err != want || fwd.Quantity != "daily freeze -1 forward active energy total" || len(fwd.Frame.Request) == 0 || len(fwd.Frame.Reply) == 0 {
		t.Fatalf("dead meter's forward freeze %+v, want Err %q and its frames", fwd, want)
	}
	if rv := failed[0x05060201]; !strings.Contains(rv.Err, "(AFN 0D F163, EE)") {
		t.Fatalf("reverse: %+v", rv)
	}
	// the freeze of the day before it started collecting, 6 h past it
	reads, _, err = r.ReadDaily(ctx, day.AddDate(0, 0, -1), a.points)
	if err != nil {
		t.Fatal(err)
	}
	for _, rd := range reads {
		if rd.Status != meter.Failed {
			t.Fatalf("a freeze never collected, asked a day late: %+v", rd)
		}
	}
}

// TestDeadMeterThroughProtocol: through the collector's Protocol the
// dead meter's daily reads are failed and name the request's DI0; they
// are asked again (its point alone) after Again, while the live meters,
// handed over, leave the batch.
func TestDeadMeterThroughProtocol(t *testing.T) {
	a := startSimArea(t)
	day := a.clock.t
	p := a.collected()
	ctx := context.Background()
	ask := func(pt Point) []meter.Read {
		var out []meter.Read
		for _, di := range []dlt645.DI{0x05060001, 0x05060101, 0x05060201} {
			tg := poll.Target{Address: pt.Meter, Edition: dlt645.DLT2007, Area: "D1"}
			rs, err := p.Do(ctx, tg, poll.Request{DI: di}, meter.Read{Meter: pt.Meter, Area: "D1", Class: meter.Daily, DI: di})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, rs...)
		}
		return out
	}
	for _, pt := range a.points {
		for _, rd := range ask(pt) {
			if pt == a.dead && (rd.Status != meter.Failed || len(rd.Frame.Reply) == 0) || pt != a.dead && rd.Status == meter.Failed {
				t.Fatalf("point %d: %+v", pt.Pn, rd)
			}
		}
	}
	if p.Requests() != 1 {
		t.Fatalf("%d requests, want 1", p.Requests())
	}
	k := batchKey{meter.Daily, time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, day.Location())}
	if b := p.batches[k]; len(b.meters) != 1 || b.meters[a.dead.Meter] == nil {
		t.Fatalf("batch holds %d meters after the handover, want the dead one", len(b.meters))
	}
	ask(a.dead) // within Again: from the batch
	if p.Requests() != 1 {
		t.Fatalf("%d requests, want 1", p.Requests())
	}
	a.clock.Add(15 * time.Minute)
	rs := ask(a.dead)
	if p.Requests() != 2 || rs[0].Status != meter.Failed {
		t.Fatalf("after Again: %d requests, want 2; %+v", p.Requests(), rs[0])
	}
	ask(a.points[0]) // handed over already: its point alone is read again
	if p.Requests() != 3 {
		t.Fatalf("%d requests, want 3", p.Requests())
	}
}
