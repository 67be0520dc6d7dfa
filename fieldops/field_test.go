package fieldops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

func TestReadMeterOverPTY(t *testing.T) {
	sim := startSim(t)
	at(sim, 3*time.Hour)
	d := direct(t, sim, nil)
	ctx := t.Context()

	r := must[*Reading](t)(d.ReadMeter(ctx, meterA, nil)) // the instantaneous set
	if got, want := forward(t, r), modelForward(sim, meterA); got != want {
		t.Errorf("forward active energy %s, model %s", got, want)
	}
	if r.Meter != meterA || r.Channel != "CPTY-1" || len(r.Values) < 6 || !r.At.Equal(sim.Fleet.Now()) {
		t.Errorf("reading %+v", r)
	}

	// by name and by DI, a DI the meter does not have, leading zeros dropped
	r = must[*Reading](t)(d.ReadMeter(ctx, "31000001", []string{"phase-A voltage, 00010000", "04A00000"}))
	if len(r.Values) != 3 || r.Values[0].DI != "02010100" || r.Values[0].Unit != "V" || r.Values[0].Status != meter.OK ||
		r.Values[1].Value != modelForward(sim, meterA) || r.Values[2].Status != meter.NoData {
		t.Errorf("named read %+v", r.Values)
	}

	// a 1997 meter is read with its own DIs
	d97 := *d
	d97.Edition = dlt645.DLT1997
	r = must[*Reading](t)(d97.ReadMeter(ctx, old1997, []string{"9010"}))
	if r.Values[0].Value != modelForward(sim, old1997) {
		t.Errorf("1997 read %+v, model %s", r.Values, modelForward(sim, old1997))
	}

	// nobody at that address: no answer, and how long we waited
	_, err := d.ReadMeter(ctx, "000031000099", nil)
	if !errors.Is(err, ErrNoAnswer) || !strings.Contains(err.Error(), "no reply within 300ms") {
		t.Errorf("absent meter: %v", err)
	}
	// bad parameters name themselves
	var pe *ParamError
	if _, err := d.ReadMeter(ctx, "12x", nil); !errors.As(err, &pe) || pe.Param != "meter" {
		t.Errorf("bad address: %v", err)
	}
	if _, err := d.ReadMeter(ctx, meterA, []string{"voltage of the moon"}); !errors.As(err, &pe) || pe.Param != "di" {
		t.Errorf("bad item: %v", err)
	}
}

func TestScanFindsExactlyTheSimulatedMeters(t *testing.T) {
	sim := startSim(t)
	at(sim, time.Hour)
	d := direct(t, sim, nil)
	var progress [][2]int
	res, err := d.Scan(t.Context(), "", ScanRequest{From: "000031000000", To: "31000007", TimeoutMS: 60},
		func(done, total int) { progress = append(progress, [2]int{done, total}) })
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Found {
		got = append(got, fmt.Sprintf("%s/%s", f.Address, f.Edition))
	}
	want := []string{"000031000000/DL/T645-2007", "000031000001/DL/T645-2007", "000031000002/DL/T645-2007",
		"000031000003/DL/T645-1997", "000031000004/DL/T645-2007"}
	if !slices.Equal(got, want) {
		t.Errorf("found %v, want %v", got, want)
	}
	if len(progress) != 8 || progress[0] != [2]int{1, 8} || progress[7] != [2]int{8, 8} || res.Probed != 8 {
		t.Errorf("progress %v, probed %d", progress, res.Probed)
	}
	// several meters on the line: read address hears nobody
	res = must[*ScanResult](t)(d.Scan(t.Context(), "", ScanRequest{ReadAddress: true, Edition: "2007"}, nil))
	if len(res.Found) != 0 || len(res.Notes) != 1 {
		t.Errorf("read address on a shared line: %+v", res)
	}
	var pe *ParamError
	if _, err := d.Scan(t.Context(), "", ScanRequest{From: "000031000000", To: "000031999999"}, nil); !errors.As(err, &pe) || pe.Param != "to" {
		t.Errorf("range too large: %v", err)
	}
	if _, err := d.Scan(t.Context(), "", ScanRequest{From: "000031000000"}, nil); !errors.As(err, &pe) || pe.Param != "to" {
		t.Errorf("range without an end: %v", err)
	}
}

