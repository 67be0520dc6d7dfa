package web

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/headend/headend/api/mapapi"
	"github.com/headend/headend/api/mapapi/maptest"
	"github.com/headend/headend/api/web/webtest"
)

// statusColours are the map's colours (map.js), as RGB.
var statusColours = map[mapapi.Status][3]int{
	mapapi.Read: {0x2e, 0x9d, 0x4f}, mapapi.Estimated: {0xe0, 0xa1, 0x00}, mapapi.Failed: {0xd6, 0x27, 0x28},
	mapapi.Flagged: {0x7b, 0x3f, 0xbf}, mapapi.Unknown: {0x9a, 0xa3, 0xad},
}

// fetchMap GETs the map the page draws, from the real map API.
func fetchMap(t *testing.T, s *viewsServer, query string) *mapapi.Map {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/map?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m mapapi.Map
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /api/v1/map?%s: %d, %v", query, res.StatusCode, err)
	}
	return &m
}

// waitMap waits for the map drawn after the draws-th drawing.
func waitMap(p *webtest.Page, draws int) {
	p.WaitJS(fmt.Sprintf(`(() => { const c = document.querySelector('#map-canvas');
		return c.dataset.state === 'ready' && Number(c.dataset.draws) > %d })()`, draws))
}

func canvasData(p *webtest.Page, key string) string {
	return webtest.Eval[string](p, fmt.Sprintf(`document.querySelector('#map-canvas').dataset[%s] || ''`, webtest.JSString(key)))
}

// screenOf is where the page draws a position, in viewport pixels: the
// Web-Mercator projection redone here from the view the canvas reports.
func screenOf(p *webtest.Page, lat, lon float64) (x, y float64) {
	v := webtest.Eval[[]float64](p, `(() => { const c = document.querySelector('#map-canvas'); const r = c.getBoundingClientRect();
		return [...JSON.parse(c.dataset.view), r.left, r.top] })()`)
	cx, cy, scale, w, h, left, top := v[0], v[1], v[2], v[3], v[4], v[5], v[6]
	phi := lat * math.Pi / 180
	wx := (lon + 180) / 360 * 256
	wy := (1 - math.Log(math.Tan(phi)+1/math.Cos(phi))/math.Pi) / 2 * 256
	return left + (wx-cx)*scale + w/2, top + (wy-cy)*scale + h/2
}

// pixel reads the canvas colour at a viewport point.
func pixel(p *webtest.Page, x, y float64) [3]int {
	c := webtest.Eval[[]int](p, fmt.Sprintf(`(() => { const c = document.querySelector('#map-canvas'); const r = c.getBoundingClientRect();
		const k = c.width / r.width; const d = c.getContext('2d').getImageData(Math.round((%f - r.left) * k), Math.round((%f - r.top) * k), 1, 1).data;
		return [d[0], d[1], d[2]] })()`, x, y))
	return [3]int{c[0], c[1], c[2]}
}

func near(a, b [3]int) bool {
	return math.Abs(float64(a[0]-b[0])) < 12 && math.Abs(float64(a[1]-b[1])) < 12 && math.Abs(float64(a[2]-b[2])) < 12
}

func clickAt(p *webtest.Page, x, y float64) {
	p.Run(fmt.Sprintf("click at %.0f,%.0f", x, y), chromedp.MouseClickXY(x, y))
}

