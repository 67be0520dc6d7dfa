package field_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/protocol/gdw3761"
	"github.com/headend/headend/sim/field"
	"github.com/headend/headend/sim/meterbus"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
)

const gdwScenario = `
start: 2025-03-01T00:00:00+08:00
areas:
  - id: A1
    customers: {residential: 36, commercial: 4}
    concentrator: {protocol: gdw3761, address: "4401 0001", access: {kind: tcp-dialin, dial: "127.0.0.1:1"}}
faults:
  - {area: A1, index: 3, kind: cover_open, start: "2025-03-01 14:00"}
  - {area: A1, index: 7, kind: no_answer, start: "2025-03-01 00:00"}
`

var termAddr = gdw3761.Address{Area: 4401, Terminal: 1}

// termRig is a terminal on the meters of one simulated area, with a test
// master station listening for it.
type termRig struct {
	t      *testing.T
	fleet  *model.Fleet
	meters []*model.Meter
	fwd    *meterbus.Bus
	term   *field.Terminal
	ln     net.Listener
	tick   chan time.Time

	mu        sync.Mutex
	now       time.Time
	intervals []time.Duration
}

func newTermRig(t *testing.T, with ...func(*field.TerminalOptions)) *termRig {
	t.Helper()
	sc, err := scenario.Parse("gdw.yaml", []byte(gdwScenario))
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := model.New(sc.Config)
	if err != nil {
		t.Fatal(err)
	}
	r := &termRig{t: t, fleet: fleet, tick: make(chan time.Time), now: fleet.Start()}
	a := fleet.Areas()[0]
	r.meters = append([]*model.Meter{a.Meter}, a.Customers...)
	nosleep := func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	bus := func() *meterbus.Bus {
		b, err := meterbus.New(fleet, r.meters, meterbus.Options{Seed: 1, Sleep: nosleep, Now: r.simNow})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	poll := bus()
	r.fwd = bus()
	var ar []gdw3761.MeterEntry
	for i, m := range r.meters {
		ar = append(ar, entry(uint16(i+1), m.Address))
	}
	r.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.ln.Close() })
	opts := field.TerminalOptions{
		Options: field.Options{Baud: 2400, Sleep: nosleep},
		Address: termAddr, Archive: ar, Now: r.simNow, Drift: 30,
		Poll: poll, Forward: r.fwd, Heartbeat: 45 * time.Second, PollEvery: -1,
		LoginTimeout: 5 * time.Second,
		NewTicker: func(d time.Duration) (<-chan time.Time, func()) {
			r.mu.Lock()
			r.intervals = append(r.intervals, d)
			r.mu.Unlock()
			return r.tick, func() {}
		},
		Backoff: func(int) time.Duration { return time.Second },
	}
	for _, w := range with {
		w(&opts)
	}
	r.term, err = field.NewTerminal(r.ln.Addr().String(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func entry(pn uint16, addr string) gdw3761.MeterEntry {
	return gdw3761.MeterEntry{Serial: pn, Point: pn, Port: 2, Baud: 2400, Protocol: gdw3761.MeterDLT2007,
		Address: dlt645.MustParseAddress(addr), Tariffs: 4, IntDigits: 6, DecDigits: 2}
}

func (r *termRig) simNow() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

// at moves simulated time (and the model) to s.
func (r *termRig) at(s string) {
	r.t.Helper()
	t, err := time.ParseInLocation("2006-01-02 15:04", s, model.DefaultZone)
	if err != nil {
		r.t.Fatal(err)
	}
	r.fleet.AdvanceTo(t)
	r.mu.Lock()
	r.now = t
	r.mu.Unlock()
}

// run starts the terminal; it stops at the end of the test.
func (r *termRig) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.term.Run(ctx); close(done) }()
	r.t.Cleanup(func() { cancel(); <-done })
}

// master is the test's master station on one terminal connection.
type master struct {
	t    *testing.T
	conn net.Conn
	rd   *gdw3761.Reader
	pseq uint8
}

func (r *termRig) accept() *master {
	r.t.Helper()
	conn, err := r.ln.Accept()
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	return &master{t: r.t, conn: conn, rd: gdw3761.NewReader(conn)}
}

func (m *master) next() *gdw3761.Frame {
	m.t.Helper()
	f, err := m.rd.ReadFrame()
	if err != nil {
		m.t.Fatalf("read frame: %v", err)
	}
	c := f.Clone()
	return &c
}

func (m *master) send(f gdw3761.Frame, err error) {
	m.t.Helper()
	if err != nil {
		m.t.Fatal(err)
	}
	b, err := f.MarshalBinary()
	if err != nil {
		m.t.Fatal(err)
	}
	if _, err := m.conn.Write(b); err != nil {
		m.t.Fatal(err)
	}
}

