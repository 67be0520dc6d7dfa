package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/api/web/webtest"
)

const testToken = "s3cret-token"

// serve starts the dashboard and a fake loss API of n areas × 30 days on
// one mux, mounted the way the daemon mounts them.
func serve(t *testing.T, n int) (*httptest.Server, *fakeAPI) {
	t.Helper()
	api := newFakeAPI(testToken, n, 30)
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", api)
	mux.Handle("/", Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, api
}

// waitLoad waits for the areas list drawn after the load-th one, and returns
// its fetch and render times as the page measured them.
func waitLoad(p *webtest.Page, load int) (fetchMs, renderMs float64) {
	p.WaitJS(fmt.Sprintf(`(() => { const t = document.querySelector('#areas');
		return t.dataset.state === 'ready' && Number(t.dataset.loads) > %d })()`, load))
	ms := webtest.Eval[[]string](p, `[document.querySelector('#areas').dataset.fetchMs, document.querySelector('#areas').dataset.renderMs]`)
	f, _ := strconv.ParseFloat(ms[0], 64)
	r, _ := strconv.ParseFloat(ms[1], 64)
	return f, r
}

type row struct {
	ID     string `json:"id"`
	Rate   string `json:"rate"`
	Class  string `json:"class"`
	Feeder string `json:"feeder"`
}

func rows(p *webtest.Page) []row {
	return webtest.Eval[[]row](p, `[...document.querySelectorAll('#areas tbody tr')].map(tr =>
		({id: tr.dataset.id, rate: tr.dataset.rate, class: tr.dataset.class, feeder: tr.dataset.feeder}))`)
}

func count(p *webtest.Page) int {
	return webtest.Eval[int](p, `Number(document.querySelector('#area-count').dataset.count)`)
}

// checkRateOrder checks rows are ordered by rate (dir -1 descending, 1
// ascending) with the areas without a rate last.
func checkRateOrder(t *testing.T, rs []row, dir float64) {
	t.Helper()
	prev, seenEmpty := 0.0, false
	for i, r := range rs {
		if r.Rate == "" {
			seenEmpty = true
			continue
		}
		if seenEmpty {
			t.Fatalf("row %d (%s, rate %s) comes after an area without a rate", i, r.ID, r.Rate)
		}
		v, err := strconv.ParseFloat(r.Rate, 64)
		if err != nil {
			t.Fatalf("row %d (%s): rate %q: %v", i, r.ID, r.Rate, err)
		}
		if i > 0 && (v-prev)*dir < 0 {
			t.Fatalf("row %d (%s): rate %s out of order after %v (direction %v)", i, r.ID, r.Rate, prev, dir)
		}
		prev = v
	}
}

// setSelect chooses a value in a select (or input) and fires change, as a
// person choosing it does.
func setSelect(p *webtest.Page, sel, value string) {
	p.Exec(fmt.Sprintf(`(() => { const e = document.querySelector(%s); e.value = %s;
		e.dispatchEvent(new Event('change', {bubbles: true})) })()`, webtest.JSString(sel), webtest.JSString(value)))
}

func saveScreenshot(t *testing.T, p *webtest.Page, name string) {
	t.Helper()
	p.Screenshot(filepath.Join(t.TempDir(), name))
	if dir := os.Getenv("HEADEND_SCREENSHOT_DIR"); dir != "" {
		p.Screenshot(filepath.Join(dir, name))
	}
}

func TestDashboard(t *testing.T) {
	const n = 1000
	srv, api := serve(t, n)
	p := webtest.Open(t, srv.URL+"/#token="+testToken)

	// The list: all 1,000 areas counted, the first page of 100 drawn,
	// sorted by loss rate, highest first.
	start := time.Now()
	fetchMs, renderMs := waitLoad(p, 0)
	t.Logf("1,000 areas: ready %v after the page loaded; API fetch and decode %.1f ms, table render %.1f ms (page measured)",
		time.Since(start).Round(time.Millisecond), fetchMs, renderMs)
	if got := count(p); got != n {
		t.Fatalf("area count %d, want %d", got, n)
	}
	if got := p.WaitRows("#areas tbody tr", 100); got != 100 {
		t.Fatalf("%d rows drawn, want the first page of 100", got)
	}
	if info := webtest.Eval[string](p, `document.querySelector('#page-info').textContent`); info != "1–100 of 1,000" {
		t.Errorf("page info %q", info)
	}
	checkRateOrder(t, rows(p), -1)
	saveScreenshot(t, p, "dashboard-areas.png")
	if q := api.lastQuery(); q.Get("feeder") != "" || q.Get("class") != "" {
		t.Errorf("first areas query %v, want no feeder or class", q)
	}

	// The token left the address bar for sessionStorage, and no cookie was set.
	auth := webtest.Eval[[]string](p, `[location.href, sessionStorage.getItem('headend.token') || '', document.cookie]`)
	if strings.Contains(auth[0], testToken) || auth[1] != testToken || auth[2] != "" {
		t.Errorf("after load: href %q, stored token %q, cookies %q; want the token only in sessionStorage", auth[0], auth[1], auth[2])
	}

	// Sort by rate, ascending now; then the next page.
	p.Click(`#areas thead th[data-sort="rate"] button`)
	p.WaitJS(`document.querySelector('#areas th[data-sort="rate"]').getAttribute('aria-sort') === 'ascending'`)
	checkRateOrder(t, rows(p), 1)
	t.Logf("sort of 1,000 areas: render %s ms", webtest.Eval[string](p, `document.querySelector('#areas').dataset.renderMs`))
	first := rows(p)[0].ID
	p.Click("#page-next")
	p.WaitJS(`document.querySelector('#page-info').textContent === '101–200 of 1,000'`)
	if rs := rows(p); len(rs) != 100 || rs[0].ID == first {
		t.Errorf("page 2: %d rows starting at %s (page 1 started at %s)", len(rs), rs[0].ID, first)
	}
	// By class, the worst (high) first.
	p.Click(`#areas thead th[data-sort="class"] button`)
	p.WaitJS(`document.querySelector('#areas th[data-sort="class"]').getAttribute('aria-sort') === 'descending'`)
	if rs := rows(p); rs[0].Class != "high" {
		t.Errorf("sorted by class, the first row is %s of class %s, want high", rs[0].ID, rs[0].Class)
	}
	p.Click(`#areas thead th[data-sort="rate"] button`) // back to rate, highest first
	p.WaitJS(`document.querySelector('#areas th[data-sort="rate"]').getAttribute('aria-sort') === 'descending'`)

	// Filter by feeder: the API is asked, and the rows change to that feeder's.
	feeder := api.feeders[2]
	before := rows(p)
	start = time.Now()
	setSelect(p, "#filter-feeder", feeder)
	fetchMs, renderMs = waitLoad(p, 1)
	t.Logf("feeder filter: ready in %v; fetch %.1f ms, render %.1f ms", time.Since(start).Round(time.Millisecond), fetchMs, renderMs)
	if q := api.lastQuery(); q.Get("feeder") != feeder {
		t.Errorf("areas query after the feeder filter: %v, want feeder=%s", q, feeder)
	}
	after := rows(p)
	if len(after) != n/len(api.feeders) || count(p) != len(after) {
		t.Errorf("feeder %s: %d rows, count %d, want %d", feeder, len(after), count(p), n/len(api.feeders))
	}
	for _, r := range after {
		if r.Feeder != feeder {
			t.Fatalf("feeder %s: row %s is on feeder %s", feeder, r.ID, r.Feeder)
		}
	}
	if slices.Equal(before[:len(after)], after) {
		t.Errorf("the rows did not change with the feeder filter")
	}
	checkRateOrder(t, after, -1)

	// And by class, with the date range: both go to the API.
	setSelect(p, "#filter-class", "high")
	waitLoad(p, 2)
	setSelect(p, "#filter-from", "2025-06-10")
	waitLoad(p, 3)
	q := api.lastQuery()
	if q.Get("feeder") != feeder || q.Get("class") != "high" || q.Get("from") != "2025-06-10" || q.Get("to") != "2025-06-30" {
		t.Errorf("areas query after the feeder, class and date filters: %v", q)
	}
	for _, r := range rows(p) {
		if r.Class != "high" || r.Feeder != feeder {
			t.Fatalf("filtered by %s and high: row %s has feeder %s class %s", feeder, r.ID, r.Feeder, r.Class)
		}
	}
	setSelect(p, "#filter-class", "")
	waitLoad(p, 4)

	// Open the first area: the chart, its flags and its theft ranking.
	id := rows(p)[0].ID
	p.Click(fmt.Sprintf(`#areas tbody tr[data-id="%s"]`, id))
	p.WaitJS(fmt.Sprintf(`document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.area === %s`, webtest.JSString(id)))
	canvas := webtest.Eval[[]float64](p, `(() => { const c = document.querySelector('#trend canvas');
		if (!c) return [0, 0]; const r = c.getBoundingClientRect(); return [r.width, r.height] })()`)
	if canvas[0] <= 0 || canvas[1] <= 0 {
		t.Errorf("area %s: trend canvas %vx%v, want a drawn chart", id, canvas[0], canvas[1])
	}
	if days := webtest.Eval[string](p, `document.querySelector('#trend').dataset.days`); days != "21" {
		t.Errorf("area %s: chart of %s days, want 21 (2025-06-10 to 2025-06-30)", id, days)
	}
	nflags := p.WaitRows("#flags tbody tr.flag-row", 1)
	if want := len(api.flagsIn(api.byID[id], 9, 29)); nflags != want {
		t.Errorf("area %s: %d flag rows, want %d", id, nflags, want)
	}
	p.Click("#flags details summary")
	if ev := p.WaitRows("#flags details[open] li", 3); ev != 3 {
		t.Errorf("area %s: %d evidence rows, want 3", id, ev)
	}
	if nt := p.WaitRows("#theft tbody tr", 5); nt != 5 {
		t.Errorf("area %s: %d theft candidates, want 5", id, nt)
	}
	if c := webtest.Eval[string](p, `document.querySelector('#collection').dataset.value`); c == "" {
		t.Errorf("area %s: no collection rate shown", id)
	}
	saveScreenshot(t, p, "dashboard.png")

	if msgs := p.Messages(); len(msgs) > 0 {
		t.Errorf("the page logged %d errors or warnings: %q", len(msgs), msgs)
	}
}

// TestDashboardTokenPrompt opens the page with a wrong token: the API's 401
// brings up the prompt, and the right token loads the table. An area with no
// computable day shows the empty state instead of a chart.
func TestDashboardTokenPrompt(t *testing.T) {
	srv, _ := serve(t, 120)
	p := webtest.Open(t, srv.URL+"/#token=wrong")
	p.WaitVisible("#token-input")
	saveScreenshot(t, p, "dashboard-token.png")
	if reason := webtest.Eval[string](p, `document.querySelector('#token-reason').textContent`); !strings.Contains(reason, "refused") {
		t.Errorf("token prompt says %q, want that the token was refused", reason)
	}
	p.Exec(fmt.Sprintf(`document.querySelector('#token-input').value = %s`, webtest.JSString(testToken)))
	p.Click("#token-submit")
	waitLoad(p, 0)
	if got := count(p); got != 120 {
		t.Errorf("after the token: %d areas, want 120", got)
	}
	if open := webtest.Eval[bool](p, `document.querySelector('#token-dialog').open`); open {
		t.Errorf("the token prompt is still open")
	}
	if tok := webtest.Eval[string](p, `sessionStorage.getItem('headend.token')`); tok != testToken {
		t.Errorf("stored token %q, want the one entered", tok)
	}

	// The search box narrows the list in the page: area A0050 has no computable day.
	p.Exec(`(() => { const e = document.querySelector('#filter-search'); e.value = 'A0050'; e.dispatchEvent(new Event('input')) })()`)
	p.WaitJS(`document.querySelectorAll('#areas tbody tr').length === 1`)
	p.Click(`#areas tbody tr[data-id="A0050"]`)
	p.WaitJS(`document.querySelector('#detail').dataset.state === 'ready'`)
	if vis := webtest.Eval[[]bool](p, `[!document.querySelector('#trend-empty').hidden, !!document.querySelector('#trend canvas')]`); !vis[0] || vis[1] {
		t.Errorf("area without computable days: empty state shown %v, chart present %v", vis[0], vis[1])
	}
	// ... and no theft ranking yet: said so, not shown as an error (16.11)
	p.WaitJS(`document.querySelector('#theft').dataset.state === 'ready'`)
	if got := webtest.Eval[[]string](p, `[document.querySelector('#theft-empty').textContent, String(document.querySelector('#theft-empty').hidden),
		document.querySelector('#status').classList.contains('error') ? document.querySelector('#status').textContent : '']`); got[0] != "No ranking yet." || got[1] != "false" || got[2] != "" {
		t.Errorf("area not ranked yet: empty text %q hidden %s, error status %q; want \"No ranking yet.\" and no error", got[0], got[1], got[2])
	}
	saveScreenshot(t, p, "dashboard-empty.png")
	if msgs := p.Messages(); slices.ContainsFunc(msgs, func(m string) bool { return !strings.Contains(m, "401") }) {
		t.Errorf("the page logged errors besides the refused token: %q", msgs)
	}
}
