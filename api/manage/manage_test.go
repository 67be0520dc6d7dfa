package manage_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/analysis/assess"
	"github.com/headend/headend/analysis/inspect"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/api/auth"
	"github.com/headend/headend/api/manage"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/results"
	"github.com/headend/headend/store/sqlite"
)

var zone = time.FixedZone("CST", 8*3600)

func day(m time.Month, d int) time.Time { return time.Date(2025, m, d, 0, 0, 0, 0, zone) }

const (
	analystToken  = "analyst-secret-token-0001"
	operatorToken = "operator-secret-token-0002"
)

type env struct {
	srv     *httptest.Server
	results *results.Store
	reads   *sqlite.Store
}

// serve mounts svc as cmd/headend does: reading with read_all, changing
// with edit_reads, behind real tokens.
func serve(t testing.TB, svc *manage.Service) *httptest.Server {
	toks, err := auth.New([]config.TokenSpec{
		{Name: "Li Wei", Roles: []string{"analyst"}, Token: analystToken},
		{Name: "Operator", Roles: []string{"operator"}, Token: operatorToken},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	svc.Register(mux, toks.Require(auth.ReadAll), toks.RequireAny(auth.EditReads, auth.FieldControl))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, method, url, token, body string, want int) []byte {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, b, want)
	}
	return b
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	if err := json.Unmarshal(do(t, "GET", url, analystToken, "", 200), v); err != nil {
		t.Fatal(err)
	}
}

func dec(s string) dlt645.Decimal { d, _ := dlt645.ParseDecimal(s); return d }

func record(kind, key, area string, at time.Time, v any) store.Record {
	b, _ := json.Marshal(v)
	return store.Record{Kind: kind, Key: key, Area: area, Time: at, Body: b}
}

