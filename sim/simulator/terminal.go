package simulator

import (
	"context"
	"fmt"
	"time"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/gdw3761"
	"github.com/headend/headend/sim/field"
	"github.com/headend/headend/sim/meterbus"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
)

// Terminal376Port is the terminal port its meters are on in the archive
// metersim gives a 376.1 concentrator (RS-485 port 2, as in the field:
// port 1 is the terminal's own AC sampling).
const Terminal376Port = 2

// terminalArchive is a 376.1 concentrator's initial meter archive: the
// meters the scenario's archive puts in its area (not where they are
// wired: a meter moved away stays in the archive and stops answering),
// the area meter point 1, customers 2.. in allocation order.
func terminalArchive(fleet *model.Fleet, a *model.Area, baud int) ([]gdw3761.MeterEntry, error) {
	ms := []*model.Meter{a.Meter}
	for _, m := range fleet.Meters() {
		if m.Role != model.RoleArea && m.Area == a {
			ms = append(ms, m)
		}
	}
	if len(ms) > 2040 {
		return nil, fmt.Errorf("%d meters, a 376.1 terminal holds at most 2040", len(ms))
	}
	if _, err := gdw3761.BaudCode(baud); err != nil {
		baud = 0
	}
	out := make([]gdw3761.MeterEntry, 0, len(ms))
	for i, m := range ms {
		addr, err := dlt645.ParseAddress(m.Address)
		if err != nil {
			return nil, err
		}
		proto := uint8(gdw3761.MeterDLT2007)
		if m.Edition == 1997 {
			proto = gdw3761.MeterDLT1997
		}
		out = append(out, gdw3761.MeterEntry{Serial: uint16(i + 1), Point: uint16(i + 1), Port: Terminal376Port,
			Baud: baud, Protocol: proto, Address: addr, Tariffs: 4, IntDigits: 6, DecDigits: 2})
	}
	return out, nil
}

// startTerminal puts up a 376.1 concentrator that dials the head-end.
func (s *Simulator) startTerminal(a *model.Area, t scenario.Terminal, meters []*model.Meter, fwd *meterbus.Bus,
	opts field.Options, i int) (func(ctx context.Context) (func(), error), error) {
	c := a.Concentrator
	// the terminal's own collection goes through a bus of its own on the
	// same meters, so that /counts counts only what reached the head-end
	poll, err := meterbus.New(s.Fleet, meters, meterbus.Options{Sleep: s.opts.Sleep, Seed: uint64(s.Fleet.Seed), Now: s.Clock.Sim})
	if err != nil {
		return nil, err
	}
	ar, err := terminalArchive(s.Fleet, a, c.Access.Baud)
	if err != nil {
		return nil, err
	}
	addr := c.Access.Dial
	if s.opts.HeadEnd != "" {
		addr = s.opts.HeadEnd
	}
	term, err := field.NewTerminal(addr, field.TerminalOptions{Options: opts, Address: t.Address, Archive: ar,
		Now: s.Clock.Sim, Drift: t.Drift, Poll: poll, Forward: fwd, Heartbeat: s.opts.Heartbeat,
		Backoff: s.opts.Backoff, PollEvery: s.collectEvery()})
	if err != nil {
		return nil, err
	}
	s.terminals = append(s.terminals, term)
	s.setAddress(i, addr)
	s.setEndpoint(i, func(e *Endpoint) { e.Terminal = t.Address.String() })
	return func(ctx context.Context) (func(), error) {
		return s.serve(ctx, func(ctx context.Context) { term.Run(ctx) }, nil), nil
	}, nil
}

// collectEvery is how often a terminal checks whether a collection is
// due: a simulated minute, between 50 ms and 1 s of real time. At the
// demo's 1440x its default 1 s was 24 simulated minutes, so a terminal
// began its daily freezes at a random moment up to 00:24, after the
// head-end's 00:20 read of them. A simulator that does not tick (Tick <
// 0: its tests move the fleet) leaves collecting to them too
// (Terminal.Collect): the large scenario's 80 terminals collecting 16,000
// meters every 15 simulated minutes took the benchmarks' CPU.
func (s *Simulator) collectEvery() time.Duration {
	if s.opts.Tick < 0 {
		return -1
	}
	d := time.Duration(float64(time.Minute) / max(s.Clock.Speed, 1))
	return min(max(d, 50*time.Millisecond), time.Second)
}

// Terminal returns the 376.1 terminal of a concentrator by id.
func (s *Simulator) Terminal(concentrator string) (*field.Terminal, bool) {
	for _, a := range s.Fleet.Areas() {
		if a.Concentrator.ID != concentrator {
			continue
		}
		t, ok := s.Scenario.Terminals[concentrator]
		if !ok {
			return nil, false
		}
		for _, term := range s.terminals {
			if term.Address() == t.Address {
				return term, true
			}
		}
	}
	return nil, false
}

// terminalRecords are what the 376.1 terminals answered the head-end
// from their own collection, per meter.
func (s *Simulator) terminalRecords() map[string][]AnswerRecord {
	out := map[string][]AnswerRecord{}
	for _, t := range s.terminals {
		for m, v := range t.Answers() {
			for _, a := range v {
				out[m] = append(out[m], AnswerRecord{At: a.At.UnixNano(), Sim: a.Sim.Format(time.RFC3339Nano),
					Hash: fmt.Sprintf("%016x", a.Hash), Unit: a.Unit})
			}
		}
	}
	return out
}
