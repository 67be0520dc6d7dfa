package simulator

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/headend/headend/protocol/gdw3761"
	"github.com/headend/headend/sim/scenario"
)

// TestGDWDemoTerminalsDialIn runs gdw-demo.yaml against a test master:
// both 376.1 concentrators log in with their addresses, and what one
// answers from its own collection shows in Counts per meter.
func TestGDWDemoTerminalsDialIn(t *testing.T) {
	sc, err := scenario.Load("../../testdata/scenarios/gdw-demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	noSleep := func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	sim, err := Start(context.Background(), sc, Options{Tick: -1, Sleep: noSleep, HeadEnd: ln.Addr().String(), ZeroDelay: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	if ep, _ := sim.Endpoint("T4401-0002"); ep.Kind != "gdw3761" || ep.Terminal != "4401 0002" {
		t.Errorf("endpoint %+v", ep)
	}
	logins := map[gdw3761.Address]net.Conn{}
	readers := map[gdw3761.Address]*gdw3761.Reader{}
	for len(logins) < 2 {
		conn, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		rd := gdw3761.NewReader(conn)
		f, err := rd.ReadFrame()
		if err != nil || f.AFN != gdw3761.AFNLink {
			t.Fatalf("login: %v %v", f, err)
		}
		c := gdw3761.Confirm(f)
		b, _ := c.MarshalBinary()
		conn.Write(b)
		logins[f.Address], readers[f.Address] = conn, rd
	}
	a := gdw3761.Address{Area: 4401, Terminal: 1}
	if logins[a] == nil {
		t.Fatalf("logins %v, want 4401 0001 and 0002", logins)
	}
	term, ok := sim.Terminal("T4401-0001")
	if !ok {
		t.Fatal("no terminal T4401-0001")
	}
	term.Collect(t.Context()) // the current data at the start
	req, _ := gdw3761.ReadCurrent(a, 1, []uint16{1, 2, 3}, []uint8{129})
	b, _ := req.MarshalBinary()
	logins[a].Write(b)
	f, err := readers[a].ReadFrame()
	if err != nil || f.AFN != gdw3761.AFNClass1 {
		t.Fatalf("F129 reply %v %v", f, err)
	}
	units, err := f.Units(nil)
	if err != nil || len(units) != 3 {
		t.Fatalf("units %v %v", units, err)
	}
	var area string
	for _, a := range sim.Fleet.Areas() {
		if a.ID == "G01" {
			area = a.Meter.Address
		}
	}
	found := false
	for _, c := range sim.Counts() {
		if c.Meter == area {
			for _, r := range c.Answers {
				found = found || r.Unit == "AFN 0C F129"
			}
		}
	}
	if !found {
		t.Errorf("Counts has no AFN 0C F129 answer for the area meter %s", area)
	}
}
