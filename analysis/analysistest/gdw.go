package analysistest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/collector/terminal"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/gdw3761"
	"github.com/headend/headend/sim/field"
	"github.com/headend/headend/sim/meterbus"
	"github.com/headend/headend/sim/model"
)

// The areas [RunMornings] reads through Q/GDW 1376.1 concentrators, as
// a gdw3761 channel in frozen mode reads them: each area's concentrator
// (sim/field's terminal) collects its own meters through a meter bus of
// the model, from 00:05 (again at 00:20 and 00:50 for the points still
// without the day's freeze), and logs in over loopback TCP to a
// collector/terminal listener; between 00:40 and 01:00 the head-end
// reads the day before's freezes of all the area's DL/T 645-2007 meters
// with AFN 0D F161/F163, 64 points a request, as collector/terminal's
// Reader does, and takes what the concentrator sends (EE, no data, for a
// point it has no freeze of). The 1997 meters keep no freeze: their
// registers are forwarded to them by AFN 10 at the usual time. The
// instantaneous and clock reads, which a frozen channel forwards (the
// same values as read directly), are read from the model as [Simulate]
// does.
const (
	gdwFrozenRead   = 40 * time.Minute // the head-end's read of an area's freezes, plus up to gdwFrozenJitter
	gdwFrozenJitter = 20 * time.Minute
)

// gdwCollections are when a concentrator collects, after midnight.
var gdwCollections = []time.Duration{6 * time.Minute, 21 * time.Minute, 51 * time.Minute}

// Through3761 returns the areas of a fleet that [RunMornings] reads
// through 376.1 concentrators: every area of a fleet of one or two, all
// but the first of a larger one (read directly, as on an RS-485 line or
// a DTU), so that most areas, as in the field, are.
func Through3761(fl *model.Fleet) map[string]bool {
	out := map[string]bool{}
	as := fl.Areas()
	for i, a := range as {
		if i > 0 || len(as) < 3 {
			out[a.ID] = true
		}
	}
	return out
}

// gdwClock is the simulated instant the concentrators and the head-end's
// reader see, set by the simulation loop.
type gdwClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *gdwClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *gdwClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// gdwArea is one area behind a concentrator.
type gdwArea struct {
	term   *field.Terminal
	reader *terminal.Reader
	link   *terminal.Link
	points []terminal.Point // the 2007 meters, whose freezes are read by AFN 0D
}

// gdwFleet is the concentrators of a fleet and the head-end's listener.
type gdwFleet struct {
	areas    map[string]*gdwArea
	clock    *gdwClock
	requests int // AFN 0D requests made
}