// login expects the login and confirms it.
func (m *master) login() {
	m.t.Helper()
	f := m.next()
	if f.AFN != gdw3761.AFNLink || !f.Control.Up() || f.Address != termAddr {
		m.t.Fatalf("first frame %v from %v, want the login AFN 02 of %v", f.AFN, f.Address, termAddr)
	}
	u, err := f.Units(nil)
	if err != nil || len(u) != 1 || u[0].Fn != 1 {
		m.t.Fatalf("login units %v, %v; want F1", u, err)
	}
	m.send(gdw3761.Confirm(f), nil)
}

// ask sends a request and returns the units of the (assembled) reply.
func (m *master) ask(f gdw3761.Frame, err error) (*gdw3761.Frame, []gdw3761.Unit) {
	m.t.Helper()
	m.send(f, err)
	var as gdw3761.Assembler
	for {
		r := m.next()
		if r.AFN == gdw3761.AFNConfirm {
			u, _ := r.Units(nil)
			return r, u
		}
		if r.AFN != f.AFN {
			continue // a heartbeat in between
		}
		done, err := as.Add(r)
		if err != nil {
			m.t.Fatal(err)
		}
		if done {
			u, err := as.Units(nil)
			if err != nil {
				m.t.Fatal(err)
			}
			fs := as.Frames()
			return &fs[len(fs)-1], u
		}
	}
}

func (m *master) seq() uint8 {
	m.pseq = (m.pseq + 1) & 0x0F
	return m.pseq
}

