package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/api/mapapi"
	"github.com/headend/headend/api/mapapi/maptest"
	"github.com/headend/headend/archive"
)

// fakeViews answers the routes of the assessment, inspection and review
// APIs (the shapes of api/manage and api/review) with fixed data about the map
// fleet's areas (M01...), and serves map tiles; it records what the page
// asked and sent. For this package's browser tests only: the real APIs
// are packages api/manage and api/review.
type fakeViews struct {
	token string

	mu       sync.Mutex
	queries  map[string][]url.Values // by route
	checks   []fakeCheck             // POST .../check, in order
	items    []map[string]any        // the inspection list, as it stands
	tiles    []string                // "z/x/y" asked for
	readOnly map[string]bool         // inspections a check of which is refused (403)
}

type fakeCheck struct {
	ID   string
	Body map[string]any
}

var fakeResponsible = []string{"Li Wei", "Zhang Min", "Wang Fang"}

func newFakeViews(token string) *fakeViews {
	f := &fakeViews{token: token, queries: map[string][]url.Values{}, readOnly: map[string]bool{"I0003": true}}
	f.items = []map[string]any{
		{"id": "I0001", "month": "2025-06", "rank": 1, "kind": "area", "target": "M02", "score": 0.93, "status": "open",
			"rate": "11.42", "threshold": "8.00", "change": "4.10", "unexplained": "3.80",
			"summary": "8 meters failed together, loss rate up 4 points", "evidence": []map[string]any{
				finding("multiplier_mismatch", "high", "M02", maptest.Address(1, 0), "2025-06-28", "archive multiplier 80, CT×PT 100"),
				finding("no_answer_cluster", "medium", "M02", "", "2025-06-29", "8 meters on one bus stopped answering"),
			}},
		{"id": "I0002", "rank": 2, "kind": "area", "target": "M01", "score": 0.71, "status": "open",
			"summary": "area meter reads 12 % below the customers' sum since 2025-06-10", "evidence": []map[string]any{
				finding("exchange_removal_below_billed", "high", "M01", maptest.Address(0, 7), "2025-06-12", "removal reading 1180.20 below billed 1203.55"),
			}},
		{"id": "I0003", "rank": 3, "kind": "line", "target": "F10-201", "score": 0.55, "status": "open",
			"summary": "feeder loss 9.8 %, two areas high", "evidence": []map[string]any{}},
		{"id": "I0004", "rank": 4, "kind": "area", "target": "M04", "score": 0.40, "status": "checked",
			"summary": "cover opened twice", "finding": "seal replaced, no tampering found", "checked_by": "zhang", "checked_at": "2025-06-20T10:12:00+08:00",
			"evidence": []map[string]any{finding("cover_opened", "low", "M04", maptest.Address(3, 11), "2025-06-18", "cover-open counter 3 → 5")}},
	}
	return f
}

func finding(rule, severity, area, meter, day, summary string) map[string]any {
	return map[string]any{"rule": rule, "severity": severity, "area": area, "meter": meter, "day": day, "summary": summary,
		"evidence": []map[string]string{
			{"what": "forward active energy total", "meter": meter, "time": day + "T00:00:00+08:00", "value": "1180.20", "unit": "kWh"},
			{"what": "billed reading", "meter": meter, "time": day + "T00:00:00+08:00", "value": "1203.55", "unit": "kWh"},
		}}
}

// The review's findings and the archive checks': among them the three the
// issue plants (a meter exchange with a wrong removal reading, an
// unarchived meter on a bus, an area meter with a wrong multiplier).
var (
	fakeFindings = []map[string]any{
		finding("read_gap", "low", "M03", maptest.Address(2, 5), "2025-06-20", "2 days without a freeze"),
		finding("exchange_removal_below_billed", "high", "M01", maptest.Address(0, 7), "2025-06-12", "removal reading 1180.20 kWh is below the 1203.55 kWh already billed"),
		finding("consumption_zero", "medium", "M02", maptest.Address(1, 30), "2025-06-15", "no consumption for 14 days"),
	}
	fakeChecks = []map[string]any{
		finding("verification_overdue", "low", "M05", maptest.Address(4, 3), "", "verified 2017-03-01, due every 96 months"),
		unarchived(),
		finding("multiplier_mismatch", "high", "M02", maptest.Address(1, 0), "", "archive multiplier 80 but CT 100 × PT 1 = 100"),
	}
)