func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// startGDW puts up a concentrator for each area of through, logged in to
// a listener on loopback; they stop at the end of the test.
func startGDW(t testing.TB, fl *model.Fleet, through map[string]bool, clock *gdwClock) *gdwFleet {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	known := map[string]bool{}
	var kmu sync.Mutex
	l := terminal.Listen(ctx, ln, terminal.Config{
		Known: func(id string) (time.Duration, bool) {
			kmu.Lock()
			defer kmu.Unlock()
			return time.Hour, known[id] // real time: the run lasts minutes
		},
		Location: fl.Zone()})
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait(); l.Close() })
	g := &gdwFleet{areas: map[string]*gdwArea{}, clock: clock}
	n := 0
	for _, a := range fl.Areas() {
		if !through[a.ID] {
			continue
		}
		n++
		addr := gdw3761.Address{Area: 4401, Terminal: uint16(n)}
		kmu.Lock()
		known[addr.String()] = true
		kmu.Unlock()
		var wired []*model.Meter // on the area's line
		for _, m := range fl.Meters() {
			if wiredIn(m) == a.ID {
				wired = append(wired, m)
			}
		}
		bus, err := meterbus.New(fl, wired, meterbus.Options{Now: clock.Now, Sleep: noSleep, Seed: uint64(fl.Seed)})
		if err != nil {
			t.Fatal(err)
		}
		ga := &gdwArea{}
		// the concentrator's archive: the area meter point 1, its
		// customers 2.. (as metersim gives it, sim/simulator)
		var entries []gdw3761.MeterEntry
		for i, m := range append([]*model.Meter{a.Meter}, a.Customers...) {
			proto := uint8(gdw3761.MeterDLT2007)
			if m.Edition == 1997 {
				proto = gdw3761.MeterDLT1997
			}
			entries = append(entries, gdw3761.MeterEntry{Serial: uint16(i + 1), Point: uint16(i + 1), Port: 2,
				Protocol: proto, Address: dlt645.MustParseAddress(m.Address), Tariffs: 4, IntDigits: 6, DecDigits: 2})
			if m.Edition != 1997 {
				ga.points = append(ga.points, terminal.Point{Pn: uint16(i + 1), Meter: m.Address, Area: a.ID, Channel: "T-" + a.ID})
			}
		}
		ga.term, err = field.NewTerminal(ln.Addr().String(), field.TerminalOptions{Options: field.Options{Sleep: noSleep},
			Address: addr, Archive: entries, Now: clock.Now, Poll: bus, PollEvery: -1, Heartbeat: time.Hour,
			Backoff: func(int) time.Duration { return 10 * time.Millisecond }})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { ga.term.Run(ctx) })
		g.areas[a.ID] = ga
	}
	// every concentrator logged in (real I/O: a bounded wait)
	deadline := time.Now().Add(20 * time.Second)
	for id, ga := range g.areas {
		for {
			s, ok := l.Terminal(ga.term.Address().String())
			if ok && s.Status().Online {
				ga.reader = &terminal.Reader{Session: s, Location: fl.Zone(), Now: clock.Now}
				ga.link = &terminal.Link{Session: s}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("area %s: its 376.1 concentrator did not log in within 20 s", id)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return g
}

// wiredIn is the area a meter is wired in: its archive area unless a
// "moved" fault takes it elsewhere.
func wiredIn(m *model.Meter) string {
	for _, f := range m.Faults {
		if f.Kind == model.FaultMoved && f.Area != "" {
			return f.Area
		}
	}
	return m.Area.ID
}

// frozen reads the day before's freezes of an area's 2007 meters (AFN 0D
// F161/F163), as the daily reads the collector stores: the plain
// quantity names, the freeze's time as the meter time.
func (g *gdwFleet) frozen(t testing.TB, area string, today time.Time) []meter.Read {
	ga := g.areas[area]
	reads, n, err := ga.reader.ReadDaily(context.Background(), today.AddDate(0, 0, -1), ga.points)
	g.requests += n
	if err != nil {
		t.Logf("area %s: AFN 0D read of %s: %v", area, today.AddDate(0, 0, -1).Format(time.DateOnly), err)
	}
	var out []meter.Read
	for _, r := range reads {
		if r.DI != 0 && r.DI>>8 != 0x050601 && r.DI>>8 != 0x050602 {
			continue // the freeze's time
		}
		if _, rest, ok := strings.Cut(r.Quantity, " -"); ok && strings.HasPrefix(r.Quantity, "daily freeze") {
			if _, name, ok := strings.Cut(rest, " "); ok {
				r.Quantity = name
			}
		}
		switch {
		case r.DI == 0: // nothing for the point: both energies missing
			for _, q := range []string{"forward active energy total", "reverse active energy total"} {
				r.Quantity = q
				out = append(out, r)
			}
		case r.Quantity == "forward active energy total" || r.Quantity == "reverse active energy total":
			r.Frame = meter.FrameRef{} // the reply frames: 4 kB a request, not needed by the analysis
			out = append(out, r)
		}
	}
	return out
}

// forwarded reads a 1997 meter's registers (901F, 902F) by AFN 10
// forwarding through its area's concentrator.
func (g *gdwFleet) forwarded(m *model.Meter, at time.Time) []meter.Read {
	ga := g.areas[m.Area.ID]
	var out []meter.Read
	for _, q := range []struct {
		di   dlt645.DI
		name string
	}{{0x901F, "forward active energy total"}, {0x902F, "reverse active energy total"}} {
		r := meter.Read{Meter: m.Address, Area: m.Area.ID, Class: meter.Daily, Quantity: q.name, ReadAt: at, Edition: dlt645.DLT1997}
		v, err := forward(ga.link, m.Address, q.di)
		if err != nil {
			r.Status, r.Err = meter.Failed, err.Error()
		} else {
			r.Status, r.Unit, r.Value = meter.OK, "kWh", v
		}
		out = append(out, r)
	}
	return out
}

// forward sends one DL/T 645-1997 read through l and returns the first
// value of the answer (the block's total).
func forward(l *terminal.Link, address string, di dlt645.DI) (dlt645.Decimal, error) {
	ed := dlt645.DLT1997
	addr, err := dlt645.ParseAddress(address)
	if err != nil {
		return dlt645.Decimal{}, err
	}
	req, err := ed.ReadRequest(addr, di)
	if err != nil {
		return dlt645.Decimal{}, err
	}
	wire, err := req.MarshalBinary()
	if err != nil {
		return dlt645.Decimal{}, err
	}
	ctx := context.Background()
	if err := l.Send(ctx, wire); err != nil {
		return dlt645.Decimal{}, err
	}
	reply, err := l.Receive(ctx, time.Time{})
	if err != nil {
		return dlt645.Decimal{}, err
	}
	var f dlt645.Frame
	if _, err := f.Decode(reply); err != nil {
		return dlt645.Decimal{}, err
	}
	if !f.Control.Reply() || f.Control.Abnormal() || f.Address != addr {
		return dlt645.Decimal{}, fmt.Errorf("meter %s: not a normal reply to %s", address, di.Format(ed))
	}
	msg, err := ed.Decode(&f)
	if err != nil {
		return dlt645.Decimal{}, err
	}
	vals, err := ed.Registry().Decode(di, msg.Payload, nil)
	if err != nil {
		return dlt645.Decimal{}, err
	}
	if len(vals) == 0 || vals[0].Kind != dlt645.KindNumber || vals[0].NoData {
		return dlt645.Decimal{}, fmt.Errorf("meter %s: %s has no total", address, di.Format(ed))
	}
	return vals[0].Number, nil
}
