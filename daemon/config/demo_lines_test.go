package config

import (
	"testing"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/field"
	"github.com/headend/headend/sim/scenario"
)

// txBytes is what one daily read puts on the line, both ways: FE
// preambles, request, and a reply of five energies.
const txBytes = 4 + 16 + 4 + 36

// TestDemoLinesReadTheirDayInTime checks, with the line times metersim
// plays (sim/field.LineTime, the scenario's line delay, the head-end's
// gap), that every line of the demo can give each area a balance for its
// first day: the meters that keep no freeze (1997, Modbus) read within
// the loss tolerance after midnight, and the whole daily round (with one
// dead meter's failed task) within a simulated day. At 1440x a 2400-baud
// D05 took about 9 simulated hours for its 1997 meters and never balanced.
func TestDemoLinesReadTheirDayInTime(t *testing.T) {
	c, err := Load("../../configs/headend.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := scenario.Load("../../testdata/scenarios/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tol := analysis.DefaultConfig().Loss.Tolerance
	plan := c.Collector.Plan.Reading()
	ix := c.Archive.Index()
	speed := time.Duration(s.Speed)
	for _, sa := range s.Config.Areas {
		acc := sa.Concentrator.Access
		if acc.Baud == 0 && acc.LineDelay == 0 {
			continue
		}
		k, _ := ix.Concentrator(sa.Concentrator.ID)
		ch, _ := ix.Channel(k.Channels[0])
		tx := field.LineTime(acc.Baud, txBytes) + acc.LineDelay + ch.Gap
		var noFreeze, all time.Duration
		for _, m := range ix.MetersOnChannel(ch.ID) {
			tg := poll.Target{Address: m.Address, Edition: dlt645.DLT2007, Modbus: m.Edition == archive.EditionModbus}
			if m.Edition == archive.Edition1997 {
				tg.Edition = dlt645.DLT1997
			}
			d := time.Duration(len(plan.DailyRequests(tg, time.Time{}))) * tx
			if tg.Modbus || tg.Edition == dlt645.DLT1997 {
				noFreeze += d
			}
			all += d
		}
		dead := time.Duration(ch.RetryCount()+1) * ch.Timeout
		t.Logf("%s: %s a transaction; meters without freezes %s, daily round %s simulated (with a dead meter's task)",
			sa.ID, tx, (noFreeze+dead)*speed, (all+dead)*speed)
		if sim := (noFreeze + dead) * speed; sim > tol {
			t.Errorf("%s: its meters without freezes take %s simulated (%s a transaction) after midnight; the balance takes reads within %s",
				sa.ID, sim, tx, tol)
		}
		if sim := (all + dead) * speed; sim > 24*time.Hour {
			t.Errorf("%s: a daily round takes %s simulated, more than the day", sa.ID, sim)
		}
	}
}
