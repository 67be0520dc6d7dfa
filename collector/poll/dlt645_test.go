package poll

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/meterbus"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
)

const blocksScenario = `
name: blocks
seed: 3
start: 2025-04-01T00:00:00+08:00
speed: 1
areas:
  - id: B1
    name: Blocks
    feeder: F1
    voltage_level: 10kV/0.4kV
    ct_ratio: 10
    tech_loss_pct: 4
    address_prefix: "000009"
    customers: {residential: 2}
    edition_1997_share: 0
    concentrator: {id: C9, access: {kind: tcp-listen, listen: "127.0.0.1:0"}}
faults:
  - {area: B1, index: 1, kind: no_blocks, start: "2025-04-01 00:00", end: "2025-04-02 12:00"}
`

// A meter refusing blocks (until its firmware is changed at 12:00 on day
// 2) is read singles that are the block's quantities, is asked for
// singles directly while the refusal is remembered, and for the block
// again a day later.
func TestBlockFallbackRemembersAndRetries(t *testing.T) {
	sc, err := scenario.Parse("blocks.yaml", []byte(blocksScenario))
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := model.New(sc.Config)
	if err != nil {
		t.Fatal(err)
	}
	fleet.AdvanceTo(fleet.Start().Add(10 * time.Hour))
	refuser, plain := fleet.Areas()[0].Customers[0], fleet.Areas()[0].Customers[1]
	mb, err := meterbus.New(fleet, []*model.Meter{refuser, plain}, meterbus.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	lk := &busLink{bus: mb}
	now := fleet.Start().Add(10 * time.Hour)
	answers := &Answers{}
	p := DLT645{Master: &master.Master{Link: lk, Timeout: time.Second}, Now: func() time.Time { return now }, Answers: answers}
	read1 := func(m *model.Meter, di dlt645.DI) ([]meter.Read, int) {
		t.Helper()
		sent := lk.sent
		rs, err := p.Do(context.Background(), Target{Address: m.Address, Edition: dlt645.DLT2007}, Request{DI: di},
			meter.Read{Meter: m.Address, DI: di})
		if err != nil {
			t.Fatal(err)
		}
		return rs, lk.sent - sent
	}
	names := func(rs []meter.Read) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.Quantity+"="+string(r.Status))
		}
		return strings.Join(s, ", ")
	}
	block, _ := read1(plain, 0x0201FF00)
	singles, n := read1(refuser, 0x0201FF00)
	want := names(block)
	if names(singles) != want || n != 1+len(block) {
		t.Fatalf("refuser: %s in %d transactions; a block gives %s", names(singles), n, want)
	}
	if _, n := read1(refuser, 0x0201FF00); n != len(block) {
		t.Fatalf("remembered refusal: %d transactions, want %d singles", n, len(block))
	}
	t.Logf("block: %s; energies below", want)
	// energies: total and the four tariffs, stopping at the first tariff
	// the meter does not have
	eb, _ := read1(plain, 0x0002FF00)
	es, _ := read1(refuser, 0x0002FF00)
	t.Logf("energies: %s", names(es))
	if names(es) != names(eb) {
		t.Fatalf("energies as singles %s, block %s", names(es), names(eb))
	}
	for i := range es {
		if es[i].Value != eb[i].Value {
			t.Errorf("%s: single %s, block %s", es[i].Quantity, es[i].Value, eb[i].Value)
		}
	}
	// saved and loaded (a reload, a restart)
	var buf bytes.Buffer
	answers.WriteTo(&buf)
	again := &Answers{}
	if _, err := again.ReadFrom(&buf); err != nil || !again.Refuses(refuser.Address, 0x0201FF00, now) || !again.Refuses(refuser.Address, 0x0002FF00, now) {
		t.Fatalf("loaded %v: %v", again.Refused(now), err)
	}
	// a day later, the meter answering blocks again: the block is asked
	now = now.Add(26 * time.Hour)
	fleet.AdvanceTo(now)
	if rs, n := read1(refuser, 0x0201FF00); n != 1 || names(rs) != want {
		t.Fatalf("a day later: %s in %d transactions", names(rs), n)
	}
	if answers.Refuses(refuser.Address, 0x0201FF00, now) {
		t.Fatal("refusal kept after the block was answered")
	}
}

func FuzzAnswersReadFrom(f *testing.F) {
	f.Add("000009000001 0201FF00 2025-04-01T10:00:00+08:00\n")
	f.Add("x 1 2\n\n")
	f.Fuzz(func(t *testing.T, s string) {
		a := &Answers{}
		if _, err := a.ReadFrom(strings.NewReader(s)); err != nil {
			return
		}
		var buf bytes.Buffer
		a.WriteTo(&buf)
		b := &Answers{}
		if _, err := b.ReadFrom(&buf); err != nil {
			t.Fatalf("written answers do not read back: %v\n%s", err, buf.String())
		}
	})
}
