package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/headend/headend/analysis/analysistest"
	"github.com/headend/headend/api/auth"
	"github.com/headend/headend/api/loss"
	"github.com/headend/headend/api/web/webtest"
	"github.com/headend/headend/archive"
)

const demoToken = "demo-analyst-token-0123456789"

// The dashboard in Chromium against the real loss API, fed by the
// analysis of 20 simulated days of the demo fleet.
func TestDashboardOnDemo(t *testing.T) {
	analysistest.Heavy(t)
	webtest.Require(t)
	a := analysistest.Analyse(t, "../../testdata/scenarios/demo.yaml", 20)
	toks, err := auth.New([]auth.TokenSpec{{Name: "analyst", Roles: []string{"analyst"}, Token: demoToken}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := &loss.Service{Results: a.Results, Archive: func() *archive.Index { return a.Archive }, Location: a.Fleet.Zone(),
		Now: func() time.Time { return a.Now }}
	mux := http.NewServeMux()
	svc.Register(mux, toks.Require(auth.ReadAll))
	mux.Handle("/", Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	p := webtest.Open(t, srv.URL+"/#token="+demoToken)
	waitLoad(p, 0)
	if want, n := len(a.Fleet.Areas()), p.WaitRows("#areas tbody tr", len(a.Fleet.Areas())); n != want {
		t.Fatalf("%d area rows, want the demo's %d", n, want)
	}
	for _, r := range rows(p) {
		if r.Rate == "" {
			t.Errorf("area %s has no loss rate over the last 7 days", r.ID)
		}
	}
	saveScreenshot(t, p, "demo-areas.png")
	// the feeder filter
	setSelect(p, "#filter-feeder", "F10-202")
	waitLoad(p, 1)
	for _, r := range rows(p) {
		if r.Feeder != "F10-202" {
			t.Errorf("feeder filter F10-202 shows %s on %s", r.ID, r.Feeder)
		}
	}
	want := 0 // the demo's areas on F10-202
	for _, ar := range a.Fleet.Areas() {
		if ar.Feeder == "F10-202" {
			want++
		}
	}
	if n := len(rows(p)); n != want || want < 2 {
		t.Errorf("feeder F10-202: %d rows, want %d", n, want)
	}
	// an area's trend, flags and ranking
	p.Click(`#areas tbody tr[data-id="D05"]`)
	p.WaitJS(`document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.area === "D05"`)
	canvas := webtest.Eval[[]float64](p, `(() => { const c = document.querySelector('#trend canvas');
		return c ? [c.width, c.height] : [0, 0] })()`)
	if canvas[0] == 0 || canvas[1] == 0 {
		t.Errorf("D05 trend canvas %v", canvas)
	}
	if n := p.WaitRows("#flags tbody tr.flag-row", 1); n == 0 {
		t.Error("D05 shows no flags (a meter there never answers)")
	}
	saveScreenshot(t, p, "demo-area.png")
	for _, m := range p.Messages() {
		t.Errorf("page said: %s", m)
	}
}