func TestReadAddressOfTheOneMeterOnALine(t *testing.T) {
	sim := startSim(t)
	m := dial(t, sim, "CTCP", 300*time.Millisecond)
	d := &Direct{Master: m, Options: Options{Retries: -1}}
	// the TCP line has three meters: make it one by searching a range
	// too, then check read address against a line of one (below)
	res := must[*ScanResult](t)(d.Scan(t.Context(), "", ScanRequest{From: "000032000002", To: "000032000002", ReadAddress: true, Edition: "2007", TimeoutMS: 60}, nil))
	if len(res.Found) != 1 || res.Found[0].Address != "000032000002" || res.Probed != 2 {
		t.Errorf("scan %+v", res)
	}
	one := oneMeterLine(t, sim, "000032000001")
	d = &Direct{Master: one, Options: Options{Retries: -1}}
	res = must[*ScanResult](t)(d.Scan(t.Context(), "", ScanRequest{ReadAddress: true}, nil))
	if len(res.Found) != 1 || res.Found[0].Address != "000032000001" || res.Found[0].How != "read address" {
		t.Errorf("read address: %+v", res)
	}
	// the wildcard search (the default) finds it too: a probe of
	// AAAAAAAAAAAA, its confirmation, and a 1997 probe nobody answers
	res = must[*ScanResult](t)(d.Scan(t.Context(), "", ScanRequest{TimeoutMS: 100}, nil))
	if len(res.Found) != 1 || res.Found[0].Address != "000032000001" || res.Found[0].How != "wildcard" || res.Requests != 3 {
		t.Errorf("wildcard search on a line of one: %+v", res)
	}
}

func TestClockReadAndBroadcastSync(t *testing.T) {
	sim := startSim(t)
	at(sim, 6*time.Hour) // 06:00: ..02 is 150 s fast, ..04 600 s
	var audit auditLog
	d := direct(t, sim, &audit)
	ctx := t.Context()

	now := sim.Fleet.Now()
	want := int64(sim.Fleet.Meter(drifting).Clock(now).Sub(now).Round(time.Second) / time.Second)
	c := must[*ClockReading](t)(d.ReadClock(ctx, drifting))
	if c.ErrorSeconds != want || want < 140 || want > 170 || c.MeterTime.Sub(c.HeadEndTime) != c.Offset() {
		t.Fatalf("clock %+v, model %d s", c, want)
	}
	s := must[*ClockSync](t)(d.SyncClock(ctx, drifting, SyncRequest{}))
	if s.Method != "broadcast" || s.Bus != "CPTY-1" || !s.Corrected || s.After == nil || s.After.ErrorSeconds != 0 || s.Before.ErrorSeconds < 148 {
		t.Fatalf("sync %+v", s)
	}
	if got := must[*ClockReading](t)(d.ReadClock(ctx, drifting)); got.ErrorSeconds != 0 {
		t.Errorf("after sync the clock is %d s off", got.ErrorSeconds)
	}
	if len(audit.recs) != 1 || audit.recs[0].action != "clock.sync" || audit.recs[0].target != drifting ||
		audit.recs[0].detail["result"] != "ok" || audit.recs[0].detail["error_before_s"] != s.Before.ErrorSeconds {
		t.Errorf("audit %+v", audit.recs)
	}

	// an on-time meter: nothing to do
	s = must[*ClockSync](t)(d.SyncClock(ctx, meterA, SyncRequest{}))
	if s.Method != "none" || !s.Corrected {
		t.Errorf("on-time meter %+v", s)
	}

	// 10 minutes off: no broadcast may fix that; an authorised write does
	_, err := d.SyncClock(ctx, farDrift, SyncRequest{})
	if !errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), "authorised write") {
		t.Fatalf("far drift broadcast: %v", err)
	}
	var pe *ParamError
	if _, err := d.SyncClock(ctx, farDrift, SyncRequest{Write: true}); !errors.As(err, &pe) || pe.Param != "password" {
		t.Fatalf("write without password: %v", err)
	}
	if _, err := d.SyncClock(ctx, farDrift, SyncRequest{Write: true, Password: "123456", Operator: "1"}); !errors.Is(err, ErrRefused) {
		t.Fatalf("write with a wrong password: %v", err)
	}
	s = must[*ClockSync](t)(d.SyncClock(ctx, farDrift, SyncRequest{Write: true, Password: simPasswd, Operator: "ABCD"}))
	if s.Method != "write" || !s.Corrected || s.Before.ErrorSeconds < 595 {
		t.Errorf("write %+v", s)
	}
	last := audit.recs[len(audit.recs)-1]
	if last.action != "clock.write" || last.detail["operator"] != "ABCD" || last.detail["result"] != "ok" {
		t.Errorf("write audit %+v", last)
	}
	noSecret(t, audit.recs, simPasswd, "123456")

	// near midnight the rules say no
	at(sim, 23*time.Hour+55*time.Minute)
	if _, err := d.SyncClock(ctx, drifting, SyncRequest{Force: true}); !errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), "midnight") {
		t.Errorf("near midnight: %v", err)
	}
}