// handEnv: two areas, June 2025 against May.
//
//	D01 (F1, Li Wei, target 5): 06-01 100/90, 06-02 100/95, 06-03 not computable
//	    (area meter and 2 of 20 customers missing); 05-31 100/96
//	D02 (F2, Zhang Min, target 8 from *): 200/180 on each of 06-01..03
//
//	by feeder: F1 200/185 = 15 kWh, 7.50 %; F2 600/540 = 60 kWh, 10.00 %; total 800/725, 9.38 %
//	D01: 7.50 % vs 5, May 4.00 %: +3.50 pp; theft flag 0.8; 3 of 63 meter-days
//	    missing (4.76 % × 0.2): score 2.5 + 3.5 + 3.2 + 0.95 = 10.15; collection 58/60 = 96.7 %
//	F1: 7.50 % vs 5.00, +3.50 pp: 6.00; D02 and F2: 10.00 % vs 8: 2.00
//
// Load profile of D01 on 06-03: area meter 1000.00, 1010.00, 1025.00 at
// 00:00, 01:00, 02:00; its customer 500.00, 509.00, 523.50: hour 0 10/9,
// 10.00 %; hour 1 15/14.5, 3.33 %.
func handEnv(t testing.TB) (*env, *manage.Service) {
	dir := t.TempDir()
	rs, err := results.Open(filepath.Join(dir, "results.db"), results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	rd, err := sqlite.Open(filepath.Join(dir, "reads.db"), sqlite.Options{Location: zone})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	a := &archive.Archive{
		Areas: []archive.Area{{ID: "D01", Name: "Xinhua", Feeder: "F1", VoltageLevel: "10kV/0.4kV", Responsible: "Li Wei"},
			{ID: "D02", Name: "Market", Feeder: "F2", VoltageLevel: "10kV/0.4kV", Responsible: "Zhang Min"}},
		Meters: []archive.Meter{
			{Address: "000000000101", Area: "D01", Role: archive.RoleArea, CT: 1, PT: 1, Edition: archive.Edition2007},
			{Address: "000000000111", Area: "D01", Role: archive.RoleCustomer, CT: 1, PT: 1, Edition: archive.Edition2007},
			{Address: "000000000201", Area: "D02", Role: archive.RoleArea, CT: 1, PT: 1, Edition: archive.Edition2007},
			{Address: "000000000211", Area: "D02", Role: archive.RoleCustomer, CT: 1, PT: 1, Edition: archive.Edition2007},
		},
	}
	ix := a.Index()
	var recs []store.Record
	put := func(area string, at time.Time, supply, sales int64, computable bool) {
		ar, _ := ix.Area(area)
		am, _ := ix.AreaMeter(area)
		r := loss.Result{Area: area, Feeder: ar.Feeder, VoltageLevel: ar.VoltageLevel, Period: loss.Day(at),
			Supply: dlt645.Decimal{Units: supply}, Sales: dlt645.Decimal{Units: sales}, Class: loss.Qualified, Expected: 20, Read: 20,
			AreaMeter: &loss.MeterResult{Meter: am.Address, Role: archive.RoleArea, Status: loss.StatusRead}}
		r.Loss, _ = loss.Sub(r.Supply, r.Sales)
		if !computable {
			r.Class, r.Read, r.Missing = loss.NotComputable, 18, 2
			r.AreaMeter.Status = loss.StatusMissing
		}
		recs = append(recs, record(analysis.KindLoss, analysis.LossKey(area, r.Period), area, at, r))
	}
	put("D01", day(5, 31), 100, 96, true)
	put("D01", day(6, 1), 100, 90, true)
	put("D01", day(6, 2), 100, 95, true)
	put("D01", day(6, 3), 100, 10, false)
	for d := 1; d <= 3; d++ {
		put("D02", day(6, d), 200, 180, true)
	}
	f := anomaly.Flag{Kind: anomaly.Theft, Area: "D01", Meter: "000000000111", Start: day(6, 1), End: day(6, 3), Confidence: 0.8, Summary: "registers less"}
	recs = append(recs, record(analysis.KindFlag, analysis.FlagKey(&f), "D01", f.Start, f))
	ctx := context.Background()
	if _, err := rs.Put(ctx, recs); err != nil {
		t.Fatal(err)
	}
	var reads []meter.Read
	for _, s := range []struct {
		meter, fwd string
		h          int
	}{
		{"000000000101", "1000.00", 0}, {"000000000101", "1010.00", 1}, {"000000000101", "1025.00", 2},
		{"000000000111", "500.00", 0}, {"000000000111", "509.00", 1}, {"000000000111", "523.50", 2},
	} {
		at := day(6, 3).Add(time.Duration(s.h) * time.Hour)
		for _, q := range []struct{ name, v string }{{"forward active energy total", s.fwd}, {"reverse active energy total", "0.00"}} {
			reads = append(reads, meter.Read{Meter: s.meter, Area: "D01", Class: meter.Interval, Quantity: q.name, Unit: "kWh",
				Value: dec(q.v), MeterTime: at, ReadAt: at.Add(5 * time.Minute), Status: meter.OK})
		}
	}
	if err := rd.Write(ctx, reads); err != nil {
		t.Fatal(err)
	}
	ts, err := assess.ReadTargets(strings.NewReader("area_or_group,from,to,target_rate\n*,2025-01,,8\nD01,2025-01,,5\n"), "t.csv", zone)
	if err != nil {
		t.Fatal(err)
	}
	svc := &manage.Service{Results: rs, Reads: rd, Archive: func() *archive.Index { return ix }, Location: zone,
		Now: func() time.Time { return day(6, 4).Add(9 * time.Hour) }, Targets: func() assess.Targets { return ts }}
	return &env{srv: serve(t, svc), results: rs, reads: rd}, svc
}

type group struct {
	Key, Supply, Sales, Loss, Rate string
	Areas                          int
	Computable                     int `json:"computable_area_days"`
	Excluded                       []string
}

func TestRollupsHand(t *testing.T) {
	e, _ := handEnv(t)
	var body struct {
		By     string
		Groups []group
		Total  group
	}
	getJSON(t, e.srv.URL+"/api/v1/rollups?from=2025-06-01&to=2025-06-03&by=feeder", &body)
	if len(body.Groups) != 2 || body.By != "feeder" {
		t.Fatalf("%+v", body)
	}
	f1, f2 := body.Groups[0], body.Groups[1]
	if f1.Key != "F1" || f1.Supply != "200" || f1.Sales != "185" || f1.Loss != "15" || f1.Rate != "7.50" || f1.Computable != 2 ||
		len(f1.Excluded) != 1 || f1.Excluded[0] != "D01 2025-06-03T00:00" {
		t.Errorf("F1 %+v", f1)
	}
	if f2.Key != "F2" || f2.Rate != "10.00" || f2.Loss != "60" {
		t.Errorf("F2 %+v", f2)
	}
	if body.Total.Supply != "800" || body.Total.Loss != "75" || body.Total.Rate != "9.38" || body.Total.Computable != 5 {
		t.Errorf("total %+v", body.Total)
	}
	for _, by := range []string{"voltage_level", "area", "season", "responsible"} {
		getJSON(t, e.srv.URL+"/api/v1/rollups?from=2025-06-01&to=2025-06-03&by="+by, &body)
		if body.Total.Supply != "800" || body.Total.Loss != "75" || len(body.Total.Excluded) != 1 {
			t.Errorf("by %s: total %+v", by, body.Total)
		}
	}
	if body.Groups[0].Key != "Li Wei" || body.Groups[0].Loss != "15" {
		t.Errorf("by responsible: %+v", body.Groups)
	}
	getJSON(t, e.srv.URL+"/api/v1/rollups?from=2025-05-31&to=2025-06-03&by=season&seasons=a%3D1-5%3Bb%3D6-12", &body)
	if len(body.Groups) != 2 || body.Groups[0].Key != "a" || body.Groups[0].Loss != "4" || body.Groups[1].Loss != "75" {
		t.Errorf("seasons: %+v", body.Groups)
	}
	do(t, "GET", e.srv.URL+"/api/v1/rollups?by=tariff", analystToken, "", 400)
	do(t, "GET", e.srv.URL+"/api/v1/rollups?by=season&seasons=a%3D1-5", analystToken, "", 400)
	do(t, "GET", e.srv.URL+"/api/v1/rollups", "", "", 401)
}

func TestHourlyHand(t *testing.T) {
	e, _ := handEnv(t)
	var body struct {
		Area  string
		Hours []manage.Hour
	}
	getJSON(t, e.srv.URL+"/api/v1/areas/D01/hourly?date=2025-06-03", &body)
	if body.Area != "D01" || len(body.Hours) != 24 {
		t.Fatalf("%+v", body)
	}
	h0, h1 := body.Hours[0], body.Hours[1]
	if h0.Hour != "2025-06-03T00:00:00+08:00" || h0.Supply != "10.00" || h0.Sales != "9.00" || h0.Loss != "1.00" || h0.Rate != "10.00" ||
		h0.Class != loss.Qualified || !h0.Provisional {
		t.Errorf("hour 0 %+v", h0)
	}
	if h1.Supply != "15.00" || h1.Sales != "14.50" || h1.Rate != "3.33" {
		t.Errorf("hour 1 %+v", h1)
	}
	if h := body.Hours[2]; h.Class != loss.NotComputable || h.Supply != "" || !h.Provisional {
		t.Errorf("hour 2 %+v", h)
	}
	do(t, "GET", e.srv.URL+"/api/v1/areas/D09/hourly", analystToken, "", 404)
	do(t, "GET", e.srv.URL+"/api/v1/areas/D01/hourly?date=June", analystToken, "", 400)
}

func TestAssessmentHand(t *testing.T) {
	e, _ := handEnv(t)
	var body struct {
		Period string
		Rows   []manage.Row
	}
	getJSON(t, e.srv.URL+"/api/v1/assessment?period=2025-06&by=area", &body)
	if body.Period != "2025-06" || len(body.Rows) != 2 {
		t.Fatalf("%+v", body)
	}
	d1, d2 := body.Rows[0], body.Rows[1]
	if d1.Key != "D01" || d1.Target != "5" || d1.Actual != "7.50" || d1.Qualified || d1.Previous != "4.00" || d1.Change != "3.50" ||
		d1.Collection != "96.7" || d1.Responsible != "Li Wei" {
		t.Errorf("D01 %+v", d1)
	}
	if d2.Target != "8" || d2.Actual != "10.00" || d2.Qualified || d2.Previous != "" {
		t.Errorf("D02 %+v", d2)
	}
	getJSON(t, e.srv.URL+"/api/v1/assessment?period=2025-06&by=responsible", &body)
	if len(body.Rows) != 2 || body.Rows[0].Key != "Li Wei" || body.Rows[0].Actual != "7.50" || body.Rows[0].Target != "5.00" {
		t.Errorf("by responsible %+v", body.Rows)
	}
	b := do(t, "GET", e.srv.URL+"/api/v1/assessment?period=2025-06&format=csv", analystToken, "", 200)
	lines, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(lines) != 3 || lines[1][2] != "D01" || lines[1][7] != "7.50" || lines[1][8] != "false" {
		t.Errorf("csv %q %v", lines, err)
	}
	page := string(do(t, "GET", e.srv.URL+"/api/v1/assessment/print?period=2025-06", analystToken, "", 200))
	if !strings.Contains(page, "@page") || !strings.Contains(page, "NOT qualified") || strings.Contains(page, "<script") {
		t.Errorf("page %s", page)
	}
	do(t, "GET", e.srv.URL+"/api/v1/assessment?period=June", analystToken, "", 400)
	do(t, "GET", e.srv.URL+"/api/v1/assessment?by=feeder", analystToken, "", 400)
}

func TestInspectionsHand(t *testing.T) {
	e, _ := handEnv(t)
	var list struct {
		Month string
		Items []inspect.Entry
	}
	getJSON(t, e.srv.URL+"/api/v1/inspections?month=2025-06", &list)
	var got []string
	for _, it := range list.Items {
		got = append(got, it.ID+" "+it.Kind+" "+it.Target+" "+strings.TrimRight(strings.TrimRight(jsonNum(it.Score), "0"), "."))
	}
	want := "I202506-001 area D01 10.15|I202506-002 line F1 6|I202506-003 area D02 2|I202506-004 line F2 2"
	if strings.Join(got, "|") != want {
		t.Fatalf("got %s\nwant %s", strings.Join(got, "|"), want)
	}
	d01 := list.Items[0]
	if d01.Status != inspect.Open || d01.Evidence[0].Rule != "theft" || d01.Evidence[0].Meter != "000000000111" || d01.Unexplained != "3.50" {
		t.Errorf("D01 %+v", d01)
	}
	// field staff (an operator) check an item, but propose no correction
	check := `{"finding":"area meter faulty from 2025-06-01","fault_energy":{"from":"2025-06-01","to":"2025-06-02","kwh":"10.5"}}`
	do(t, "POST", e.srv.URL+"/api/v1/inspections/I202506-001/check", operatorToken, check, 403)
	do(t, "POST", e.srv.URL+"/api/v1/inspections/I202506-003/check", operatorToken, `{"finding":"meter seals intact"}`, 200)
	// bodies that are not one JSON object of the allowed size, and dates out of range
	checkURL := e.srv.URL + "/api/v1/inspections/I202506-001/check"
	if b := do(t, "POST", checkURL, analystToken, `{"finding":"seals intact"} garbage`, 400); !strings.Contains(string(b), "trailing data") {
		t.Errorf("trailing garbage: %s", b)
	}
	do(t, "POST", checkURL, analystToken, `{"finding":"`+strings.Repeat("x", 70000)+`"}`, 413)
	if b := do(t, "POST", checkURL, analystToken, strings.Replace(check, `"from":"2025-06-01"`, `"from":"0000-01-01"`, 1), 400); !strings.Contains(string(b), "from: ") {
		t.Errorf("from 0000-01-01: %s", b)
	}
	var res struct {
		Item       inspect.Entry
		Correction analysis.Correction
	}
	if err := json.Unmarshal(do(t, "POST", e.srv.URL+"/api/v1/inspections/I202506-001/check", analystToken, check, 200), &res); err != nil {
		t.Fatal(err)
	}
	c := res.Correction
	if res.Item.Status != inspect.Checked || res.Item.CheckedBy != "Li Wei" || res.Item.FaultEnergy == nil || res.Item.FaultEnergy.Correction != "C0000001" {
		t.Errorf("item %+v", res.Item)
	}
	if c.No != 1 || c.Kind != analysis.CorrectFaultEnergy || c.Meter != "000000000101" || c.Area != "D01" || c.Status != analysis.Proposed ||
		!c.Time.Equal(day(6, 1)) || !c.End.Equal(day(6, 3)) || c.Value.String() != "10.5" || c.ProposedBy != "Li Wei" ||
		!strings.Contains(c.Reason, "I202506-001") {
		t.Errorf("correction %+v", c)
	}
	stored, err := e.results.History(context.Background(), analysis.KindCorrection, "C0000001")
	if err != nil || len(stored) != 1 {
		t.Fatalf("correction stored: %d %v", len(stored), err)
	}
	// the history is the audit trail; a regeneration keeps the check
	getJSON(t, e.srv.URL+"/api/v1/inspections?month=2025-06", &list)
	if list.Items[0].Status != inspect.Checked {
		t.Errorf("after regeneration: %+v", list.Items[0])
	}
	do(t, "POST", e.srv.URL+"/api/v1/inspections/generate?month=2025-06", analystToken, "", 200)
	var one struct {
		Item    inspect.Entry
		History []manage.Version
	}
	getJSON(t, e.srv.URL+"/api/v1/inspections/I202506-001", &one)
	if one.Item.Status != inspect.Checked || len(one.History) != 2 || one.History[0].Status != inspect.Open || one.History[1].CheckedBy != "Li Wei" {
		t.Errorf("history %+v", one)
	}
	for _, bad := range []struct {
		id, body string
		code     int
	}{
		{"I202506-001", `{"finding":""}`, 400},
		{"I202506-001", `{"finding":"x","extra":1}`, 400},
		{"I202506-001", `{"finding":"x","fault_energy":{"from":"2025-06-02","to":"2025-06-01","kwh":"1"}}`, 400},
		{"I202506-001", `{"finding":"x","fault_energy":{"from":"2025-06-01","to":"2025-06-01","kwh":"-1"}}`, 400},
		{"I202506-001", `{"finding":"x","fault_energy":{"meter":"000000000211","from":"2025-06-01","to":"2025-06-01","kwh":"1"}}`, 400},
		{"I202506-002", `{"finding":"x","fault_energy":{"from":"2025-06-01","to":"2025-06-01","kwh":"1"}}`, 400},
		{"I202506-999", `{"finding":"x"}`, 404},
	} {
		do(t, "POST", e.srv.URL+"/api/v1/inspections/"+bad.id+"/check", analystToken, bad.body, bad.code)
	}
	do(t, "GET", e.srv.URL+"/api/v1/inspections/I202506-999", analystToken, "", 404)
	do(t, "POST", e.srv.URL+"/api/v1/inspections/generate", "", "", 401)
}

func jsonNum(f float64) string { b, _ := json.Marshal(f); return string(b) + ".0" }
