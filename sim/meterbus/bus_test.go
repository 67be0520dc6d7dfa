package meterbus

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
)

const wireScenario = `
name: wire
seed: 7
start: 2025-03-01T00:00:00+08:00
speed: 1
areas:
  - id: A1
    name: Test
    feeder: F1
    voltage_level: 10kV/0.4kV
    ct_ratio: 10
    tech_loss_pct: 4
    address_prefix: "000001"
    customers: {residential: 14}
    concentrator: {id: C1, access: {kind: tcp-listen, listen: "127.0.0.1:0"}}
faults:
  - {area: A1, index: 1, kind: theft, fraction: 0.5, start: "2025-03-02 00:00"}
  - {area: A1, index: 2, kind: stopped, start: "2025-03-02 00:00"}
  - {area: A1, index: 3, kind: reverse_wiring, start: "2025-03-02 00:00"}
  - {area: A1, index: 4, kind: register_jump, amount_kwh: 500, start: "2025-03-02 12:00"}
  - {area: A1, index: 5, kind: register_back, amount_kwh: 50, start: "2025-03-02 12:00"}
  - {area: A1, index: 6, kind: clock_drift, drift_s_per_day: 600, start: "2025-03-01 00:00"}
  - {area: A1, index: 7, kind: cover_open, start: "2025-03-02 10:00"}
  - {area: A1, index: 8, kind: no_answer, start: "2025-03-01 00:00"}
  - {area: A1, index: 9, kind: slow, delay: 800ms, start: "2025-03-01 00:00"}
  - {area: A1, index: 10, kind: bad_checksum, start: "2025-03-01 00:00"}
  - {area: A1, index: 11, kind: fe_noise, bytes: 4, start: "2025-03-01 00:00"}
  - {area: A1, index: 12, kind: corrupt, bytes: 2, start: "2025-03-01 00:00"}
  - {area: A1, index: 13, kind: offline, start: "2025-03-03 00:00", end: "2025-03-03 12:00"}
  - {area: A1, index: 0, kind: phase_loss, phase: B, start: "2025-03-02 06:00"}
`

type rig struct {
	t      testing.TB
	fleet  *model.Fleet
	area   *model.Area
	bus    *Bus
	slept  []time.Duration
	reader dlt645.Reader
}