func TestTerminalLoginHeartbeatRelogin(t *testing.T) {
	r := newTermRig(t)
	r.at("2025-03-01 12:00")
	r.run()
	m := r.accept()
	m.login()

	r.tick <- time.Now()
	hb := m.next()
	u, err := hb.Units(nil)
	if err != nil || hb.AFN != gdw3761.AFNLink || len(u) != 1 || u[0].Fn != 3 {
		t.Fatalf("heartbeat: %v units %v %v", hb.AFN, u, err)
	}
	clock, err := gdw3761.A1.Decode(u[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	// 12 simulated hours at 30 s/day fast: 15 s ahead
	if want := gdw3761.DateTimeOf(r.simNow().Add(15 * time.Second)); clock != want {
		t.Errorf("heartbeat clock %v, want %v", clock, want)
	}
	m.send(gdw3761.Confirm(hb), nil)
	r.mu.Lock()
	iv := append([]time.Duration(nil), r.intervals...)
	r.mu.Unlock()
	if len(iv) != 1 || iv[0] != 45*time.Second {
		t.Errorf("heartbeat intervals %v, want [45s]", iv)
	}

	// the master drops the connection: the terminal dials and logs in again
	m.conn.Close()
	m2 := r.accept()
	m2.login()
	r.tick <- time.Now()
	if f := m2.next(); f.AFN != gdw3761.AFNLink {
		t.Fatalf("after re-login got %v, want a heartbeat", f.AFN)
	}
	if st := r.term.LinkStats(); st.Logins != 2 {
		t.Errorf("logins %d, want 2", st.Logins)
	}
}

func TestTerminalUnconfirmedHeartbeatsRelogin(t *testing.T) {
	r := newTermRig(t)
	r.run()
	m := r.accept()
	m.login()
	for range 4 { // three unconfirmed, the fourth tick drops the link
		r.tick <- time.Now()
	}
	for range 3 {
		if f := m.next(); f.AFN != gdw3761.AFNLink {
			t.Fatalf("got %v, want heartbeats", f.AFN)
		}
	}
	r.accept().login()
}

func TestTerminalDailyFreezes32Points(t *testing.T) {
	r := newTermRig(t)
	r.at("2025-03-02 00:20")
	r.term.Collect(t.Context())
	r.at("2025-03-03 00:20")
	r.term.Collect(t.Context())
	r.run()
	m := r.accept()
	m.login()

	var pns []uint16
	for p := uint16(1); p <= 32; p++ {
		pns = append(pns, p)
	}
	day := gdw3761.DateTime{Year: 2025, Month: 3, Day: 2}
	_, units := m.ask(gdw3761.ReadDaily(termAddr, m.seq(), day, pns, []uint8{161, 163}))
	if len(units) != 64 {
		t.Fatalf("%d units, want 64 (32 points × F161, F163)", len(units))
	}
	var e gdw3761.Energy
	seen := 0
	for _, u := range units {
		if u.Fn != 161 {
			continue
		}
		seen++
		if err := e.UnmarshalUnit(gdw3761.AFNClass2, u.Fn, u.Data); err != nil {
			t.Fatalf("p%d: %v", u.Pn, err)
		}
		if e.Date != day {
			t.Errorf("p%d date %v, want %v", u.Pn, e.Date, day)
		}
		mt := r.meters[u.Pn-1]
		want, ok := freezeAt(mt, "2025-03-03 00:00")
		if mt == r.meters[7] { // no_answer: the terminal has nothing
			if !e.Total.Missing {
				t.Errorf("p%d (dead meter) total %v, want EE", u.Pn, e.Total)
			}
			continue
		}
		if !ok {
			t.Fatalf("meter %s has no freeze at 2025-03-03 00:00", mt.Address)
		}
		got, _ := e.Total.Value.Rescale(2)
		if e.Total.Missing || got.Units != want.Forward[0] || len(e.Tariffs) != 4 {
			t.Errorf("p%d total %v (%d tariffs), want %d × 0.01 kWh", u.Pn, e.Total, len(e.Tariffs), want.Forward[0])
		}
		for i, tr := range e.Tariffs {
			if v, _ := tr.Value.Rescale(2); v.Units != want.Forward[i+1] {
				t.Errorf("p%d tariff %d = %v, want %d", u.Pn, i+1, tr, want.Forward[i+1])
			}
		}
	}
	if seen != 32 {
		t.Errorf("%d F161 units", seen)
	}
	// counted per meter for /counts
	if n := len(r.term.Answers()[r.meters[0].Address]); n != 2 {
		t.Errorf("area meter answered %d units to the head-end, want 2", n)
	}

	// a day the terminal never collected: EE filler, not zeros
	_, units = m.ask(gdw3761.ReadDaily(termAddr, m.seq(), gdw3761.DateTime{Year: 2025, Month: 2, Day: 20}, []uint16{1}, []uint8{161}))
	if len(units) != 1 || e.UnmarshalUnit(gdw3761.AFNClass2, 161, units[0].Data) != nil || !e.Total.Missing {
		t.Errorf("uncollected day: %v %v", units, e.Total)
	}
	// nothing of the meter in it: not an answer /counts counts (the
	// head-end keeps one row of an empty transaction, not one a meter);
	// nor is the dead meter's EE
	if n := len(r.term.Answers()[r.meters[0].Address]); n != 2 {
		t.Errorf("area meter answered %d units with data, want 2 (the EE of an uncollected day counted)", n)
	}
	if n := len(r.term.Answers()[r.meters[7].Address]); n != 0 {
		t.Errorf("dead meter answered %d units, want 0", n)
	}
}

func freezeAt(m *model.Meter, s string) (model.Freeze, bool) {
	at, _ := time.ParseInLocation("2006-01-02 15:04", s, model.DefaultZone)
	for _, f := range m.DailyFreezes() {
		if d := f.Time.Sub(at); d < time.Hour && d > -time.Hour {
			return f, true
		}
	}
	return model.Freeze{}, false
}

func TestTerminalForwardsToTheBus(t *testing.T) {
	r := newTermRig(t)
	r.at("2025-03-01 10:00")
	r.run()
	m := r.accept()
	m.login()
	mt := r.meters[5]
	req, err := dlt645.DLT2007.ReadRequest(dlt645.MustParseAddress(mt.Address), 0x00010000)
	if err != nil {
		t.Fatal(err)
	}
	wire, _ := req.MarshalBinary()
	sc, _ := gdw3761.MakeSerialControl(2400, 'E', 8, 1)
	_, units := m.ask(gdw3761.Forward(termAddr, m.seq(), [16]byte{}, &gdw3761.ForwardRequest{Port: 2, Serial: sc, FrameTimeout: time.Second, ByteTimeout: 100 * time.Millisecond, Data: wire}))
	var rep gdw3761.ForwardReply
	if len(units) != 1 || rep.UnmarshalUnit(units[0].Data) != nil || len(rep.Data) == 0 {
		t.Fatalf("forward reply units %v", units)
	}
	var f dlt645.Frame
	if _, err := f.Decode(rep.Data); err != nil {
		t.Fatalf("forwarded reply: %v", err)
	}
	msg, err := dlt645.DLT2007.Decode(&f)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := dlt645.DLT2007.Registry().Decode(0x00010000, msg.Payload, nil)
	if err != nil || len(vals) != 1 {
		t.Fatal(vals, err)
	}
	if want := mt.Registers(r.simNow()).Forward[0]; vals[0].Number.Units != want {
		t.Errorf("forwarded read %v, want %d × 0.01 kWh", vals[0].Number, want)
	}
	if n := len(r.fwd.Answers()[mt.Address]); n != 1 {
		t.Errorf("forward bus counted %d answers of %s, want 1", n, mt.Address)
	}
	if st := r.term.Stats(); st.Transactions.Load() != 1 {
		t.Errorf("line carried %d transactions, want 1", st.Transactions.Load())
	}
}

func TestTerminalArchiveDownloadAndReadBack(t *testing.T) {
	r := newTermRig(t)
	r.run()
	m := r.accept()
	m.login()
	ar := gdw3761.Archive{Meters: []gdw3761.MeterEntry{entry(1, "000001000040"), entry(50, "000001000041")}}
	ar.Meters[0].Point = 60
	ar.Meters[1].Protocol = gdw3761.MeterDLT1997
	ar.Meters[1].Class = 5
	f, units := m.ask(gdw3761.WriteArchive(termAddr, m.seq(), [16]byte{}, &ar))
	if f.AFN != gdw3761.AFNConfirm || len(units) != 1 || units[0].Fn != 1 {
		t.Fatalf("archive download answered %v %v, want AFN 00 F1", f.AFN, units)
	}
	_, units = m.ask(gdw3761.ReadArchive(termAddr, m.seq(), []uint16{1, 50, 2}))
	var got gdw3761.Archive
	if len(units) != 1 || got.UnmarshalUnit(units[0].Data) != nil {
		t.Fatalf("read-back units %v", units)
	}
	want := append(ar.Meters, entry(2, r.meters[1].Address))
	if len(got.Meters) != 3 {
		t.Fatalf("read back %d entries, want 3: %+v", len(got.Meters), got.Meters)
	}
	for i := range want {
		if got.Meters[i] != want[i] {
			t.Errorf("entry %d read back %+v, want %+v", i, got.Meters[i], want[i])
		}
	}
	// point 0 deletes
	del := gdw3761.Archive{Meters: []gdw3761.MeterEntry{entry(50, "000001000041")}}
	del.Meters[0].Point = 0
	m.ask(gdw3761.WriteArchive(termAddr, m.seq(), [16]byte{}, &del))
	_, units = m.ask(gdw3761.ReadArchive(termAddr, m.seq(), []uint16{50}))
	if len(units) != 1 || got.UnmarshalUnit(units[0].Data) != nil || len(got.Meters) != 0 {
		t.Errorf("deleted entry still read back: %+v", got.Meters)
	}
}

func TestTerminalReportsEvents(t *testing.T) {
	r := newTermRig(t)
	r.at("2025-03-01 00:20")
	r.term.Collect(t.Context())
	r.at("2025-03-02 00:20") // meter 3's cover opened at 14:00 on the 1st
	r.term.Collect(t.Context())
	r.run()
	m := r.accept()
	m.login()

	f, _ := m.ask(gdw3761.ReadClock(termAddr, m.seq()), nil)
	if !f.Control.ACD() || f.EC.Important == 0 {
		t.Fatalf("reply ACD %v EC %+v, want events waiting", f.Control.ACD(), f.EC)
	}
	n := f.EC.Important
	_, units := m.ask(gdw3761.ReadEvents(termAddr, m.seq(), true, 0, n), nil)
	var ev gdw3761.Events
	if len(units) != 1 || ev.UnmarshalUnit(units[0].Data) != nil {
		t.Fatalf("events units %v", units)
	}
	found := false
	for _, e := range ev.Records {
		if e.ERC == gdw3761.ERCMeterCoverOpen && e.Pn == 4 {
			found = true
		}
	}
	if !found {
		t.Errorf("no ERC37 for point 4 among %+v", ev.Records)
	}
	f, _ = m.ask(gdw3761.ReadClock(termAddr, m.seq()), nil)
	if f.Control.ACD() {
		t.Errorf("ACD still set after the events were read")
	}
}

func TestTerminalClockSetAndDeny(t *testing.T) {
	r := newTermRig(t)
	r.at("2025-03-02 00:00")
	r.run()
	m := r.accept()
	m.login()
	set := gdw3761.DateTimeOf(r.simNow().Add(-time.Hour))
	f, units := m.ask(gdw3761.SetClock(termAddr, m.seq(), [16]byte{}, set))
	if f.AFN != gdw3761.AFNConfirm || len(units) != 1 || units[0].Fn != 1 {
		t.Fatalf("clock set answered %v %v", f.AFN, units)
	}
	_, units = m.ask(gdw3761.ReadClock(termAddr, m.seq()), nil)
	if len(units) != 1 {
		t.Fatalf("clock units %v", units)
	}
	if got, _ := gdw3761.A1.Decode(units[0].Data); got != set {
		t.Errorf("clock after set %v, want %v", got, set)
	}
	// something it does not do: AFN 09 F1
	req := gdw3761.ReadClock(termAddr, m.seq())
	req.AFN = gdw3761.AFNConfig
	req.Data = []byte{0, 0, 1, 0}
	f, units = m.ask(req, nil)
	if f.AFN != gdw3761.AFNConfirm || len(units) != 1 || units[0].Fn != 2 {
		t.Errorf("AFN 09 answered %v %v, want AFN 00 F2", f.AFN, units)
	}
}