func unarchived() map[string]any {
	f := finding("unarchived_meter", "medium", "M02", "000099000001", "2025-06-29", "meter 000099000001 answers on bus C02-1 but is not in the archive")
	f["concentrator"] = "C02"
	return f
}

func (f *fakeViews) register(mux *http.ServeMux) {
	h := func(pattern string, fn http.HandlerFunc) { mux.Handle(pattern, f.auth(fn)) }
	h("GET /api/v1/assessment", f.assessment)
	h("GET /api/v1/inspections", f.inspections)
	h("POST /api/v1/inspections/{id}/check", f.check)
	h("GET /api/v1/review", f.review)
	h("GET /api/v1/archive/checks", f.archiveChecks)
	mux.HandleFunc("GET /tiles/{z}/{x}/{y}", f.tile)
}

func (f *fakeViews) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+f.token {
			fail(w, http.StatusUnauthorized, "authorization: want Bearer token")
			return
		}
		f.mu.Lock()
		f.queries[r.Pattern] = append(f.queries[r.Pattern], r.URL.Query())
		f.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// asked returns the queries of a route pattern, e.g. "GET /api/v1/review".
func (f *fakeViews) asked(pattern string) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.queries[pattern])
}

var monthRe = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`)

// assessRows are the map fleet's areas against their targets: M03 and
// M05 miss theirs.
func assessRows(by string) []map[string]any {
	var rows []map[string]any
	for k := range 6 {
		ok := k != 2 && k != 4
		actual := fmt.Sprintf("%d.%02d", 4+k, 12+k)
		if !ok {
			actual = fmt.Sprintf("%d.%02d", 9+k, 40+k)
		}
		rows = append(rows, map[string]any{"key": maptest.AreaID(k), "name": fmt.Sprintf("Area %d", k+1), "responsible": fakeResponsible[k%3],
			"target": "8.00", "actual": actual, "qualified": ok, "previous": fmt.Sprintf("%d.50", 5+k), "change": fmt.Sprintf("-0.%02d", 10+k),
			"collection_rate": fmt.Sprintf("99.%d", k), "supply": fmt.Sprintf("%d.00", 12000+1000*k), "loss": fmt.Sprintf("%d.40", 500+90*k)})
	}
	if by != "responsible" {
		return rows
	}
	var out []map[string]any
	for i, p := range fakeResponsible {
		out = append(out, map[string]any{"key": p, "areas": []string{maptest.AreaID(i), maptest.AreaID(i + 3)}, "target": "8.00", "actual": fmt.Sprintf("%d.00", 5+2*i), "qualified": i != 2,
			"previous": "6.00", "change": fmt.Sprintf("%+d.00", 2*i-1), "collection_rate": "99.5"})
	}
	return out
}

func (f *fakeViews) assessment(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	period, by := q.Get("period"), q.Get("by")
	if period == "" {
		period = "2025-06"
	}
	if !monthRe.MatchString(period) {
		fail(w, http.StatusBadRequest, "period: %q is not a month (want YYYY-MM)", period)
		return
	}
	if by != "" && by != "area" && by != "responsible" {
		fail(w, http.StatusBadRequest, "by: %q is not area or responsible", by)
		return
	}
	rows := assessRows(by)
	if q.Get("format") == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		fmt.Fprintln(w, "key,responsible,target,actual,qualified,previous,change,collection_rate")
		for _, r := range rows {
			fmt.Fprintf(w, "%s,%v,%s,%s,%v,%s,%s,%s\n", r["key"], r["responsible"], r["target"], r["actual"], r["qualified"], r["previous"], r["change"], r["collection_rate"])
		}
		return
	}
	qualified := 0
	for _, r := range rows {
		if r["qualified"] == true {
			qualified++
		}
	}
	if by == "" {
		by = "area"
	}
	writeJSON(w, http.StatusOK, map[string]any{"period": period, "by": by, "rows": rows, "assessed": len(rows), "qualified": qualified})
}

// assessCSV is what the CSV download of a period holds.
func assessCSV(by string) int {
	rec := httptest.NewRecorder()
	(&fakeViews{}).assessment(rec, httptest.NewRequest("GET", "/api/v1/assessment?format=csv&by="+by, nil))
	return rec.Body.Len()
}

func (f *fakeViews) inspections(w http.ResponseWriter, r *http.Request) {
	month := r.URL.Query().Get("month")
	if month == "" {
		month = "2025-06"
	}
	if !monthRe.MatchString(month) {
		fail(w, http.StatusBadRequest, "month: %q is not a month (want YYYY-MM)", month)
		return
	}
	f.mu.Lock()
	items := slices.Clone(f.items)
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"month": month, "items": items})
}

func (f *fakeViews) check(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		fail(w, http.StatusBadRequest, "check %s: body: %v", id, err)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checks = append(f.checks, fakeCheck{ID: id, Body: body})
	i := slices.IndexFunc(f.items, func(it map[string]any) bool { return it["id"] == id })
	switch {
	case i < 0:
		fail(w, http.StatusNotFound, "inspection %q: no such item", id)
	case f.readOnly[id]:
		fail(w, http.StatusForbidden, "token analyst may not check inspections (edit_reads)")
	case f.items[i]["status"] == "checked":
		fail(w, http.StatusConflict, "inspection %s is checked already", id)
	case strings.TrimSpace(fmt.Sprint(body["finding"])) == "":
		fail(w, http.StatusBadRequest, "finding: empty")
	default:
		it := maps.Clone(f.items[i])
		it["status"], it["finding"], it["checked_by"], it["checked_at"] = "checked", body["finding"], "analyst", "2025-07-01T09:30:00+08:00"
		var corr any
		if fe, ok := body["fault_energy"].(map[string]any); ok {
			fe = maps.Clone(fe)
			fe["correction"] = "C0007"
			it["fault_energy"], corr = fe, map[string]any{"no": 7, "status": "proposed"}
		}
		f.items[i] = it
		writeJSON(w, http.StatusOK, map[string]any{"item": it, "correction": corr})
	}
}

// checked returns the POSTs so far.
func (f *fakeViews) checked() []fakeCheck {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.checks)
}

func (f *fakeViews) review(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"findings": fakeFindings})
}

func (f *fakeViews) archiveChecks(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"findings": fakeChecks})
}

// tilePNG is the one tile the fake serves: a pale 256x256 square with a grid.
var tilePNG = sync.OnceValue(func() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	for i := range 256 {
		for j := range 256 {
			c := color.RGBA{228, 234, 226, 255}
			if i%64 == 0 || j%64 == 0 {
				c = color.RGBA{200, 205, 215, 255}
			}
			img.SetRGBA(i, j, c)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
})

// tile serves tilePNG at any z/x/y, recording which were asked.
func (f *fakeViews) tile(w http.ResponseWriter, r *http.Request) {
	z, x, y := r.PathValue("z"), r.PathValue("x"), strings.TrimSuffix(r.PathValue("y"), ".png")
	f.mu.Lock()
	f.tiles = append(f.tiles, z+"/"+x+"/"+y)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "image/png")
	w.Write(tilePNG())
}

func (f *fakeViews) tilesAsked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.tiles)
}

// viewsServer is the dashboard with the fake loss API, the fake views
// and the real map API on a map fleet whose balances are of the fake
// loss API's last day.
type viewsServer struct {
	*httptest.Server
	loss  *fakeAPI
	views *fakeViews
	fleet *maptest.Fleet
}

func serveViews(t *testing.T, tileURL string, o maptest.Options) *viewsServer {
	t.Helper()
	loss := newFakeAPI(testToken, 40, 30)
	loss.tileURL = tileURL
	views := newFakeViews(testToken)
	if o.Day.IsZero() {
		o.Day = time.Date(2025, 6, 30, 0, 0, 0, 0, maptest.Zone)
	}
	fleet := maptest.New(t, o)
	svc := &mapapi.Service{Results: fleet.Results, Archive: func() *archive.Index { return fleet.Archive }, Location: maptest.Zone,
		Now: func() time.Time { return fleet.Day.AddDate(0, 0, 1).Add(90 * time.Minute) }}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", loss)
	svc.Register(mux, func(h http.Handler) http.Handler { return views.auth(h) })
	views.register(mux)
	mux.Handle("/", Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &viewsServer{Server: srv, loss: loss, views: views, fleet: fleet}
}