func newRig(t testing.TB) *rig {
	t.Helper()
	sc, err := scenario.Parse("wire.yaml", []byte(wireScenario))
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := model.New(sc.Config)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, fleet: fleet, area: fleet.Areas()[0]}
	meters := append([]*model.Meter{r.area.Meter}, r.area.Customers...)
	r.bus, err = New(fleet, meters, Options{Seed: 1, Sleep: func(_ context.Context, d time.Duration) error {
		r.slept = append(r.slept, d)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) at(s string) {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, model.DefaultZone)
	if err != nil {
		r.t.Fatal(err)
	}
	r.fleet.AdvanceTo(t)
}

func (r *rig) customer(i int) *model.Meter { return r.area.Customers[i-1] }

// exchange sends a request and returns the raw reply bytes.
func (r *rig) exchange(f dlt645.Frame, err error) []byte {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
	req, err := f.MarshalBinary()
	if err != nil {
		r.t.Fatal(err)
	}
	return r.bus.Exchange(context.Background(), append([]byte{0xFE, 0xFE, 0xFE, 0xFE}, req...))
}

// read reads di from m as a plain DL/T 645 client would and returns the
// decoded values.
func (r *rig) read(m *model.Meter, di dlt645.DI) []dlt645.Value {
	r.t.Helper()
	vals, err := r.tryRead(m, di)
	if err != nil {
		r.t.Fatalf("read %s from %s: %v", di, m.Address, err)
	}
	return vals
}

func (r *rig) tryRead(m *model.Meter, di dlt645.DI) ([]dlt645.Value, error) {
	ed := edition(m)
	addr := dlt645.MustParseAddress(m.Address)
	reply := r.exchange(ed.ReadRequest(addr, di))
	if reply == nil {
		return nil, errors.New("no reply")
	}
	var f dlt645.Frame
	if _, err := f.Decode(reply); err != nil {
		return nil, err
	}
	if f.Address != addr {
		return nil, errors.New("reply from another address")
	}
	msg, err := ed.Decode(&f)
	if err != nil {
		return nil, err
	}
	if msg.DI != di {
		return nil, errors.New("reply for another DI")
	}
	return ed.Registry().Decode(di, msg.Payload, nil)
}

func (r *rig) number(m *model.Meter, di dlt645.DI) int64 {
	r.t.Helper()
	v := r.read(m, di)[0]
	if v.NoData || v.Kind != dlt645.KindNumber {
		r.t.Fatalf("%s %s: %+v is not a number", m.Address, di, v)
	}
	return v.Number.Units
}

func TestReadsMatchTheModel(t *testing.T) {
	r := newRig(t)
	r.at("2025-03-01 13:37")
	now := r.fleet.Now()
	for _, m := range []*model.Meter{r.area.Meter, r.customer(14)} {
		reg := m.Registers(now)
		if got := r.number(m, 0x00010000); got != reg.Forward[0] {
			t.Errorf("%s forward total %d, model %d", m.Address, got, reg.Forward[0])
		}
		block := r.read(m, 0x0001FF00)
		for i := range 5 {
			if block[i].Number.Units != reg.Forward[i] {
				t.Errorf("%s tariff %d: %s, model %d", m.Address, i, block[i].String(), reg.Forward[i])
			}
		}
		if got := r.number(m, 0x02010100); got != reg.Voltage[0] {
			t.Errorf("voltage %d, model %d", got, reg.Voltage[0])
		}
		if got := r.number(m, 0x02030000); got != reg.Power[0] {
			t.Errorf("power %d, model %d", got, reg.Power[0])
		}
		clock := r.read(m, 0x04000102)[0].Time
		if mt := reg.MeterTime; int(clock.Hour) != mt.Hour() || int(clock.Minute) != mt.Minute() {
			t.Errorf("clock %s, model %s", clock, mt)
		}
		addr := r.read(m, 0x04000401)[0].String()
		if addr != m.Address {
			t.Errorf("address %s", addr)
		}
	}
	// The area meter has a CT: its registers are secondary values.
	if r.area.Meter.CT != 10 {
		t.Fatalf("area meter CT %d", r.area.Meter.CT)
	}
}

func TestDailyFreezeAtMidnightAndHistory(t *testing.T) {
	r := newRig(t)
	r.at("2025-03-04 08:00")
	m := r.customer(14)
	tm := r.read(m, 0x05060001)[0].Time
	if tm.String() != "2025-03-04T00:00" {
		t.Fatalf("last daily freeze at %s, want 2025-03-04T00:00", tm)
	}
	fz := m.DailyFreezes()[0]
	vals := r.read(m, 0x05060101)
	if len(vals) != 5 || vals[0].Number.Units != fz.Forward[0] {
		t.Fatalf("daily freeze energies %v, model %d", vals, fz.Forward[0])
	}
	// energy monotonic across the freezes
	prev := int64(-1)
	for n := 3; n >= 1; n-- {
		v := r.read(m, dlt645.DI(0x05060100+n))[0].Number.Units
		if v < prev {
			t.Fatalf("freeze -%d %d below the one before %d", n, v, prev)
		}
		prev = v
	}
	// a record the meter has not made yet is "no data"
	if v := r.read(m, 0x0506003E); !v[0].NoData {
		t.Fatalf("freeze -62 on day 4: %+v", v[0])
	}
}

func TestPlantedFaultsShowOnTheWire(t *testing.T) {
	r := newRig(t)
	r.at("2025-03-02 08:00")
	stopped0 := r.number(r.customer(2), 0x00010000)
	jump0 := r.number(r.customer(4), 0x00010000)
	back0 := r.number(r.customer(5), 0x00010000)
	rev0 := r.number(r.customer(3), 0x00020000)
	r.at("2025-03-02 20:00")

	// stopped: the register does not move while current flows
	if got := r.number(r.customer(2), 0x00010000); got != stopped0 {
		t.Errorf("stopped meter advanced %d -> %d", stopped0, got)
	}
	if i := r.number(r.customer(2), 0x02020100); i == 0 {
		t.Errorf("stopped meter shows no current")
	}
	// reverse wiring: consumption lands in the reverse register, power negative
	if got := r.number(r.customer(3), 0x00020000); got <= rev0 {
		t.Errorf("reverse-wired meter's reverse register %d -> %d", rev0, got)
	}
	// jump and backwards
	if got := r.number(r.customer(4), 0x00010000); got-jump0 < 50000 {
		t.Errorf("register jump: %d -> %d, want at least +500.00", jump0, got)
	}
	if got := r.number(r.customer(5), 0x00010000); got >= back0 {
		t.Errorf("register back: %d -> %d, want lower", back0, got)
	}
	// clock drift: 600 s a day for 1 day 20 hours: 1100 s fast
	m := r.customer(6)
	reg := m.Registers(r.fleet.Now())
	drift := reg.MeterTime.Sub(reg.Time)
	if drift < 1090*time.Second || drift > 1110*time.Second {
		t.Errorf("clock drift %v", drift)
	}
	clk := r.read(m, 0x04000102)[0].Time
	if int(clk.Minute) != reg.MeterTime.Minute() {
		t.Errorf("meter reports %s, its clock is %s", clk, reg.MeterTime)
	}
	// cover opened: the counter and the record
	if n := r.number(r.customer(7), 0x03300D00); n != 1 {
		t.Errorf("cover-open count %d", n)
	}
	if rec := r.read(r.customer(7), 0x03300D01); !strings.HasPrefix(rec[0].Time.String(), "2025-03-02T10:00") {
		t.Errorf("cover-open record %s", rec[0].Time)
	}
	// phase loss on the three-phase area meter: phase B voltage gone
	v := r.read(r.area.Meter, 0x0201FF00)
	if v[1].Number.Units > 100 || v[0].Number.Units < 2000 {
		t.Errorf("phase loss B: voltages %s %s %s", v[0].String(), v[1].String(), v[2].String())
	}
	words := r.read(r.area.Meter, 0x04000505) // status word 5: phase B
	if words[0].Raw[0]&1 == 0 {
		t.Errorf("status word 5 does not show phase B voltage loss: % X", words[0].Raw)
	}
}

func TestWireBehaviours(t *testing.T) {
	r := newRig(t)
	r.at("2025-03-01 10:00")
	// never answers
	if _, err := r.tryRead(r.customer(8), 0x00010000); err == nil || err.Error() != "no reply" {
		t.Errorf("no_answer meter: %v", err)
	}
	// slow: the bus waits 800 ms before answering
	r.slept = nil
	if _, err := r.tryRead(r.customer(9), 0x00010000); err != nil || len(r.slept) != 1 || r.slept[0] != 800*time.Millisecond {
		t.Errorf("slow meter: %v, slept %v", err, r.slept)
	}
	// bad checksum
	if _, err := r.tryRead(r.customer(10), 0x00010000); !errors.Is(err, dlt645.ErrChecksum) {
		t.Errorf("bad_checksum meter: %v", err)
	}
	// FE noise: four FE before the frame, which still decodes
	raw := r.exchange(dlt645.DLT2007.ReadRequest(dlt645.MustParseAddress(r.customer(11).Address), 0x00010000))
	if !bytes.HasPrefix(raw, []byte{0xFE, 0xFE, 0xFE, 0xFE, 0x68}) {
		t.Errorf("fe_noise reply % X", raw)
	}
	// corrupt: the reply fails its checksum or decodes to something else
	if vals, err := r.tryRead(r.customer(12), 0x00010000); err == nil && vals[0].Number.Units == r.customer(12).Registers(r.fleet.Now()).Forward[0] {
		t.Errorf("corrupt meter answered cleanly")
	}
	// offline for a period
	r.at("2025-03-03 06:00")
	if _, err := r.tryRead(r.customer(13), 0x00010000); err == nil {
		t.Errorf("offline meter answered")
	}
	r.at("2025-03-03 13:00")
	if _, err := r.tryRead(r.customer(13), 0x00010000); err != nil {
		t.Errorf("meter back online: %v", err)
	}
}

func TestSameSeedSameBytes(t *testing.T) {
	run := func() []byte {
		r := newRig(t)
		var all []byte
		for _, s := range []string{"2025-03-01 06:00", "2025-03-02 06:00", "2025-03-03 06:00"} {
			r.at(s)
			for _, m := range append([]*model.Meter{r.area.Meter}, r.area.Customers...) {
				for _, di := range []dlt645.DI{0x0001FF00, 0x0201FF00, 0x02020100, 0x04000102, 0x05060101} {
					all = append(all, r.exchange(dlt645.DLT2007.ReadRequest(dlt645.MustParseAddress(m.Address), di))...)
				}
			}
		}
		return all
	}
	a, b := run(), run()
	if len(a) < 1000 || !bytes.Equal(a, b) {
		t.Fatalf("two runs differ (%d and %d bytes)", len(a), len(b))
	}
}

func TestAuthorityAndBroadcast(t *testing.T) {
	r := newRig(t)
	r.at("2025-03-02 10:00")
	m := r.customer(6) // drifting ~6 minutes fast by now? 600 s/day from day 1
	addr := dlt645.MustParseAddress(m.Address)
	// a wrong password is refused with ERR bit 2
	bad, _ := dlt645.ParseAuth(2, "999999", "00000001")
	reply := r.exchange(dlt645.DLT2007.WriteRequest(addr, 0x04000102, bad, []byte{0, 0, 0x10}))
	var f dlt645.Frame
	f.Decode(reply)
	_, err := dlt645.DLT2007.Decode(&f)
	var me *dlt645.MeterError
	if !errors.As(err, &me) || !me.Unauthorised() {
		t.Fatalf("wrong password: %v", err)
	}
	// broadcast sync within 5 minutes is obeyed, once a day
	now := r.fleet.Now()
	reg := m.Registers(now)
	target := reg.MeterTime.Add(-4 * time.Minute)
	if r.exchange(dlt645.DLT2007.BroadcastTimeRequest(dlt645.DateTimeOf(target, dlt645.YYMMDDhhmmss))) != nil {
		t.Fatal("a broadcast was answered")
	}
	if got := m.Clock(now); got.Sub(target).Abs() > time.Second {
		t.Fatalf("after broadcast the clock reads %s, want %s", got, target)
	}
	// a larger correction needs an authorised write
	far := m.Clock(now).Add(-20 * time.Minute)
	r.exchange(dlt645.DLT2007.BroadcastTimeRequest(dlt645.DateTimeOf(far, dlt645.YYMMDDhhmmss)))
	if m.Clock(now).Sub(far).Abs() < time.Minute {
		t.Fatal("a 20-minute broadcast correction was obeyed")
	}
	good, _ := dlt645.ParseAuth(2, "000000", "00000001")
	spec, _ := dlt645.DLT2007.Registry().Lookup(0x04000102)
	data, _ := spec.Encode(nil, []dlt645.Value{dlt645.TimeValue(dlt645.DateTimeOf(far, dlt645.Hhmmss))})
	reply = r.exchange(dlt645.DLT2007.WriteRequest(addr, 0x04000102, good, data))
	f.Decode(reply)
	if msg, err := dlt645.DLT2007.Decode(&f); err != nil || msg.Op != dlt645.OpWrite {
		t.Fatalf("authorised write: %v", err)
	}
	if m.Clock(now).Sub(far).Abs() > time.Second {
		t.Fatalf("clock after write %s, want %s", m.Clock(now), far)
	}
	// relay trip shows in status word 3
	reply = r.exchange(dlt645.DLT2007.RelayRequest(addr, good, dlt645.RelayTrip, dlt645.DateTimeOf(now.Add(time.Hour), dlt645.YYMMDDhhmmss)))
	f.Decode(reply)
	if _, err := dlt645.DLT2007.Decode(&f); err != nil {
		t.Fatalf("relay: %v", err)
	}
	if w := r.read(m, 0x04000503); w[0].Raw[0]&0x10 == 0 {
		t.Fatalf("status word 3 after trip: % X", w[0].Raw)
	}
}

func TestLoadProfileWithFollowUps(t *testing.T) {
	r := newRig(t)
	r.at("2025-03-02 12:00")
	m := r.customer(14)
	addr := dlt645.MustParseAddress(m.Address)
	from := dlt645.DateTime{Layout: dlt645.YYMMDDhhmm, Year: 2025, Month: 3, Day: 2, Hour: 0, Minute: 0}
	reply := r.exchange(dlt645.DLT2007.ReadProfileRequest(addr, 0x06000001, 8, from))
	var f dlt645.Frame
	if _, err := f.Decode(reply); err != nil {
		t.Fatal(err)
	}
	msg, err := dlt645.DLT2007.Decode(&f)
	if err != nil {
		t.Fatal(err)
	}
	var a dlt645.Assembler
	msg.Payload = bytes.Clone(msg.Payload)
	if err := a.Start(&msg); err != nil {
		t.Fatal(err)
	}
	parts := 1
	for !a.Done() {
		req, _ := a.Next()
		reply := r.exchange(req, nil)
		var g dlt645.Frame
		g.Decode(reply)
		m2, err := dlt645.DLT2007.Decode(&g)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Add(&m2); err != nil {
			t.Fatal(err)
		}
		parts++
	}
	recs, err := dlt645.DecodeProfile(a.Data())
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 8 || parts < 2 {
		t.Fatalf("%d records in %d frames", len(recs), parts)
	}
	model := m.LoadProfile(time.Date(2025, 3, 2, 0, 0, 0, 0, model.DefaultZone), 8)
	for i := range recs {
		if recs[i].Energy[0].Units != model[i].Forward || recs[i].Time.Minute != int8(model[i].Time.Minute()) {
			t.Fatalf("record %d: %s %s, model %s %d", i, recs[i].Time, recs[i].Energy[0], model[i].Time, model[i].Forward)
		}
		if i > 0 && recs[i].Energy[0].Units < recs[i-1].Energy[0].Units {
			t.Fatalf("load-profile energy goes down at record %d", i)
		}
	}
}

func TestEdition1997Blocks(t *testing.T) {
	r := newRig(t)
	r.at("2025-03-01 12:00")
	m := r.customer(14)
	m.Edition = 1997 // the same registers, spoken in 1997
	defer func() { m.Edition = 2007 }()
	vals := r.read(m, 0x901F)
	reg := m.Registers(r.fleet.Now())
	if len(vals) != 5 || vals[0].DI != 0x9010 || vals[4].DI != 0x9014 || vals[0].Number.Units != reg.Forward[0] || vals[3].Number.Units != reg.Forward[3] {
		t.Fatalf("901F: %+v, model %v", vals, reg.Forward)
	}
	if v := r.read(m, 0xB611); v[0].Number.Units != (reg.Voltage[0]+5)/10 {
		t.Fatalf("B611 %s, model %d", v[0].String(), reg.Voltage[0])
	}
}

// Several meters answering one wildcard read collide on the line: the
// bytes are garbage, no clean frame from any of them. One meter matching
// gives its clean reply, with its own address. Control actions to a
// wildcard matching several meters are obeyed by none.
func TestWildcardReadsCollide(t *testing.T) {
	r := newRig(t)
	r.at("2025-03-01 10:00")
	const commAddr = dlt645.DI(0x04000401)
	frames := func(b []byte) (good []dlt645.Frame, bad int) {
		rd := dlt645.NewReader(bytes.NewReader(b))
		for {
			f, err := rd.ReadFrame()
			if err != nil {
				if errors.Is(err, io.EOF) {
					if len(bytes.Trim(b, "\xFE")) > 0 && rd.Skipped() > 0 {
						bad++ // noise: bytes that were no frame
					}
					return
				}
				bad++
				continue
			}
			good = append(good, f.Clone())
		}
	}
	all := r.exchange(dlt645.DLT2007.ReadRequest(dlt645.Wildcard, commAddr))
	// the fast meters' replies overlap into noise; the slow one (..09,
	// 800 ms) comes after them, clean
	if good, bad := frames(all); len(all) == 0 || len(good) > 1 || bad == 0 {
		t.Errorf("15 meters answering AAAAAAAAAAAA: %d good frames, %d bad in % X", len(good), bad, all)
	}
	// ..01 and ..11 share no low byte: AAAAAAAAAA01 is ..01 alone
	one := r.exchange(dlt645.DLT2007.ReadRequest(dlt645.MustParseAddress("AAAAAAAAAA01"), commAddr))
	if good, bad := frames(one); len(good) != 1 || bad != 0 || good[0].Address.String() != r.customer(1).Address {
		t.Errorf("one meter matching: % X", one)
	}
	// nobody has low byte 77
	if b := r.exchange(dlt645.DLT2007.ReadRequest(dlt645.MustParseAddress("AAAAAAAAAA77"), commAddr)); b != nil {
		t.Errorf("nobody matching answered % X", b)
	}
	// AAAAAAAA0001..: the high bytes AA, the two low ones fixed
	two := r.exchange(dlt645.DLT2007.ReadRequest(dlt645.MustParseAddress("AAAAAAAA0001"), commAddr))
	if good, _ := frames(two); len(good) != 1 || good[0].Address.String() != r.customer(1).Address {
		t.Errorf("AAAAAAAA0001: % X", two)
	}
	auth := dlt645.Auth{Level: 2}
	if b := r.exchange(dlt645.DLT2007.RelayRequest(dlt645.Wildcard, auth, dlt645.RelayTrip, dlt645.DateTime{Layout: dlt645.YYMMDDhhmmss, Year: 2025, Month: 3, Day: 2})); b != nil {
		t.Errorf("a relay command to AAAAAAAAAAAA on a shared line got % X", b)
	}
}
