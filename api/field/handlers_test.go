package field

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/fieldops"
	"github.com/headend/headend/internal/testenv"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/scenario"
	"github.com/headend/headend/sim/simulator"
)

// A concentrator on loopback TCP with meters 000041000000 .. 03; 02
// answers only with wrong checksums.
const apiScenario = `
name: api
seed: 9
start: 2025-06-01T00:00:00+08:00
speed: 1
areas:
  - id: A
    name: A
    feeder: F1
    voltage_level: 10kV/0.4kV
    ct_ratio: 10
    tech_loss_pct: 4
    address_prefix: "000041"
    customers: {residential: 3}
    concentrator: {id: C41, access: {kind: tcp-listen, listen: "127.0.0.1:0"}}
faults:
  - {area: A, index: 2, kind: bad_checksum, start: "2025-06-01 00:00"}
`

const (
	meter1  = "000041000001"
	garbled = "000041000002"
)

// archived is the Direct of the concentrator, with an archive: a meter
// not on its line is unknown.
type archived struct {
	*fieldops.Direct
	meters []string
}

func (a archived) known(meter string) error {
	if !slices.Contains(a.meters, meter) {
		return fmt.Errorf("%w: %s is not in the archive", fieldops.ErrUnknownMeter, meter)
	}
	return nil
}

func (a archived) ReadMeter(ctx context.Context, meter string, items []string) (*fieldops.Reading, error) {
	if err := a.known(meter); err != nil && len(meter) == 12 {
		return nil, err
	}
	return a.Direct.ReadMeter(ctx, meter, items)
}

type rig struct {
	sim   *simulator.Simulator
	srv   *httptest.Server
	audit []string // action target detail
	mu    sync.Mutex
}