func TestRelayTripStopsConsumptionAndIsAudited(t *testing.T) {
	sim := startSim(t)
	at(sim, 8*time.Hour)
	var audit auditLog
	d := direct(t, sim, &audit)
	ctx := t.Context()

	// without password or operator: refused before anything is sent
	sent := d.Master.Stats.Requests.Load()
	var pe *ParamError
	if _, err := d.Relay(ctx, meterA, RelayRequest{Action: "trip", Operator: "1"}); !errors.As(err, &pe) || pe.Param != "password" {
		t.Fatalf("no password: %v", err)
	}
	if _, err := d.Relay(ctx, meterA, RelayRequest{Action: "trip", Password: simPasswd}); !errors.As(err, &pe) || pe.Param != "operator" {
		t.Fatalf("no operator: %v", err)
	}
	if _, err := d.Relay(ctx, meterA, RelayRequest{Action: "open sesame", Password: simPasswd, Operator: "1"}); !errors.As(err, &pe) || pe.Param != "action" {
		t.Fatalf("bad action: %v", err)
	}
	if n := d.Master.Stats.Requests.Load(); n != sent {
		t.Fatalf("%d requests went out for refused commands", n-sent)
	}
	if _, err := d.Relay(ctx, meterA, RelayRequest{Action: "trip", Password: "02654321", Operator: "1"}); !errors.Is(err, ErrRefused) {
		t.Fatalf("wrong password: %v", err)
	}
	if len(audit.recs) != 4 || audit.recs[0].detail["result"] != "rejected" || audit.recs[3].detail["result"] != "refused by the meter" {
		t.Fatalf("audit of refusals %+v", audit.recs)
	}

	res := must[*RelayResult](t)(d.Relay(ctx, meterA, RelayRequest{Action: "trip", Password: "02" + simPasswd, Operator: "0000abcd"}))
	if res.State != "open" || res.Action != "trip" || res.Operator != "0000ABCD" {
		t.Fatalf("trip %+v", res)
	}
	rec := audit.recs[len(audit.recs)-1]
	if rec.action != "relay.trip" || rec.target != meterA || rec.detail["result"] != "ok" || rec.detail["state"] != "open" || rec.detail["operator"] != "0000abcd" {
		t.Errorf("trip audit %+v", rec)
	}
	noSecret(t, audit.recs, simPasswd, "654321")

	at(sim, 8*time.Hour+15*time.Minute) // the model's step under way when it tripped
	before := forward(t, must[*Reading](t)(d.ReadMeter(ctx, meterA, []string{"00010000"})))
	at(sim, 11*time.Hour)
	if after := forward(t, must[*Reading](t)(d.ReadMeter(ctx, meterA, []string{"00010000"}))); after != before {
		t.Errorf("tripped meter registered %s -> %s", before, after)
	}
	res = must[*RelayResult](t)(d.Relay(ctx, meterA, RelayRequest{Action: "close", Password: simPasswd, Operator: "1"}))
	if res.State != "closed" {
		t.Fatalf("close %+v", res)
	}
	at(sim, 14*time.Hour)
	if after := forward(t, must[*Reading](t)(d.ReadMeter(ctx, meterA, []string{"00010000"}))); after == before {
		t.Errorf("closed meter registers nothing: %s", after)
	}

	// 1997 meters have no relay
	d.Edition = dlt645.DLT1997
	if _, err := d.Relay(ctx, old1997, RelayRequest{Action: "trip", Password: simPasswd, Operator: "1"}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("1997 relay: %v", err)
	}
}

// noSecret fails if a password shows anywhere in the audit records.
func noSecret(t *testing.T, recs []auditRec, secrets ...string) {
	t.Helper()
	for _, r := range recs {
		for k, v := range r.detail {
			s := fmt.Sprint(v)
			for _, p := range secrets {
				if strings.Contains(k, "password") || strings.Contains(s, p) {
					t.Errorf("audit %s %s: %s=%q holds a password", r.action, r.target, k, s)
				}
			}
		}
	}
}

