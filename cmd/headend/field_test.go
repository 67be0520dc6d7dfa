package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/results"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	apifield "github.com/headend/headend/api/field"
	"github.com/headend/headend/collector"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/fieldops"
	"github.com/headend/headend/internal/testenv"
	"github.com/headend/headend/protocol/dlt645"
	simfield "github.com/headend/headend/sim/field"
	"github.com/headend/headend/sim/meterbus"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
	"github.com/headend/headend/sim/simulator"
)

// The line the commands open themselves: meters 000051000000 .. 03 of a
// fleet that starts at the last quarter hour, answering on a
// pseudo-terminal with their clocks at this computer's time (the head-end
// clock of a command on a port).
const lineScenario = `
name: cli
seed: 11
start: %s
speed: 1
areas:
  - id: S1
    name: S1
    feeder: F1
    voltage_level: 10kV/0.4kV
    ct_ratio: 10
    tech_loss_pct: 4
    address_prefix: "000051"
    customers: {residential: 3}
    concentrator: {id: C51, access: {kind: serial}}
`

var cst = time.FixedZone("+08:00", 8*3600)

func cliLine(t *testing.T) (*model.Fleet, string) {
	t.Helper()
	start := time.Now().In(cst).Truncate(model.Step)
	sc, err := scenario.Parse("cli.yaml", []byte(fmt.Sprintf(lineScenario, start.Format(time.RFC3339))))
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := model.New(sc.Config)
	if err != nil {
		t.Fatal(err)
	}
	a := fleet.Areas()[0]
	bus, err := meterbus.New(fleet, append([]*model.Meter{a.Meter}, a.Customers...), meterbus.Options{Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	line, err := simfield.OpenSerialLine(t.Context(), bus, simfield.Options{})
	if err != nil {
		testenv.Skip(t, "no pty: %v", err)
	}
	t.Cleanup(func() { line.Close() })
	return fleet, line.Path()
}

// The daemon's line: a simulator with meters 000052000000 .. 02 on a
// pseudo-terminal.
const daemonScenario = `
name: clid
seed: 12
start: 2025-07-01T00:00:00+08:00
speed: 1
areas:
  - id: S2
    name: S2
    feeder: F1
    voltage_level: 10kV/0.4kV
    ct_ratio: 10
    tech_loss_pct: 4
    address_prefix: "000052"
    customers: {residential: 2}
    concentrator: {id: C52, access: {kind: serial}}
`

func cliSim(t *testing.T) *simulator.Simulator {
	t.Helper()
	sc, err := scenario.Parse("clid.yaml", []byte(daemonScenario))
	if err != nil {
		t.Fatal(err)
	}
	noSleep := func(context.Context, time.Duration) error { return nil }
	sim, err := simulator.Start(context.Background(), sc, simulator.Options{Tick: -1, Sleep: noSleep, ZeroDelay: true})
	if err != nil {
		testenv.Skip(t, "simulator: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

func port(t *testing.T, sim *simulator.Simulator, conc string) string {
	ep, ok := sim.Endpoint(conc)
	if !ok {
		t.Fatalf("no %s", conc)
	}
	return ep.Address
}

func forwardOf(fleet *model.Fleet, addr string) string {
	return dlt645.Decimal{Units: fleet.Meter(addr).Registers(time.Now()).Forward[0], Scale: 2}.String()
}

func TestFieldCommandsOnAPort(t *testing.T) {
	fleet, pty := cliLine(t)
	conn := []string{"--port", pty, "--timeout", "300ms", "--retries", "0", "--zone", "+08:00"}

	out, _, err := run(t, "", append([]string{"read", "--addr", "000051000001", "--di", "00010000"}, conn...)...)
	if err != nil {
		t.Fatal(err)
	}
	var r fieldops.Reading
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Values[0].Value != forwardOf(fleet, "000051000001") || r.Channel != pty {
		t.Fatalf("read %q: %v (model %s)", out, err, forwardOf(fleet, "000051000001"))
	}
	out, _, err = run(t, "", append([]string{"read", "--meter", "51000001", "--di", "phase A voltage,clock", "--text"}, conn...)...)
	if err != nil || !strings.Contains(out, "02010100  phase A voltage") || !strings.Contains(out, "04000102  time") {
		t.Fatalf("read --text %v:\n%s", err, out)
	}
	if _, _, err = run(t, "", append([]string{"read", "--addr", "000051000001", "--di", "moonlight"}, conn...)...); err == nil || !strings.HasPrefix(err.Error(), "--di: ") {
		t.Errorf("bad --di: %v", err)
	}
	if _, _, err = run(t, "", "read", "--addr", "1"); err == nil || !strings.Contains(err.Error(), "--port") {
		t.Errorf("no connection: %v", err)
	}

	// scan: exactly the meters of the line, progress on stderr
	out, errOut, err := run(t, "", append([]string{"scan", "--from", "000051000000", "--to", "000051000009", "--edition", "2007", "--wait", "50"}, conn...)...)
	if err != nil {
		t.Fatal(err)
	}
	var sr fieldops.ScanResult
	json.Unmarshal([]byte(out), &sr)
	if len(sr.Found) != 4 || sr.Found[3].Address != "000051000003" || sr.Probed != 10 {
		t.Errorf("scan %s", out)
	}
	if !strings.Contains(errOut, "scan: 1/10\n") || !strings.Contains(errOut, "scan: 10/10\n") || strings.Count(errOut, "\n") != 10 {
		t.Errorf("progress %q", errOut)
	}

	// clock: a meter two minutes fast, set right by a broadcast
	auditLog := filepath.Join(t.TempDir(), "audit.jsonl")
	if now := time.Now().In(cst); now.Hour() == 23 && now.Minute() >= 40 || now.Hour() == 0 && now.Minute() < 20 {
		t.Log("near midnight the meters refuse clock changes: not tried")
	} else {
		now := time.Now()
		fleet.Meter("000051000002").SetClock(now, now.Add(2*time.Minute))
		out, _, err = run(t, "", append([]string{"time", "--addr", "000051000002"}, conn...)...)
		var cr fieldops.ClockReading
		if err != nil || json.Unmarshal([]byte(out), &cr) != nil || cr.ErrorSeconds < 118 || cr.ErrorSeconds > 122 {
			t.Fatalf("time %v %s", err, out)
		}
		out, _, err = run(t, "", append([]string{"time", "sync", "--addr", "000051000002", "--text", "--audit-log", auditLog}, conn...)...)
		if err != nil || !strings.Contains(out, "broadcast time sync on "+pty) || !strings.Contains(out, "  corrected") {
			t.Fatalf("sync %v:\n%s", err, out)
		}
	}

	// relay: refused without a password, done with one from the environment
	_, _, err = run(t, "", append([]string{"relay", "trip", "--addr", "000051000001", "--operator", "7"}, conn...)...)
	if err == nil || !strings.HasPrefix(err.Error(), "--password: required") {
		t.Fatalf("relay without password: %v", err)
	}
	if _, _, err = run(t, "", append([]string{"relay", "open-sesame", "--addr", "000051000001", "--operator", "7", "--password", "000000"}, conn...)...); err == nil || !strings.Contains(err.Error(), "want trip") {
		t.Errorf("bad action: %v", err)
	}
	t.Setenv(envPassword, "000000")
	out, errOut, err = run(t, "", append([]string{"relay", "trip", "--addr", "000051000001", "--operator", "7", "--text", "--audit-log", auditLog}, conn...)...)
	if err != nil || !strings.Contains(out, "trip 000051000001: relay open (operator 00000007") || strings.Contains(out+errOut, "000000 ") {
		t.Fatalf("relay %v\n%s%s", err, out, errOut)
	}
	b, _ := os.ReadFile(auditLog)
	if !strings.Contains(string(b), `"action":"relay.trip"`) || strings.Contains(string(b), `"000000"`) {
		t.Errorf("audit log:\n%s", b)
	}
	// without --audit-log the record goes to standard error
	_, errOut, err = run(t, "", append([]string{"relay", "close", "--addr", "000051000001", "--operator", "7"}, conn...)...)
	if err != nil || !strings.HasPrefix(errOut, `audit: {"time":`) || !strings.Contains(errOut, `"relay.close"`) {
		t.Errorf("close %v %q", err, errOut)
	}
	if _, _, err := run(t, "", "status", "--port", pty); err == nil || !strings.Contains(err.Error(), "--server is required") {
		t.Errorf("status on a port: %v", err)
	}
}

// The same commands through the running daemon: the HTTP API over
// loopback, a collector on the second line.
func TestFieldCommandsThroughTheDaemon(t *testing.T) {
	sim := cliSim(t)
	dir := t.TempDir()
	text := fmt.Sprintf(`collector:
  data_dir: %s
  instantaneous: {enabled: false}
  interval: {enabled: false}
  daily: {enabled: false}
  monthly: {enabled: false}
  clock: {enabled: false}
http: {listen: ""}
archive:
  areas: [{id: S2, name: Second line, feeder: F1, voltage_level: 10kV/0.4kV}]
  concentrators: [{id: C52, area: S2, channels: [C52-1]}]
  channels: [{id: C52-1, kind: serial, device: %q, timeout: 300ms, gap: 1ms, retries: 0}]
  meters:
    - {address: "000052000000", channel: C52-1, area: S2, role: area, ct: 10, pt: 1}
    - {address: "000052000001", channel: C52-1, area: S2, ct: 1, pt: 1}
`, dir, port(t, sim, "C52"))
	path := filepath.Join(dir, "headend.yaml")
	os.WriteFile(path, []byte(text), 0o644)
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := collector.New(cfg, collector.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	mux := http.NewServeMux()
	apifield.Register(mux, &fieldops.Daemon{Collector: func() *collector.Collector { return c }})
	const token = "t0ps3cret"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorised", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	defer srv.Close()
	server := []string{"--server", srv.URL}

	// the collector opens its channels when it starts: until then it
	// has no bus to read on
	for deadline := time.Now().Add(20 * time.Second); len(c.Status().Channels) == 0; runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatal("the collector never opened its channel")
		}
	}
	out, errOut, err := run(t, "", append([]string{"read", "--meter", "000052000001", "--di", "00010000", "--token", token}, server...)...)
	want := dlt645.Decimal{Units: sim.Fleet.Meter("000052000001").Registers(sim.Fleet.Now()).Forward[0], Scale: 2}.String()
	var r fieldops.Reading
	if err != nil || json.Unmarshal([]byte(out), &r) != nil || r.Values[0].Value != want || r.Area != "S2" {
		t.Fatalf("read through the daemon %v %s %s (model %s)", err, out, errOut, want)
	}
	if strings.Contains(out+errOut, token) {
		t.Error("the token was printed")
	}
	// the token from the environment, or a file; a wrong one is refused
	t.Setenv(envToken, token)
	if _, _, err := run(t, "", append([]string{"time", "--meter", "000052000001"}, server...)...); err != nil {
		t.Errorf("token from %s: %v", envToken, err)
	}
	tf := filepath.Join(dir, "token")
	os.WriteFile(tf, []byte("wrong\n"), 0o600)
	_, _, err = run(t, "", append([]string{"time", "--meter", "000052000001", "--token-file", tf}, server...)...)
	if err == nil || !strings.Contains(err.Error(), "refused the token") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong token: %v", err)
	}
	if _, _, err := run(t, "", append([]string{"read", "--meter", "000052000009"}, server...)...); !errors.Is(err, fieldops.ErrUnknownMeter) {
		t.Errorf("unknown meter: %v", err)
	}

	out, errOut, err = run(t, "", append([]string{"scan", "--channel", "C52-1", "--from", "52000000", "--to", "52000003", "--edition", "2007", "--wait", "50", "--text"}, server...)...)
	if err != nil || !strings.Contains(out, "4 addresses probed, 3 meters answered") || !strings.Contains(out, "000052000002  DL/T645-2007  search  (not in the archive)") ||
		!strings.Contains(errOut, "scan: 4/4") {
		t.Errorf("scan %v\n%s%s", err, out, errOut)
	}
	out, _, err = run(t, "", append([]string{"status", "--text"}, server...)...)
	if err != nil || !strings.Contains(out, "C52-1") || !strings.Contains(out, "Second line") {
		t.Errorf("status %v\n%s", err, out)
	}
	out, _, err = run(t, "", append([]string{"relay", "trip", "--meter", "000052000001", "--operator", "9", "--password", "000000"}, server...)...)
	var rr fieldops.RelayResult
	if err != nil || json.Unmarshal([]byte(out), &rr) != nil || rr.State != "open" {
		t.Errorf("relay through the daemon %v %s", err, out)
	}
}

func TestArchiveExportAndImport(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "meters"), 0o755)
	os.WriteFile(filepath.Join(dir, "headend.yaml"), []byte(`collector: {data_dir: data}
http: {listen: ""}
archive:
  areas: [{id: A, name: A, feeder: F1, voltage_level: 10kV/0.4kV}]
  channels: [{id: CH, kind: tcp, address: "127.0.0.1:1"}]
  meters_csv: [meters/*.csv]
`), 0o644)
	a := filepath.Join(dir, "meters", "a.csv")
	os.WriteFile(a, []byte("address,channel,area,role,ct,pt\n000001000000,CH,A,area,20,1\n"), 0o644)
	cfg := filepath.Join(dir, "headend.yaml")

	out, _, err := run(t, "", "archive", "export", "--config", cfg)
	if err != nil || !strings.HasPrefix(out, "address,edition,unit,channel,area") || !strings.Contains(out, "000001000000,2007,,CH,A,area,,,20,1,") {
		t.Fatalf("export %v:\n%s", err, out)
	}
	exported := filepath.Join(dir, "all.csv")
	if _, errOut, err := run(t, "", "archive", "export", "--config", cfg, "--out", exported); err != nil || !strings.Contains(errOut, "1 meters written") {
		t.Fatalf("export --out %v %s", err, errOut)
	}

	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("address,channel,area,ct\n1000001,CH,A,1\n1000002,CH,A,-3\n1000003,CH9,A,1\n"), 0o644)
	_, errOut, err := run(t, "", "archive", "import", "--config", cfg, bad, "--audit-log", filepath.Join(dir, "audit"))
	if !errors.Is(err, errReported) || !strings.Contains(errOut, "bad.csv:3:4: ct") || !strings.Contains(errOut, "bad.csv:4") ||
		!strings.Contains(errOut, "nothing imported") {
		t.Fatalf("bad import %v:\n%s", err, errOut)
	}
	if b, _ := os.ReadFile(a); strings.Count(string(b), "\n") != 2 {
		t.Fatalf("a bad import wrote:\n%s", b)
	}
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte("address,channel,area\n1000001,CH,A\n"), 0o644)
	out, errOut, err = run(t, "", "archive", "import", "--config", cfg, good, "--audit-log", filepath.Join(dir, "audit"))
	if err != nil || !strings.Contains(out, "1 added, 0 updated") {
		t.Fatalf("import %v %s", err, out)
	}
	// the change is logged with before and after
	if !strings.Contains(errOut, "archive change log: 1 changes recorded") {
		t.Errorf("import said: %s", errOut)
	}
	res, err := results.Open(filepath.Join(dir, "data", "store", "results.db"), results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := res.Current(context.Background(), store.RecordQuery{Kind: archive.KindChange})
	res.Close()
	if len(recs) != 1 || !strings.Contains(string(recs[0].Body), "000001000001") {
		t.Errorf("change log: %+v", recs)
	}
	if b, _ := os.ReadFile(a); !strings.Contains(string(b), "000001000001,2007,,CH,A,customer") {
		t.Errorf("after import:\n%s", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "audit")); strings.Count(string(b), `"action":"archive.import"`) != 2 {
		t.Errorf("audit:\n%s", b)
	}
}

func TestProgressCounterAndBar(t *testing.T) {
	var b strings.Builder
	p := newProgress(&b, "scan")
	for i := 1; i <= 25; i++ {
		p.update(i, 25)
	}
	p.done()
	if lines := strings.Split(strings.TrimSpace(b.String()), "\n"); len(lines) != 11 || lines[0] != "scan: 1/25" || lines[10] != "scan: 25/25" {
		t.Errorf("counter lines %q", lines)
	}
	b.Reset()
	p = &progress{w: &b, what: "scan", tty: true, last: -1}
	p.update(5, 10)
	p.update(10, 10)
	p.done()
	if b.String() != "\rscan [###############...............] 5/10\rscan [##############################] 10/10\n" {
		t.Errorf("bar %q", b.String())
	}
}