func newRig(t *testing.T) *rig {
	t.Helper()
	sc, err := scenario.Parse("api.yaml", []byte(apiScenario))
	if err != nil {
		t.Fatal(err)
	}
	noSleep := func(context.Context, time.Duration) error { return nil }
	sim, err := simulator.Start(context.Background(), sc, simulator.Options{Tick: -1, Sleep: noSleep, AnyPort: true, ZeroDelay: true})
	if err != nil {
		testenv.Skip(t, "simulator: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	sim.Fleet.AdvanceTo(sim.Fleet.Start().Add(6 * time.Hour))
	ep, _ := sim.Endpoint("C41")
	l := link.DialTCP(link.TCPConfig{Addr: ep.Address})
	t.Cleanup(func() { l.Close() })
	r := &rig{sim: sim}
	d := &fieldops.Direct{Master: &master.Master{Link: l, Timeout: 200 * time.Millisecond}, Channel: "C41-1",
		Options: fieldops.Options{Now: sim.Fleet.Now, Location: sim.Fleet.Zone(), Retries: -1,
			Audit: func(_ context.Context, action, target string, detail map[string]any) {
				r.mu.Lock()
				defer r.mu.Unlock()
				b, _ := json.Marshal(detail)
				r.audit = append(r.audit, action+" "+target+" "+string(b))
			}}}
	mux := http.NewServeMux()
	Register(mux, archived{Direct: d, meters: ep.Meters})
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *rig) call(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, r.srv.URL+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %v", method, path, resp.StatusCode, err)
	}
	return resp.StatusCode, m
}

func TestReadHandler(t *testing.T) {
	r := newRig(t)
	code, m := r.call(t, "POST", "/api/v1/meters/"+meter1+"/read", `{"di":["00010000","phase A voltage"]}`)
	want := dlt645.Decimal{Units: r.sim.Fleet.Meter(meter1).Registers(r.sim.Fleet.Now()).Forward[0], Scale: 2}.String()
	vals, _ := m["values"].([]any)
	if code != 200 || len(vals) != 2 || vals[0].(map[string]any)["value"] != want || vals[1].(map[string]any)["unit"] != "V" {
		t.Fatalf("%d %v (model %s)", code, m, want)
	}
	// no body: the instantaneous set; ?di= works too
	if code, m = r.call(t, "POST", "/api/v1/meters/"+meter1+"/read?di=clock", ""); code != 200 || len(m["values"].([]any)) != 2 {
		t.Errorf("query di: %d %v", code, m)
	}
	for _, c := range []struct {
		path, body string
		code       int
		param      string
		says       string
	}{
		{"/api/v1/meters/" + meter1 + "/read", `{"di":["moon phase"]}`, 400, "di", "moon phase"},
		{"/api/v1/meters/" + meter1 + "/read", `{"dis":["00010000"]}`, 400, "dis", "no such field"},
		{"/api/v1/meters/" + meter1 + "/read", `{"di":"00010000"}`, 400, "di", "want a JSON []string"},
		{"/api/v1/meters/" + meter1 + "/read", `{"di":[`, 400, "body", ""},
		{"/api/v1/meters/" + meter1 + "/read", `{"di":["clock"]}}`, 400, "body", "trailing data"},
		{"/api/v1/meters/" + meter1 + "/read", `{"di":["` + strings.Repeat("x", 70<<10) + `"]}`, 413, "body", "larger than 65536 bytes"},
		{"/api/v1/meters/12AB/read", ``, 400, "addr", "12AB"},
		{"/api/v1/meters/000041000009/read", ``, 404, "", "not in the archive"},
		{"/api/v1/meters/41000009/read", ``, 504, "", "no reply within 200ms"},
		{"/api/v1/meters/" + garbled + "/read", ``, 502, "", "garbled"},
	} {
		code, m := r.call(t, "POST", c.path, c.body)
		msg, _ := m["error"].(string)
		if code != c.code || (c.param != "" && m["param"] != c.param) || !strings.Contains(msg, c.says) {
			t.Errorf("%s %s: %d %v, want %d naming %q", c.path, c.body, code, m, c.code, c.param)
		}
	}
}

func TestClockAndSyncHandlers(t *testing.T) {
	r := newRig(t)
	code, m := r.call(t, "GET", "/api/v1/meters/"+meter1+"/time", "")
	now := r.sim.Fleet.Now()
	want := float64(r.sim.Fleet.Meter(meter1).Clock(now).Sub(now).Round(time.Second) / time.Second)
	if code != 200 || m["meter"] != meter1 || m["error_s"] != want {
		t.Fatalf("%d %v, model %v s", code, m, want)
	}
	code, m = r.call(t, "POST", "/api/v1/meters/"+meter1+"/time/sync", `{"force":true}`)
	if code != 200 || m["method"] != "broadcast" || m["corrected"] != true || m["bus"] != "C41-1" {
		t.Errorf("sync %d %v", code, m)
	}
	code, m = r.call(t, "POST", "/api/v1/meters/"+meter1+"/time/sync", `{"write":true}`)
	if code != 400 || m["param"] != "password" {
		t.Errorf("write without password %d %v", code, m)
	}
	r.sim.Fleet.AdvanceTo(r.sim.Fleet.Start().Add(24*time.Hour + 5*time.Minute)) // the model steps by 15 min: 00:00
	if code, m = r.call(t, "POST", "/api/v1/meters/"+meter1+"/time/sync", `{"force":true}`); code != 409 || m["kind"] != KindNotAllowed {
		t.Errorf("near midnight %d %v", code, m)
	}
}

func TestRelayHandler(t *testing.T) {
	r := newRig(t)
	code, m := r.call(t, "POST", "/api/v1/meters/"+meter1+"/relay", `{"action":"trip","operator":"0001"}`)
	if code != 400 || m["param"] != "password" {
		t.Fatalf("no password: %d %v", code, m)
	}
	code, m = r.call(t, "POST", "/api/v1/meters/"+meter1+"/relay", `{"action":"trip","password":"314159","operator":"0001"}`)
	if code != 422 || m["kind"] != KindRefused || strings.Contains(fmt.Sprint(m), "314159") {
		t.Fatalf("wrong password: %d %v", code, m)
	}
	code, m = r.call(t, "POST", "/api/v1/meters/"+meter1+"/relay", `{"action":"trip","password":"000000","operator":"0001"}`)
	if code != 200 || m["state"] != "open" || m["action"] != "trip" {
		t.Fatalf("trip: %d %v", code, m)
	}
	code, m = r.call(t, "POST", "/api/v1/meters/"+meter1+"/relay", `{"action":"close","password":"000000","operator":"0001","until":"tomorrow"}`)
	if code != 400 || m["param"] != "until" {
		t.Errorf("bad until: %d %v", code, m)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.audit) != 3 || !strings.HasPrefix(r.audit[2], "relay.trip "+meter1+" ") || !strings.Contains(r.audit[2], `"result":"ok"`) {
		t.Errorf("audit %q", r.audit)
	}
	for _, a := range r.audit {
		if strings.Contains(a, "000000\"") || strings.Contains(a, "314159") {
			t.Errorf("audit holds a password: %s", a)
		}
	}
}

func TestScanStreamsProgress(t *testing.T) {
	r := newRig(t)
	resp, err := http.Post(r.srv.URL+"/api/v1/buses/C41-1/scan", "application/json",
		strings.NewReader(`{"from":"000041000000","to":"000041000005","edition":"2007","timeout_ms":50}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("%s %v", resp.Status, resp.Header)
	}
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 7 || lines[0] != `{"done":1,"total":6}` || lines[5] != `{"done":6,"total":6}` {
		t.Fatalf("stream:\n%s", strings.Join(lines, "\n"))
	}
	var end ScanEnd
	if err := json.Unmarshal([]byte(lines[6]), &end); err != nil || end.Result == nil || end.Error != "" {
		t.Fatalf("last line %s: %v", lines[6], err)
	}
	var got []string
	for _, f := range end.Result.Found {
		got = append(got, f.Address+" "+f.Note)
	}
	want := []string{"000041000000 ", "000041000001 ", "000041000002 garbled reply: something answers at this address", "000041000003 "}
	if !slices.Equal(got, want) {
		t.Errorf("found %q", got)
	}
	// refused before it starts: a plain error
	code, m := r.call(t, "POST", "/api/v1/buses/C41-1/scan", `{"from":"000041000005","to":"000041000000"}`)
	if code != 400 || m["param"] != "to" {
		t.Errorf("bad range %d %v", code, m)
	}
	code, m = r.call(t, "POST", "/api/v1/buses/C99-1/scan", `{}`)
	if code != 404 || m["kind"] != KindUnknownChannel {
		t.Errorf("unknown bus %d %v", code, m)
	}
}

func TestClientRoundTrip(t *testing.T) {
	r := newRig(t)
	c := &Client{URL: r.srv.URL, Token: "s3cret"}
	ctx := t.Context()
	rd, err := c.ReadMeter(ctx, meter1, []string{"00010000"})
	if err != nil || len(rd.Values) != 1 || rd.Edition != dlt645.DLT2007 {
		t.Fatalf("%+v %v", rd, err)
	}
	var pe *fieldops.ParamError
	if _, err := c.ReadMeter(ctx, meter1, []string{"nonsense"}); !errors.As(err, &pe) || pe.Param != "di" {
		t.Errorf("param error: %v", err)
	}
	if _, err := c.ReadMeter(ctx, "41000009", nil); !errors.Is(err, fieldops.ErrNoAnswer) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("no answer: %v", err)
	}
	if _, err := c.Status(ctx); !errors.Is(err, fieldops.ErrUnsupported) {
		t.Errorf("status of a Direct: %v", err)
	}
	var steps []int
	res, err := c.Scan(ctx, "C41-1", fieldops.ScanRequest{From: "41000000", To: "41000001", Edition: "2007", TimeoutMS: 50}, func(done, _ int) { steps = append(steps, done) })
	if err != nil || len(res.Found) != 2 || !slices.Equal(steps, []int{1, 2}) {
		t.Errorf("scan %+v %v %v", res, err, steps)
	}
	res2, err := c.Relay(ctx, meter1, fieldops.RelayRequest{Action: "close", Password: "000000", Operator: "2"})
	if err != nil || res2.State != "closed" {
		t.Errorf("relay %+v %v", res2, err)
	}
	cl, err := c.ReadClock(ctx, meter1)
	if err != nil || cl.MeterTime.IsZero() {
		t.Errorf("clock %+v %v", cl, err)
	}
	// a server without the field routes
	bare := httptest.NewServer(http.NewServeMux())
	defer bare.Close()
	if _, err := (&Client{URL: bare.URL}).ReadMeter(ctx, meter1, nil); err == nil || !strings.Contains(err.Error(), "serves no field API") {
		t.Errorf("bare server: %v", err)
	}
	if _, err := (&Client{URL: "http://127.0.0.1:1"}).ReadMeter(ctx, meter1, nil); !errors.Is(err, fieldops.ErrUnavailable) {
		t.Errorf("nobody listening: %v", err)
	}
}

// Register wraps each route by its pattern: the integrator's roles.
func TestRegisterWrapsEachRoute(t *testing.T) {
	var seen []string
	mux := http.NewServeMux()
	Register(mux, &fieldops.Direct{}, func(p string, h http.Handler) http.Handler {
		seen = append(seen, p)
		if p == Routes.Relay {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "operator only", http.StatusForbidden) })
		}
		return h
	})
	if len(seen) != 6 {
		t.Fatalf("wrapped %v", seen)
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("POST", "/api/v1/meters/1/relay", strings.NewReader(`{}`)))
	if w.Code != http.StatusForbidden {
		t.Errorf("relay %d", w.Code)
	}
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/status/field", nil))
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), `"kind":"unsupported"`) {
		t.Errorf("status %d %s", w.Code, w.Body)
	}
}