func TestParseAuthority(t *testing.T) {
	a, err := ParseAuthority("04123456", 0, "abcd")
	if err != nil || a.Level != 4 || a.Password != [3]byte{0x56, 0x34, 0x12} || a.OperatorCode() != "0000ABCD" {
		t.Fatalf("%+v %v", a, err)
	}
	for _, c := range []struct {
		pw, op string
		level  int
		param  string
	}{
		{"", "1", 0, "password"}, {"12345", "1", 0, "password"}, {"12345a", "1", 0, "password"},
		{"123456", "", 0, "operator"}, {"123456", "xyz", 0, "operator"}, {"123456", "987654321", 0, "operator"},
		{"04123456", "1", 2, "level"}, {"123456", "1", 12, "level"},
	} {
		_, err := ParseAuthority(c.pw, c.level, c.op)
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != c.param {
			t.Errorf("%q %q %d: %v, want a %s error", c.pw, c.op, c.level, err, c.param)
		}
		if c.pw != "" && err != nil && strings.Contains(err.Error(), c.pw) {
			t.Errorf("error repeats the password: %v", err)
		}
	}
}

func TestParseItems(t *testing.T) {
	dis, err := ParseItems(dlt645.DLT2007, "di", []string{"Forward_Active_Energy total", "0x0201 0100", "clock", "00010000"})
	if err != nil || !slices.Equal(dis, []dlt645.DI{0x00010000, 0x02010100, 0x04000101, 0x04000102}) {
		t.Fatalf("%v %v", dis, err)
	}
	if dis, _ := ParseItems(dlt645.DLT1997, "di", nil); len(dis) != 6 || dis[0] != 0x901F {
		t.Errorf("1997 default %v", dis)
	}
	if _, err := ParseItems(dlt645.DLT2007, "di", []string{"9010"}); err == nil || !strings.Contains(err.Error(), "8 hex digits") {
		t.Errorf("a 1997 DI for a 2007 meter: %v", err)
	}
}

// A context that ends stops a scan where it is.
func TestScanStopsWithContext(t *testing.T) {
	sim := startSim(t)
	d := direct(t, sim, nil)
	ctx, cancel := context.WithCancel(t.Context())
	res, err := d.Scan(ctx, "", ScanRequest{From: "000031000000", To: "000031000099", Edition: "2007", TimeoutMS: 50},
		func(done, total int) {
			if done == 3 {
				cancel()
			}
		})
	if !errors.Is(err, context.Canceled) || res == nil || res.Probed != 3 {
		t.Errorf("%v %+v", err, res)
	}
}

func TestParseItemsStatusOf1997(t *testing.T) {
	var pe *ParamError
	if _, err := ParseItems(dlt645.DLT1997, "di", []string{"status"}); !errors.As(err, &pe) || !strings.Contains(err.Error(), "have none") {
		t.Errorf("%v", err)
	}
}

// A guard that refuses (an audit log that cannot record) stops the
// command before anything goes on the wire.
func TestGuardRefusesBeforeTheWire(t *testing.T) {
	sim := startSim(t)
	at(sim, 8*time.Hour)
	var audit auditLog
	d := direct(t, sim, &audit)
	var asked []string
	d.Guard = func(_ context.Context, action, target string, detail map[string]any) error {
		asked = append(asked, action+" "+target)
		if _, has := detail["result"]; has {
			t.Errorf("the guard got an outcome: %v", detail)
		}
		return errors.New("audit log full")
	}
	sent := d.Master.Stats.Requests.Load()
	_, err := d.Relay(t.Context(), meterA, RelayRequest{Action: "trip", Password: simPasswd, Operator: "1"})
	if err == nil || !strings.Contains(err.Error(), "relay.trip "+meterA+" not done: audit log full") {
		t.Fatalf("relay: %v", err)
	}
	if _, err := d.SyncClock(t.Context(), drifting, SyncRequest{}); err == nil {
		t.Fatal("sync went ahead")
	}
	if n := d.Master.Stats.Requests.Load(); n != sent {
		t.Errorf("%d requests went out", n-sent)
	}
	if len(asked) != 2 || len(audit.recs) != 2 || audit.recs[0].detail["result"] != "failed" {
		t.Errorf("guard %v, audit %+v", asked, audit.recs)
	}
}
