package failover

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/internal/tcpfront"
	"github.com/headend/headend/sim/scenario"
	"github.com/headend/headend/sim/simulator"
)

// field is the simulated field the nodes share: the large scenario at
// zero line delay, run in this process on the real clock at speed. Its
// twenty transparent TCP concentrators (4,020 meters) listen on free
// ports; its 1376.1 terminals (terminalAreas of the 80, 201 meters each)
// dial the front, a TCP balancer in front of every node's 376.1 listener.
type field struct {
	t     testing.TB
	sim   *simulator.Simulator
	speed float64 // simulated seconds per real second
	front *tcpfront.Front
}

// largeAreas is testdata/scenarios/large.yaml with terminals of its 1376.1
// areas (L-001 .. L-080; none: 0) and without their faults (a meter that
// never answers is the analysis's business, not the cluster's).
func largeAreas(t testing.TB, root string, terminals int) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "testdata/scenarios/large.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	skip := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "  - id: L"):
			skip = terminals == 0
		case strings.HasPrefix(line, "  - id: T"), strings.HasPrefix(line, "faults:"):
			skip = false
		case strings.HasPrefix(line, "    repeat: 80"):
			line = fmt.Sprintf("    repeat: %d", terminals)
		}
		if skip || strings.Contains(line, "area: L-") {
			continue
		}
		out = append(out, line)
	}
	return []byte(strings.Join(out, "\n"))
}

// startField starts the field with terminals of the 1376.1 areas.
func startField(t testing.TB, root string, speed float64, terminals int) *field {
	t.Helper()
	sc, err := scenario.Parse("large-failover.yaml", largeAreas(t, root, terminals))
	if err != nil {
		t.Fatal(err)
	}
	front := tcpfront.Start(t)
	sim, err := simulator.Start(context.Background(), sc, simulator.Options{Speed: speed, ZeroDelay: true, AnyPort: true,
		HeadEnd: front.Addr(), Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return &field{t: t, sim: sim, speed: speed, front: front}
}

// channels are the archive's channel ids: one a concentrator.
func (f *field) channels() []string {
	var out []string
	for _, e := range f.sim.Endpoints {
		out = append(out, e.Concentrator)
	}
	slices.Sort(out)
	return out
}

func (f *field) meters() int {
	n := 0
	for _, e := range f.sim.Endpoints {
		n += len(e.Meters)
	}
	return n
}

func (f *field) slotOf(sim time.Time) time.Time { return sim.Truncate(interval) }

// nextSlot is the start of the slot after the present one.
func (f *field) nextSlot() time.Time { return f.slotOf(f.sim.Clock.Sim()).Add(interval) }

// realAt is when the simulated time sim comes, in real time.
func (f *field) realAt(sim time.Time) time.Time {
	c := f.sim.Clock
	return c.RealStart.Add(time.Duration(float64(sim.Sub(c.SimStart)) / f.speed))
}

// waitSlotEnd waits until the slot that starts at slot is over.
func (f *field) waitSlotEnd(slot time.Time) { sleepUntil(f.realAt(slot.Add(interval))) }

// waitMidSlot waits for the middle of a slot: the slot's reads are done
// (at zero line delay they take a few hundred milliseconds) and the next
// slot is half an interval away.
func (f *field) waitMidSlot() {
	now := f.sim.Clock.Sim()
	mid := f.slotOf(now).Add(interval / 2)
	if now.After(mid) {
		mid = mid.Add(interval)
	}
	sleepUntil(f.realAt(mid))
}

// slotCount is what the simulator counted in the slots checked.
type slotCount struct {
	meters, slots   int
	requests        int // (meter, identifier, slot) answered
	missing, twice  int // (meter, identifier, slot) never, or more than once
	silent          int // meters with no answer at all
	examples        []string
	perSlotRequests []int
}

func (c slotCount) String() string {
	return fmt.Sprintf("%d requests answered (per slot %v), %d meter-identifier-slots not read, %d read more than once, %d meters never answered",
		c.requests, c.perSlotRequests, c.missing, c.twice, c.silent)
}

// countSlots counts each meter's answers to each data identifier in every
// slot from first to last: each must be answered exactly once. A meter's
// identifiers are those it was asked in any of the slots.
func (f *field) countSlots(first, last time.Time) slotCount {
	c := slotCount{meters: f.meters(), slots: int(last.Sub(first)/interval) + 1}
	c.perSlotRequests = make([]int, c.slots)
	counts := map[string]map[string]map[int64]int{} // meter → DI → slot (Unix s) → answers
	for _, m := range f.sim.Counts() {
		for _, a := range m.Answers {
			if dailyDIs[a.DI] {
				continue // once a day, not a slot (countDaily)
			}
			at, err := time.Parse(time.RFC3339Nano, a.Sim)
			if err != nil {
				f.t.Fatalf("meter %s: answer at %q: %v", m.Meter, a.Sim, err)
			}
			slot := f.slotOf(at)
			if slot.Before(first) || slot.After(last) {
				continue
			}
			if counts[m.Meter] == nil {
				counts[m.Meter] = map[string]map[int64]int{}
			}
			if counts[m.Meter][a.DI] == nil {
				counts[m.Meter][a.DI] = map[int64]int{}
			}
			counts[m.Meter][a.DI][slot.Unix()]++
			c.requests++
			c.perSlotRequests[int(slot.Sub(first)/interval)]++
		}
	}
	note := func(format string, args ...any) {
		if len(c.examples) < 20 {
			c.examples = append(c.examples, fmt.Sprintf(format, args...))
		}
	}
	byDI := map[string]int{}
	for _, dis := range counts {
		for di, bySlot := range dis {
			for _, n := range bySlot {
				byDI[di] += n
			}
		}
	}
	f.t.Logf("answers by identifier: %v", byDI)
	for _, e := range f.sim.Endpoints {
		for _, m := range e.Meters {
			dis := counts[m]
			if len(dis) == 0 {
				c.silent++
				c.missing += c.slots
				note("meter %s (%s): no answer in any slot", m, e.Concentrator)
				continue
			}
			for di, bySlot := range dis {
				for slot := first; !slot.After(last); slot = slot.Add(interval) {
					switch n := bySlot[slot.Unix()]; {
					case n == 0:
						c.missing++
						note("meter %s (%s) DI %s: not read in slot %s", m, e.Concentrator, di, slot.Format("15:04"))
					case n > 1:
						c.twice++
						note("meter %s (%s) DI %s: read %d times in slot %s", m, e.Concentrator, di, n, slot.Format("15:04"))
					}
				}
			}
		}
	}
	return c
}

// dailyDIs are the daily plan's identifiers (billingSection): 2007's
// forward active energy of the last daily freeze, 1997's total.
var dailyDIs = map[string]bool{"05060101": true, "0000901F": true}

// countDaily is how many times each meter answered a daily identifier.
func (f *field) countDaily() map[string]int {
	out := map[string]int{}
	for _, m := range f.sim.Counts() {
		for _, a := range m.Answers {
			if dailyDIs[a.DI] {
				out[m.Meter]++
			}
		}
	}
	return out
}
