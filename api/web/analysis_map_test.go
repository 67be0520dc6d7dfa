package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/headend/headend/analysis/analysistest"
	"github.com/headend/headend/api/auth"
	"github.com/headend/headend/api/loss"
	"github.com/headend/headend/api/mapapi"
	"github.com/headend/headend/api/web/webtest"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/daemon/config"
)

// The status map in Chromium on the real loss and map APIs, fed by the
// analysis of 6 simulated days of the tiny fleet (the demo fleet's
// analysis is the loss dashboard's test; under the race detector it is
// slow), whose archive has no coordinates: the meters are laid out
// around their areas, and A2's stopped meter shows flagged.
func TestMapOnAnalysis(t *testing.T) {
	webtest.Require(t)
	a := analysistest.Analyse(t, "../../testdata/scenarios/tiny.yaml", 6)
	toks, err := auth.New([]config.TokenSpec{{Name: "analyst", Roles: []string{"analyst"}, Token: demoToken}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ix := func() *archive.Index { return a.Archive }
	now := func() time.Time { return a.Now }
	mux := http.NewServeMux()
	(&loss.Service{Results: a.Results, Archive: ix, Location: a.Fleet.Zone(), Now: now}).Register(mux, toks.Require(auth.ReadAll))
	(&mapapi.Service{Results: a.Results, Archive: ix, Location: a.Fleet.Zone(), Now: now}).Register(mux, toks.Require(auth.ReadAll))
	mux.Handle("/", Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	p := webtest.Open(t, srv.URL+"/#/map?token="+demoToken)
	waitMap(p, 0)
	n := len(a.Archive.Archive().Meters)
	if got := canvasData(p, "points"); got != fmt.Sprint(n) || canvasData(p, "layout") != "synthetic" {
		t.Errorf("%s points, layout %s; want the fleet's %d meters laid out", got, canvasData(p, "layout"), n)
	}
	if rows := p.WaitRows("#map-areas tbody tr", 2); rows != 2 {
		t.Errorf("%d areas listed, want 2", rows)
	}
	if note := webtest.Eval[string](p, `document.querySelector('#map-layout').textContent`); note == "" {
		t.Error("no note that the layout is synthetic")
	}
	p.Click(`.map-label[data-area="A2"]`)
	p.WaitJS(`document.querySelector('#map-meters').dataset.area === 'A2'`)
	want := len(a.Archive.MetersInArea("A2"))
	if got := p.WaitRows("#map-meters tbody tr", want); got != want {
		t.Errorf("A2 lists %d meters, want %d", got, want)
	}
	first := webtest.Eval[[]string](p, `(() => { const tr = document.querySelector('#map-meters tbody tr'); return [tr.dataset.address, tr.dataset.status] })()`)
	if first[0] != "000002000001" || first[1] != "flagged" {
		t.Errorf("A2's first listed meter is %v, want the stopped 000002000001 flagged", first)
	}
	saveScreenshot(t, p, "analysis-map.png")
	for _, m := range p.Messages() {
		t.Errorf("page said: %s", m)
	}
}
