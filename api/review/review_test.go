package review_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/api/apitest"
	"github.com/headend/headend/store/results"

	"github.com/headend/headend/analysis/analysistest"
	"github.com/headend/headend/analysis/review"
	apifield "github.com/headend/headend/api/field"
	apireview "github.com/headend/headend/api/review"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/fieldops"
	"github.com/headend/headend/internal/testenv"
	"github.com/headend/headend/protocol/dlt645"
	simfield "github.com/headend/headend/sim/field"
	"github.com/headend/headend/sim/meterbus"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/store"
)

const demo = "../../testdata/scenarios/demo.yaml"

func serve(t *testing.T, svc *apireview.Service) *httptest.Server {
	mux := http.NewServeMux()
	svc.Register(mux, func(h http.Handler) http.Handler { return h })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// get is apitest.Get.
var get = apitest.Get

type findings struct {
	Today    string
	Findings []review.Finding
	Rates    []review.Rate
}

func (f *findings) find(rule review.Rule, meter string) *review.Finding {
	for i := range f.Findings {
		if f.Findings[i].Rule == rule && f.Findings[i].Meter == meter {
			return &f.Findings[i]
		}
	}
	return nil
}

func (f *findings) count() map[review.Rule]int {
	n := map[review.Rule]int{}
	for _, x := range f.Findings {
		n[x.Rule]++
	}
	return n
}

// demoArchive is the head-end's demo archive: configs/headend.yaml and
// the CSVs it names, with the planted errors.
func demoArchive(t *testing.T) *archive.Index {
	cfg, err := config.Load("../../configs/headend.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Archive.Index()
}

// scanBus scans an address range of an area's line as metersim wires it
// (its area meter and the meters physically there), through a simulated
// concentrator on loopback TCP and the head-end's field tools.
func scanBus(t *testing.T, fl *model.Fleet, area, channel, from, to string) review.Scan {
	t.Helper()
	a := fl.Area(area)
	meters := []*model.Meter{a.Meter}
	for _, m := range fl.Meters() {
		if m.Role != model.RoleArea && m.PhysicalArea().ID == area {
			meters = append(meters, m)
		}
	}
	bus, err := meterbus.New(fl, meters, meterbus.Options{Sleep: func(context.Context, time.Duration) error { return nil }, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		testenv.Skip(t, "loopback: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- simfield.NewConcentrator(bus, simfield.Options{}).Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	l := link.DialTCP(link.TCPConfig{Addr: ln.Addr().String()})
	defer l.Close()
	d := &fieldops.Direct{Master: &master.Master{Link: l, Timeout: time.Second}, Edition: dlt645.DLT2007, Channel: channel,
		Options: fieldops.Options{Now: fl.Now, Location: fl.Zone(), Retries: -1}}
	rq := fieldops.ScanRequest{From: from, To: to, Edition: "2007", TimeoutMS: 100}
	res, err := d.Scan(ctx, channel, rq, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fieldops.ReviewScan(channel, rq, res, fl.Now())
}

// TestOnDemo runs the analysis of 20 simulated days of the demo once for
// the tests that read it.
func TestOnDemo(t *testing.T) {
	analysistest.Heavy(t)
	a := analysistest.Analyse(t, demo, 20)
	t.Run("plants", func(t *testing.T) { testDemoPlants(t, a) })
	t.Run("api", func(t *testing.T) { testReviewAPI(t, a) })
}

// The demo's planted errors are found: the meter exchange in D02 whose
// removal reading is below the old meter's last billed reading, the
// meter on D02's bus that the archive does not have, and D04's area
// meter whose stored multiplier is not CT × PT. The analysis is that of
// 20 simulated days; the archive is the head-end's (configs/headend.yaml).
func testDemoPlants(t *testing.T, a *analysistest.Analysed) {
	ix := demoArchive(t)
	svc := &apireview.Service{Results: a.Results, Reads: a.Reads, Archive: func() *archive.Index { return ix }, Location: a.Fleet.Zone(),
		Now: func() time.Time { return a.Now }}
	srv := serve(t, svc)
	sc := scanBus(t, a.Fleet, "D02", "C0102-1", "000002000036", "000002000040")
	if len(sc.Found) != 5 {
		t.Fatalf("scan found %v, want the 5 meters 36..40", sc.Found)
	}
	if err := svc.SaveScan(context.Background(), sc); err != nil {
		t.Fatal(err)
	}

	var ch findings
	get(t, srv.URL+"/api/v1/archive/checks", 200, &ch)
	t.Logf("archive checks on %s: %v", ch.Today, ch.count())
	if f := ch.find(review.ExchangeBelowBilled, "000002000007"); f == nil || f.Area != "D02" || f.Severity != review.High ||
		f.Evidence[0].Value != "247.81" || f.Evidence[1].Value != "2475.49" {
		t.Errorf("planted exchange: %+v", f)
	} else {
		t.Log(f.Summary)
	}
	if f := ch.find(review.Unarchived, "000002000038"); f == nil || f.Area != "D02" || f.Concentrator != "C0102" {
		t.Errorf("planted unarchived meter: %+v", f)
	} else {
		t.Log(f.Summary)
	}
	if f := ch.find(review.MultiplierMismatch, "000004000000"); f == nil || f.Area != "D04" || f.Severity != review.High ||
		!strings.Contains(f.Summary, "stores multiplier 120, but its CT ratio 160 × PT ratio 1 is 160") {
		t.Errorf("planted multiplier: %+v", f)
	} else {
		t.Log(f.Summary)
	}
	// no other meter of the scanned range is flagged
	for _, f := range ch.Findings {
		if (f.Rule == review.Unarchived || f.Rule == review.NotFound || f.Rule == review.OtherBus) && f.Meter != "000002000038" {
			t.Errorf("scan finding %s on %s", f.Rule, f.Meter)
		}
	}
	// the demo's verification records: D03's area meter is due within a
	// month, D04's overdue
	if f := ch.find(review.VerificationDue, "000003000000"); f == nil || !strings.Contains(f.Summary, "within 1 month") {
		t.Errorf("D03 verification: %+v", f)
	}
	if ch.find(review.VerificationOver, "000004000000") == nil {
		t.Error("D04 verification not overdue")
	}
	// the no-answer meter (D05 #30) gives no OK read
	if ch.find(review.NeverAnswers, "000005000030") == nil {
		t.Error("D05's dead meter answers")
	}

	// the review of the range holding the exchange finds it too, and the
	// dashboard's area filter keeps it
	var rv findings
	get(t, srv.URL+"/api/v1/review?from=2025-06-07&to=2025-06-20&area=D02&period=week", 200, &rv)
	t.Logf("review of D02: %v", rv.count())
	if rv.find(review.ExchangeBelowBilled, "000002000007") == nil {
		t.Error("the review does not find the exchange")
	}
	// D02 #45 stopped on 06-02: no consumption in the weeks reviewed
	if f := rv.find(review.ZeroConsumption, "000002000045"); f == nil {
		t.Error("the stopped meter's zero consumption")
	}
	for _, f := range rv.Findings {
		if f.Area != "D02" {
			t.Errorf("area filter let %s on %s through", f.Rule, f.Area)
		}
	}
}

// The review API over real HTTP on the demo analysis and the archive it
// was made with: its rates, filters and parameter errors.
func testReviewAPI(t *testing.T, a *analysistest.Analysed) {
	svc := &apireview.Service{Results: a.Results, Reads: a.Reads, Archive: func() *archive.Index { return a.Archive }, Location: a.Fleet.Zone(),
		Now: func() time.Time { return a.Now }}
	srv := serve(t, svc)
	var rv findings
	get(t, srv.URL+"/api/v1/review?from=2025-06-10&to=2025-06-19", 200, &rv)
	t.Logf("review: %v", rv.count())
	// one rate per area and day (this archive has no concentrators)
	if n := len(a.Fleet.Areas()) * 10; len(rv.Rates) != n {
		t.Errorf("%d rates, want %d", len(rv.Rates), n)
	}
	for _, r := range rv.Rates {
		if r.Area == "D05" && r.Day == "2025-06-12" && (r.Expected != 76 || r.Read != 75 || r.Rate != "98.68") {
			t.Errorf("D05's rate with its dead meter: %+v", r)
		}
	}
	// the simulated reads carry no frames: each meter read is flagged
	if f := rv.find(review.ReadWithoutFrame, "000001000001"); f == nil || f.Day != "2025-06-10" {
		t.Errorf("frames: %+v", f)
	}
	// the dead meter's gap
	if f := rv.find(review.ReadGap, "000005000030"); f == nil {
		t.Error("no gap for the dead meter")
	}
	var one findings
	get(t, srv.URL+"/api/v1/review?from=2025-06-10&to=2025-06-19&rule=read_gap", 200, &one)
	if len(one.Findings) == 0 || len(one.Findings) != rv.count()[review.ReadGap] {
		t.Errorf("rule filter: %d of %d", len(one.Findings), rv.count()[review.ReadGap])
	}
	// defaults: the 7 days before today
	var def struct{ From, To string }
	get(t, srv.URL+"/api/v1/review", 200, &def)
	if def.From != "2025-06-14" || def.To != "2025-06-20" {
		t.Errorf("default range %+v", def)
	}
	for _, q := range []string{"from=2025-06-10&to=2025-06-01", "from=yesterday", "period=fortnight", "area=ZZ", "rule=bogus",
		"from=2020-01-01&to=2025-06-01"} {
		body := get(t, srv.URL+"/api/v1/review?"+q, 400, nil)
		if !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %s", q, body)
		}
	}
	get(t, srv.URL+"/api/v1/archive/checks?rule=nope", 400, nil)
	get(t, srv.URL+"/api/v1/archive/checks?area=ZZ", 400, nil)
	var rules struct {
		Zone  string
		Rules []apireview.Rule
	}
	get(t, srv.URL+"/api/v1/review/rules", 200, &rules)
	if len(rules.Rules) != 24 || rules.Zone == "" {
		t.Errorf("rules %+v", rules)
	}
}

// The review and the archive checks over real HTTP on 4 days of the tiny
// fleet (quick enough for the race detector), its archive given errors by
// hand: a 2 kVA transformer for A1 (its peak daily energy is well over
// 1.8 kW), an exchange of 000001000004 with a removal reading of 1.00 kWh,
// a multiplier of 99 on A2's area meter (CT 10), and a scan of A1's bus
// that hears a meter the archive does not have.
func TestOnTiny(t *testing.T) {
	a := analysistest.Analyse(t, "../../testdata/scenarios/tiny.yaml", 4)
	arch := *a.Archive.Archive()
	arch.Areas = append([]archive.Area{}, arch.Areas...)
	arch.Meters = append([]archive.Meter{}, arch.Meters...)
	arch.Areas[0].CapacityKVA = 2
	arch.Exchanges = []archive.Exchange{{Area: "A1", OldMeter: "000001000004", NewMeter: "000001900004",
		Date: time.Date(2025, 3, 3, 10, 30, 0, 0, a.Fleet.Zone()), RemovalReading: dlt645.Decimal{Units: 100, Scale: 2}}}
	arch.Channels = []archive.Channel{{ID: "A1-1", Kind: archive.KindTCP, Address: "127.0.0.1:17001"}}
	arch.Concentrators = []archive.Concentrator{{ID: "C0001", Area: "A1", Channels: []string{"A1-1"}}}
	for i := range arch.Meters {
		if arch.Meters[i].Area == "A1" {
			arch.Meters[i].Channel = "A1-1"
		}
		if arch.Meters[i].Address == "000002000000" {
			arch.Meters[i].Multiplier = 99
		}
	}
	ix := arch.Index()
	svc := &apireview.Service{Results: a.Results, Reads: a.Reads, Archive: func() *archive.Index { return ix }, Location: a.Fleet.Zone(),
		Now: func() time.Time { return a.Now }}
	srv := serve(t, svc)
	if err := svc.SaveScan(context.Background(), review.Scan{Channel: "A1-1", At: a.Now, Found: []string{"000001000001", "000001000077"}}); err != nil {
		t.Fatal(err)
	}
	var rv findings
	get(t, srv.URL+"/api/v1/review?from=2025-03-01&to=2025-03-04", 200, &rv)
	t.Logf("review: %v", rv.count())
	if f := rv.find(review.ExchangeBelowBilled, "000001000004"); f == nil || f.Evidence[0].Value != "1.00" {
		t.Errorf("exchange: %+v", f)
	}
	if f := rv.find(review.CapacityOver, "000001000000"); f == nil || !strings.Contains(f.Summary, "from daily energy") {
		t.Errorf("capacity: %+v", f)
	}
	if len(rv.Rates) == 0 {
		t.Error("no rates")
	}
	var ch findings
	get(t, srv.URL+"/api/v1/archive/checks", 200, &ch)
	t.Logf("checks: %v", ch.count())
	if ch.Today != "2025-03-05" || ch.find(review.MultiplierMismatch, "000002000000") == nil ||
		ch.find(review.ExchangeBelowBilled, "000001000004") == nil || ch.find(review.Unarchived, "000001000077") == nil {
		t.Errorf("checks: %+v", ch)
	}
	var a2 findings
	get(t, srv.URL+"/api/v1/archive/checks?area=A2&rule=multiplier_mismatch", 200, &a2)
	if len(a2.Findings) != 1 {
		t.Errorf("filtered checks: %+v", a2)
	}
}

// Archive changes logged through results.ChangeLog are listed with who,
// when, before and after.
func TestArchiveChanges(t *testing.T) {
	a := analysistest.Analyse(t, "../../testdata/scenarios/tiny.yaml", 2)
	before := a.Archive.Archive()
	after := *before
	after.Meters = append([]archive.Meter{}, before.Meters...)
	after.Meters[1].CT = 5
	at := a.Now.Add(-time.Hour)
	log := &results.ChangeLog{Results: a.Results, Now: func() time.Time { return at }}
	if _, err := log.Log(context.Background(), "li.wei", "headend archive import fix.csv", before, &after); err != nil {
		t.Fatal(err)
	}
	svc := &apireview.Service{Results: a.Results, Archive: func() *archive.Index { return a.Archive }, Location: a.Fleet.Zone(),
		Now: func() time.Time { return a.Now }}
	srv := serve(t, svc)
	var out struct{ Changes []results.ArchiveChange }
	body := get(t, srv.URL+"/api/v1/archive/changes", 200, &out)
	if len(out.Changes) != 1 || out.Changes[0].Who != "li.wei" || out.Changes[0].ID != before.Meters[1].Address ||
		!strings.Contains(body, `"CT": 5`) || !strings.Contains(body, `"fields": [`) {
		t.Errorf("changes %s", body)
	}
	get(t, srv.URL+"/api/v1/archive/changes?from=2025-01-02&to=2025-01-01", 400, nil)
}

// tools is a stand-in for the field tools: its scan hears two meters.
type tools struct{ apifield.Service }

func (tools) Scan(_ context.Context, channel string, rq fieldops.ScanRequest, _ func(done, total int)) (*fieldops.ScanResult, error) {
	return &fieldops.ScanResult{Channel: channel, Found: []fieldops.Found{{Address: "000001000001"}, {Address: "000001000088"}}}, nil
}

// A scan through the field tools that KeepScans wraps is kept, and the
// archive checks compare it with the archive.
func TestKeepScans(t *testing.T) {
	a := analysistest.Analyse(t, "../../testdata/scenarios/tiny.yaml", 1)
	svc := &apireview.Service{Results: a.Results, Archive: func() *archive.Index { return a.Archive }, Location: a.Fleet.Zone(),
		Now: func() time.Time { return a.Now }}
	kept := svc.KeepScans(tools{})
	if _, err := kept.Scan(context.Background(), "A1-1", fieldops.ScanRequest{From: "000001000000", To: "000001000099"}, nil); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, svc)
	var ch findings
	get(t, srv.URL+"/api/v1/archive/checks", 200, &ch)
	if f := ch.find(review.Unarchived, "000001000088"); f == nil || !strings.Contains(f.Evidence[0].Value, "addresses 000001000000 to 000001000099 searched") {
		t.Errorf("kept scan: %+v", ch.Findings)
	}
}

// The review's default window starts at the first read, not days before
// any meter existed (16.10), and the rules' days are in the configured
// zone, not China Standard Time (16.13).
func TestDefaultWindowAndZone(t *testing.T) {
	a := analysistest.Analyse(t, "../../testdata/scenarios/tiny.yaml", 4)
	ix := a.Archive
	svc := &apireview.Service{Results: a.Results, Reads: a.Reads, Archive: func() *archive.Index { return ix }, Location: time.UTC,
		Now: func() time.Time { return a.Now }}
	srv := serve(t, svc)
	var rv struct {
		From, To string
		Findings []review.Finding
		Rates    []review.Rate
	}
	get(t, srv.URL+"/api/v1/review", 200, &rv)
	rs, err := a.Reads.Query(context.Background(), store.Query{Limit: 1})
	if err != nil || len(rs) == 0 {
		t.Fatalf("first read: %v %v", rs, err)
	}
	first := store.Time(&rs[0]).UTC().Format(time.DateOnly)
	if rv.From != first {
		t.Errorf("default window from %s, want the first read's day %s (to %s)", rv.From, first, rv.To)
	}
	for _, r := range rv.Rates {
		if r.Day < first {
			t.Errorf("rate of a day before the first read: %+v", r)
		}
	}
	for _, f := range rv.Findings {
		if f.Day != "" && f.Day < first {
			t.Errorf("finding before the first read: %s", f.Summary)
		}
	}
	var rules struct{ Zone string }
	get(t, srv.URL+"/api/v1/review/rules", 200, &rules)
	if rules.Zone != "UTC" {
		t.Errorf("rules' zone %q, want the configured UTC", rules.Zone)
	}
}