// The status map on the real map API: every meter drawn where the
// archive puts it in its status's colour, the legend and the per-area
// counts as planted, a click on an area's meter or label lists the area's
// meters, the status boxes hide statuses, and another day redraws.
func TestStatusMap(t *testing.T) {
	s := serveViews(t, "", maptest.Options{})
	m := fetchMap(t, s, "")
	total := len(m.Meters)
	p := webtest.Open(t, s.URL+"/#/map?token="+testToken)
	waitMap(p, 0)
	if got := canvasData(p, "points"); got != fmt.Sprint(total) {
		t.Fatalf("%s points drawn, want the %d meters", got, total)
	}
	if got := canvasData(p, "concentrators"); got != "6" || canvasData(p, "layout") != "archive" || canvasData(p, "tiles") != "0" {
		t.Errorf("concentrators %s, layout %s, tiles %s; want 6 from the archive and no tiles", got, canvasData(p, "layout"), canvasData(p, "tiles"))
	}
	if v := webtest.Eval[bool](p, `!document.querySelector('#view-map').hidden && document.querySelector('#layout').hidden &&
		document.querySelector('#tabs a[data-view="map"]').getAttribute('aria-current') === 'page'`); !v {
		t.Error("the map view is not the one shown, or its tab is not marked current")
	}
	// The legend totals and the areas table are the planted counts.
	want := map[string]int{}
	for _, byStatus := range s.fleet.Want {
		for st, n := range byStatus {
			want[st] += n
		}
	}
	legend := webtest.Eval[map[string]string](p, `Object.fromEntries([...document.querySelectorAll('#map-statuses label')].map(l => [l.dataset.status, l.dataset.count]))`)
	for _, st := range []string{"read", "estimated", "failed", "flagged", "unknown"} {
		if legend[st] != fmt.Sprint(want[st]) {
			t.Errorf("legend: %s %s, want %d", st, legend[st], want[st])
		}
	}
	cells := webtest.Eval[[][]string](p, `[...document.querySelectorAll('#map-areas tbody tr')].map(tr => [tr.dataset.area, ...[...tr.cells].slice(1, 6).map(td => td.textContent)])`)
	if len(cells) != 6 {
		t.Fatalf("%d rows in the areas table, want 6", len(cells))
	}
	for _, c := range cells {
		w := s.fleet.Want[c[0]]
		blank := func(n int) string {
			if n == 0 {
				return ""
			}
			return fmt.Sprint(n)
		}
		exp := []string{c[0], fmt.Sprint(w["read"] + w["estimated"] + w["failed"] + w["flagged"] + w["unknown"]), fmt.Sprint(w["read"]), blank(w["estimated"]), blank(w["failed"]), blank(w["flagged"])}
		if !slices.Equal(c, exp) {
			t.Errorf("areas table row %v, want %v", c, exp)
		}
	}

	// Every meter is drawn where the archive puts it, in its colour: a
	// failed meter of the cluster in M02 with no other meter near it.
	target := lonelyMeter(t, p, m, "M02", mapapi.Failed, mapapi.Flagged)
	x, y := screenOf(p, target.Lat, target.Lon)
	if c := pixel(p, x, y); !near(c, statusColours[target.Status]) {
		t.Errorf("meter %s (%s) at %.0f,%.0f is drawn in rgb%v, want rgb%v", target.Address, target.Status, x, y, c, statusColours[target.Status])
	}
	clickAt(p, x, y)
	p.WaitJS(`document.querySelector('#map-meters').dataset.area === 'M02'`)
	if n := p.WaitRows("#map-meters tbody tr", 41); n != 41 {
		t.Errorf("M02 lists %d meters, want 41", n)
	}
	listed := webtest.Eval[[][]string](p, `[...document.querySelectorAll('#map-meters tbody tr')].map(tr => [tr.dataset.address, tr.dataset.status, tr.getAttribute('aria-selected')])`)
	if i := slices.IndexFunc(listed, func(r []string) bool { return r[2] == "true" }); i < 0 || listed[i][0] != target.Address || listed[i][1] != string(target.Status) {
		t.Errorf("after a click on %s the selected row is %v", target.Address, listed[max(i, 0)])
	}
	for _, addr := range s.fleet.Failed {
		if !slices.ContainsFunc(listed, func(r []string) bool { return r[0] == addr && r[1] == "failed" }) {
			t.Errorf("failed meter %s of the cluster is not listed as failed", addr)
		}
	}
	if listed[0][1] != "flagged" || listed[len(listed)-1][1] != "read" {
		t.Errorf("the list runs from %s to %s, want flagged first and read last", listed[0][1], listed[len(listed)-1][1])
	}
	if h := webtest.Eval[string](p, `location.hash`); !strings.Contains(h, "area=M02") || strings.Contains(h, testToken) {
		t.Errorf("address bar fragment %q, want the area and no token", h)
	}
	saveScreenshot(t, p, "map.png")

	// A click on an area's label, then inside its circle away from any
	// meter (between the centre and a lone meter) lists that area.
	p.Click(`.map-label[data-area="M03"]`)
	p.WaitJS(`document.querySelector('#map-meters').dataset.area === 'M03'`)
	x, y = emptySpot(t, p, m, "M05")
	clickAt(p, x, y)
	p.WaitJS(`document.querySelector('#map-meters').dataset.area === 'M05' && !document.querySelector('#map-meters tbody tr[aria-selected="true"]')`)

	// Hide the read meters: fewer points; zoom in and fit again.
	nRead := want["read"]
	p.Click(`#map-statuses label[data-status="read"] input`)
	p.WaitJS(fmt.Sprintf(`document.querySelector('#map-canvas').dataset.points === '%d'`, total-nRead))
	scale := canvasData(p, "scale")
	p.Click("#map-zoom-in")
	p.WaitJS(fmt.Sprintf(`Number(document.querySelector('#map-canvas').dataset.scale) > %s * 1.4`, scale))
	p.Click("#map-fit")
	p.WaitJS(fmt.Sprintf(`document.querySelector('#map-canvas').dataset.scale === '%s'`, scale))

	// A day without balances or flags: every meter unknown.
	draws := webtest.Eval[int](p, `Number(document.querySelector('#map-canvas').dataset.draws)`)
	setSelect(p, "#map-date", "2025-06-15")
	waitMap(p, draws)
	p.WaitJS(`document.querySelector('#map-day').textContent === '2025-06-15'`)
	if d := canvasData(p, "drawn"); d != fmt.Sprintf(`{"unknown":%d}`, total) {
		t.Errorf("on 2025-06-15 the map drew %s, want all %d unknown", d, total)
	}
	for _, msg := range p.Messages() {
		t.Errorf("page said: %s", msg)
	}
}

// emptySpot is a point inside an area's circle with no meter or
// concentrator within 10 px.
func emptySpot(t *testing.T, p *webtest.Page, m *mapapi.Map, area string) (float64, float64) {
	t.Helper()
	var pts [][2]float64
	var cx, cy, r float64
	for _, a := range m.Areas {
		if a.ID == area {
			cx, cy = screenOf(p, a.Lat, a.Lon)
		}
	}
	for _, mt := range m.Meters {
		x, y := screenOf(p, mt.Lat, mt.Lon)
		pts = append(pts, [2]float64{x, y})
		if mt.Area == area {
			r = max(r, math.Hypot(x-cx, y-cy))
		}
	}
	for _, k := range m.Concentrators {
		x, y := screenOf(p, k.Lat, k.Lon)
		pts = append(pts, [2]float64{x, y})
	}
	for d := 0.0; d < r; d += 2 {
		for a := 0.0; a < 2*math.Pi; a += 0.2 {
			x, y := cx+d*math.Cos(a), cy+d*math.Sin(a)
			if !slices.ContainsFunc(pts, func(q [2]float64) bool { return math.Hypot(q[0]-x, q[1]-y) < 10 }) {
				return x, y
			}
		}
	}
	t.Fatalf("no empty spot inside %s's circle", area)
	return 0, 0
}

// lonelyMeter is a customer meter of an area, of one of the statuses, whose
// nearest other meter is drawn at least 9 px away; the one farthest from the
// others.
func lonelyMeter(t *testing.T, p *webtest.Page, m *mapapi.Map, area string, statuses ...mapapi.Status) mapapi.Meter {
	t.Helper()
	type pt struct{ x, y float64 }
	at := map[string]pt{}
	for _, mt := range m.Meters {
		x, y := screenOf(p, mt.Lat, mt.Lon)
		at[mt.Address] = pt{x, y}
	}
	var best mapapi.Meter
	bestD := 9.0
	for _, mt := range m.Meters {
		if mt.Area != area || mt.Role == "area" || !slices.Contains(statuses, mt.Status) {
			continue
		}
		d := math.Inf(1)
		for _, o := range m.Meters {
			if o.Address != mt.Address {
				d = min(d, math.Hypot(at[o.Address].x-at[mt.Address].x, at[o.Address].y-at[mt.Address].y))
			}
		}
		for _, k := range m.Concentrators {
			x, y := screenOf(p, k.Lat, k.Lon)
			d = min(d, math.Hypot(x-at[mt.Address].x, y-at[mt.Address].y))
		}
		if d >= bestD {
			best, bestD = mt, d
		}
	}
	if best.Address == "" {
		t.Fatalf("no %v meter of %s is 9 px from the others", statuses, area)
	}
	return best
}

// With a tile URL in meta, tiles are drawn under the archive's positions
// (asked for at the zoom and place the map shows); under a synthetic
// layout none are.
func TestStatusMapTiles(t *testing.T) {
	s := serveViews(t, "tiles/{z}/{x}/{y}.png", maptest.Options{})
	p := webtest.Open(t, s.URL+"/#/map?token="+testToken)
	waitMap(p, 0)
	p.WaitJS(`(() => { const d = document.querySelector('#map-canvas').dataset; return Number(d.tiles) > 0 && d.tiles === d.tilesWanted })()`)
	asked := s.views.tilesAsked()
	centre := false
	for _, zxy := range asked {
		var z, x, y int
		fmt.Sscanf(zxy, "%d/%d/%d", &z, &x, &y)
		n := math.Exp2(float64(z))
		phi := maptest.Centre[0] * math.Pi / 180
		cx := int((maptest.Centre[1] + 180) / 360 * n)
		cy := int((1 - math.Log(math.Tan(phi)+1/math.Cos(phi))/math.Pi) / 2 * n)
		centre = centre || (x == cx && y == cy && z >= 12)
	}
	if !centre {
		t.Errorf("tiles asked %v: none holds the fleet's centre %v at a street zoom", asked, maptest.Centre)
	}
	if c := pixel(p, 3, 120); near(c, [3]int{0xf3, 0xf5, 0xf7}) {
		t.Errorf("the map's corner is the blank background rgb%v, want a tile under it", c)
	}
	if a := webtest.Eval[string](p, `document.querySelector('#map-attribution').hidden ? '' : document.querySelector('#map-attribution').textContent`); a != "test tiles" {
		t.Errorf("attribution %q", a)
	}
	saveScreenshot(t, p, "map-tiles.png")
	for _, msg := range p.Messages() {
		t.Errorf("page said: %s", msg)
	}

	t.Run("synthetic", func(t *testing.T) {
		s := serveViews(t, "tiles/{z}/{x}/{y}.png", maptest.Options{NoCoordinates: []string{"M01", "M02", "M03", "M04", "M05", "M06"}})
		p := webtest.Open(t, s.URL+"/#/map?token="+testToken)
		waitMap(p, 0)
		if l, n := canvasData(p, "layout"), canvasData(p, "tiles"); l != "synthetic" || n != "0" || len(s.views.tilesAsked()) != 0 {
			t.Errorf("layout %s: %s tiles drawn, %d asked; want none under a synthetic layout", l, n, len(s.views.tilesAsked()))
		}
		if note := webtest.Eval[string](p, `document.querySelector('#map-layout').textContent`); !strings.Contains(note, "no coordinates") {
			t.Errorf("layout note %q", note)
		}
		if got := canvasData(p, "points"); got != "246" {
			t.Errorf("%s points, want 246", got)
		}
	})
}
