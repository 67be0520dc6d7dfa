package web

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/headend/headend/api/mapapi/maptest"
	"github.com/headend/headend/api/web/webtest"
)

// media switches the page's CSS media type ("print", or "" for screen).
func media(p *webtest.Page, m string) {
	p.Run("emulate media "+m, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
		return err
	}))
}

func display(p *webtest.Page, sel string) string {
	return webtest.Eval[string](p, fmt.Sprintf(`getComputedStyle(document.querySelector(%s)).display`, webtest.JSString(sel)))
}

// The assessment page: the period's rows as the API sent them, by area and
// by responsible person; the CSV download; and the print view, which
// leaves out the header and the toolbar and adds the signature line.
func TestAssessmentPage(t *testing.T) {
	s := serveViews(t, "", maptest.Options{})
	p := webtest.Open(t, s.URL+"/#/assessment?token="+testToken)
	p.WaitJS(`document.querySelector('#assessment').dataset.state === 'ready'`)
	if q := s.views.asked("GET /api/v1/assessment"); len(q) != 1 || q[0].Get("period") != "2025-06" || q[0].Get("by") != "area" {
		t.Errorf("assessment queries %v, want one for 2025-06 by area (the month of meta's last day)", q)
	}
	type arow struct{ Key, Qualified, Actual, Result string }
	rowsOf := func() []arow {
		return webtest.Eval[[]arow](p, `[...document.querySelectorAll('#assessment tbody tr')].map(tr =>
			({Key: tr.dataset.key, Qualified: tr.dataset.qualified, Actual: tr.cells[3].textContent, Result: tr.cells[4].textContent}))`)
	}
	rs := rowsOf()
	want := assessRows("area")
	if len(rs) != len(want) {
		t.Fatalf("%d rows, want %d", len(rs), len(want))
	}
	for i, r := range rs {
		w := want[i]
		wq := fmt.Sprint(w["qualified"])
		res := map[string]string{"true": "qualified", "false": "not qualified"}[wq]
		if r.Key != w["key"] || r.Qualified != wq || r.Actual != w["actual"] || r.Result != res {
			t.Errorf("row %d: %+v, want %s %s actual %s", i, r, w["key"], res, w["actual"])
		}
	}
	if sum := webtest.Eval[string](p, `document.querySelector('#assess-summary').textContent`); sum != "4 of 6 qualified" {
		t.Errorf("summary %q", sum)
	}
	if title := webtest.Eval[string](p, `document.querySelector('#assess-title').textContent`); !strings.Contains(title, "2025-06") || !strings.Contains(title, "by area") {
		t.Errorf("title %q", title)
	}
	saveScreenshot(t, p, "assessment.png")

	// By responsible person: the API is asked again, the columns change.
	setSelect(p, "#assess-by", "responsible")
	p.WaitJS(`document.querySelector('#assessment').dataset.by === 'responsible' && document.querySelector('#assessment').dataset.state === 'ready'`)
	if keys := webtest.Eval[[]string](p, `[...document.querySelectorAll('#assessment tbody tr')].map(tr => tr.dataset.key)`); !slices.Equal(keys, fakeResponsible) {
		t.Errorf("rows by responsible: %v, want %v", keys, fakeResponsible)
	}
	if h := webtest.Eval[[]string](p, `[document.querySelector('#assess-key').textContent, document.querySelector('#assess-resp').textContent]`); h[0] != "Responsible" || h[1] != "Areas" {
		t.Errorf("header by responsible: %v", h)
	}
	if hash := webtest.Eval[string](p, `location.hash`); hash != "#/assessment?period=2025-06&by=responsible" {
		t.Errorf("fragment %q", hash)
	}

	// The CSV download carries the token (a plain link could not).
	p.Click("#assess-csv")
	p.WaitJS(`document.querySelector('#assess-csv').dataset.state === 'done'`)
	q := s.views.asked("GET /api/v1/assessment")
	if last := q[len(q)-1]; last.Get("format") != "csv" || last.Get("by") != "responsible" || last.Get("period") != "2025-06" {
		t.Errorf("CSV query %v", last)
	}
	if n := webtest.Eval[string](p, `document.querySelector('#assess-csv').dataset.bytes`); n != fmt.Sprint(assessCSV("responsible")) {
		t.Errorf("CSV of %s bytes, want %d", n, assessCSV("responsible"))
	}

	// Print: the button prints; the print view is the sheet alone.
	p.Exec(`window.print = () => { window.printed = (window.printed || 0) + 1 }`)
	p.Click("#assess-print")
	if n := webtest.Eval[int](p, `window.printed || 0`); n != 1 {
		t.Errorf("Print called window.print %d times", n)
	}
	setSelect(p, "#assess-by", "area")
	p.WaitJS(`document.querySelector('#assessment').dataset.by === 'area' && document.querySelector('#assessment').dataset.state === 'ready'`)
	media(p, "print")
	for sel, want := range map[string]string{"#top": "none", "#assess-toolbar": "none", "#assessment": "table", ".signature": "block", "#assess-printed": "block"} {
		if got := display(p, sel); got != want {
			t.Errorf("print view: %s has display %s, want %s", sel, got, want)
		}
	}
	saveScreenshot(t, p, "assessment-print.png")
	pdf, err := chromedp.Call(p.Ctx, page.PrintToPDF, page.PrintToPDFParams{})
	if err != nil || !bytes.HasPrefix(pdf.Data, []byte("%PDF")) {
		t.Errorf("print to PDF: %d bytes, %v", len(pdf.Data), err)
	}
	media(p, "")
	if got := display(p, "#top"); got == "none" {
		t.Errorf("the header stays hidden after printing")
	}
	for _, msg := range p.Messages() {
		t.Errorf("page said: %s", msg)
	}
}

// The inspection list: items with their evidence; marking one checked
// POSTs the finding and the fault energy, and the item shows as checked; a
// refused check says so on the item.
func TestInspectionsPage(t *testing.T) {
	s := serveViews(t, "", maptest.Options{})
	p := webtest.Open(t, s.URL+"/#/inspections?token="+testToken)
	p.WaitJS(`document.querySelector('#inspections').dataset.state === 'ready'`)
	type item struct{ ID, Status string }
	items := func() []item {
		return webtest.Eval[[]item](p, `[...document.querySelectorAll('#inspections .insp')].map(a => ({ID: a.dataset.id, Status: a.dataset.status}))`)
	}
	if got := items(); !slices.Equal(got, []item{{"I0001", "open"}, {"I0002", "open"}, {"I0003", "open"}, {"I0004", "checked"}}) {
		t.Fatalf("items %v", got)
	}
	if q := s.views.asked("GET /api/v1/inspections"); len(q) != 1 || q[0].Get("month") != "2025-06" {
		t.Errorf("inspection queries %v, want month 2025-06", q)
	}
	if f := webtest.Eval[string](p, `document.querySelector('.insp[data-id="I0001"] .figures').textContent`); f != "loss 11.42 % · target 8.00 % · change 4.10 points · unexplained 3.80 points" {
		t.Errorf("I0001's figures %q", f)
	}
	if n := webtest.Eval[int](p, `document.querySelectorAll('.insp[data-id="I0001"] li[data-testid="insp-finding"]').length`); n != 2 {
		t.Errorf("I0001 shows %d findings as evidence, want 2", n)
	}
	if c := webtest.Eval[string](p, `document.querySelector('#insp-count').textContent`); c != "3 open, 1 checked" {
		t.Errorf("count %q", c)
	}
	p.Click(`.insp[data-id="I0001"] details summary`)
	if n := p.WaitRows(`.insp[data-id="I0001"] details[open] li[data-testid="evidence"]`, 4); n != 4 {
		t.Errorf("I0001's evidence: %d reads, want 4", n)
	}

	// Mark I0002 checked, with fault energy.
	form := `.insp[data-id="I0002"] form.insp-check`
	p.Exec(fmt.Sprintf(`(() => { const f = document.querySelector(%s);
		f.elements.finding.value = 'area meter CT wired backwards on phase B, rewired';
		f.elements.from.value = '2025-06-10'; f.elements.to.value = '2025-06-15'; f.elements.kwh.value = '120.5' })()`, webtest.JSString(form)))
	saveScreenshot(t, p, "inspections.png")
	p.Click(form + ` button[type="submit"]`)
	p.WaitJS(`document.querySelector('.insp[data-id="I0002"]').dataset.status === 'checked'`)
	checks := s.views.checked()
	if len(checks) != 1 || checks[0].ID != "I0002" || checks[0].Body["finding"] != "area meter CT wired backwards on phase B, rewired" {
		t.Fatalf("checks POSTed: %+v", checks)
	}
	if fe, _ := checks[0].Body["fault_energy"].(map[string]any); fe["from"] != "2025-06-10" || fe["to"] != "2025-06-15" || fe["kwh"] != "120.5" {
		t.Errorf("fault energy POSTed: %v", checks[0].Body["fault_energy"])
	}
	if r := webtest.Eval[string](p, `document.querySelector('.insp[data-id="I0002"] .insp-result').textContent`); !strings.Contains(r, "rewired") ||
		!strings.Contains(r, "analyst") || !strings.Contains(r, "120.5 kWh") || !strings.Contains(r, "correction C0007") {
		t.Errorf("I0002 after the check: %q", r)
	}
	if c := webtest.Eval[string](p, `document.querySelector('#insp-count').textContent`); c != "2 open, 2 checked" {
		t.Errorf("count after the check %q", c)
	}

	// I0003 may not be checked with this token: the item says why and stays open.
	form = `.insp[data-id="I0003"] form.insp-check`
	p.Exec(fmt.Sprintf(`document.querySelector(%s).elements.finding.value = 'line patrol found nothing'`, webtest.JSString(form)))
	p.Click(form + ` button[type="submit"]`)
	p.WaitJS(fmt.Sprintf(`!document.querySelector(%s).hidden`, webtest.JSString(form+" .form-error")))
	if e := webtest.Eval[string](p, fmt.Sprintf(`document.querySelector(%s).textContent`, webtest.JSString(form+" .form-error"))); !strings.Contains(e, "edit_reads") {
		t.Errorf("refusal shown as %q", e)
	}
	if st := webtest.Eval[string](p, `document.querySelector('.insp[data-id="I0003"]').dataset.status`); st != "open" {
		t.Errorf("I0003 is %s after a refused check", st)
	}
	if n := len(s.views.checked()); n != 2 {
		t.Errorf("%d checks POSTed, want 2", n)
	}
	// After a reload, the list is the API's: I0002 checked.
	p.Run("reload", chromedp.Reload(), chromedp.WaitReady(chromedp.CSS("body")))
	p.WaitJS(`document.querySelector('#inspections').dataset.state === 'ready'`)
	if got := items(); got[1] != (item{"I0002", "checked"}) {
		t.Errorf("after a reload: %v", got)
	}
	for _, msg := range p.Messages() {
		if !strings.Contains(msg, "403") {
			t.Errorf("page said: %s", msg)
		}
	}
}

// The review page shows the review's findings and the archive checks',
// worst first, each planted fault with its evidence; the area filter
// narrows both.
func TestReviewPage(t *testing.T) {
	s := serveViews(t, "", maptest.Options{})
	p := webtest.Open(t, s.URL+"/#token="+testToken)
	waitLoad(p, 0)
	p.Click(`#tabs a[data-view="review"]`)
	p.WaitJS(`document.querySelector('#review-findings').dataset.state === 'ready' && document.querySelector('#archive-checks').dataset.state === 'ready'`)
	if q := s.views.asked("GET /api/v1/review"); len(q) != 1 || q[0].Get("from") != "2025-06-01" || q[0].Get("to") != "2025-06-30" {
		t.Errorf("review queries %v, want the last 30 days, 2025-06-01 to 2025-06-30", q)
	}
	type frow struct{ Rule, Severity, Area, Meter string }
	rowsIn := func(sel string) []frow {
		return webtest.Eval[[]frow](p, fmt.Sprintf(`[...document.querySelectorAll('%s tbody tr.finding')].map(tr =>
			({Rule: tr.dataset.rule, Severity: tr.dataset.severity, Area: tr.dataset.area, Meter: tr.dataset.meter}))`, sel))
	}
	got := rowsIn("#review-findings")
	want := []frow{{"exchange_removal_below_billed", "high", "M01", maptest.Address(0, 7)}, {"consumption_zero", "medium", "M02", maptest.Address(1, 30)},
		{"read_gap", "low", "M03", maptest.Address(2, 5)}}
	if !slices.Equal(got, want) {
		t.Errorf("review findings %v, want %v", got, want)
	}
	checks := rowsIn("#archive-checks")
	want = []frow{{"multiplier_mismatch", "high", "M02", maptest.Address(1, 0)}, {"unarchived_meter", "medium", "M02", "000099000001"},
		{"verification_overdue", "low", "M05", maptest.Address(4, 3)}}
	if !slices.Equal(checks, want) {
		t.Errorf("archive checks %v, want %v", checks, want)
	}
	p.Click(`#review-findings tr.finding-more details summary`)
	if n := p.WaitRows(`#review-findings details[open] li[data-testid="evidence"]`, 2); n != 2 {
		t.Errorf("the exchange's evidence: %d reads, want 2", n)
	}
	if ev := webtest.Eval[string](p, `document.querySelector('#review-findings details[open] li').textContent`); !strings.Contains(ev, "1180.20 kWh") {
		t.Errorf("evidence %q, want the removal reading with its unit", ev)
	}
	if c := webtest.Eval[string](p, `document.querySelector('#review-count').textContent`); c != "6 findings, 2 high" {
		t.Errorf("count %q", c)
	}
	saveScreenshot(t, p, "review.png")

	setSelect(p, "#review-area", "M02")
	p.WaitJS(`document.querySelectorAll('#review-findings tbody tr.finding').length === 1`)
	if got := append(rowsIn("#review-findings"), rowsIn("#archive-checks")...); len(got) != 3 || got[0].Area != "M02" || got[1].Area != "M02" || got[2].Area != "M02" {
		t.Errorf("findings of M02: %v", got)
	}
	setSelect(p, "#review-area", "")
	setSelect(p, "#review-rule", "multiplier_mismatch")
	p.WaitJS(`document.querySelectorAll('#archive-checks tbody tr.finding').length === 1 && !document.querySelector('#review-empty').hidden`)
	if opts := webtest.Eval[[]string](p, `[...document.querySelectorAll('#review-rule option')].map(o => o.textContent)`); len(opts) != 7 || opts[3] != "multiplier mismatch (1)" {
		t.Errorf("rule choices %q", opts)
	}
	for _, msg := range p.Messages() {
		t.Errorf("page said: %s", msg)
	}
}

// The tabs switch views without reloading the loss view, and the loss
// view still works after the others.
func TestViewTabs(t *testing.T) {
	s := serveViews(t, "", maptest.Options{})
	p := webtest.Open(t, s.URL+"/#token="+testToken)
	waitLoad(p, 0)
	for _, v := range []string{"map", "assessment", "inspections", "review", "loss"} {
		p.Click(fmt.Sprintf(`#tabs a[data-view="%s"]`, v))
		p.WaitJS(fmt.Sprintf(`document.body.dataset.view === '%s' && !document.querySelector('main.view[data-view="%s"]').hidden &&
			[...document.querySelectorAll('main.view')].filter(m => !m.hidden).length === 1`, v, v))
		if filters := webtest.Eval[bool](p, `!document.querySelector('#filters').hidden`); filters != (v == "loss") {
			t.Errorf("view %s: loss filters shown %v", v, filters)
		}
	}
	if n := len(s.loss.Queries()); n != 1 {
		t.Errorf("the areas were fetched %d times, want once", n)
	}
	p.Click(`#areas tbody tr[data-id]`)
	p.WaitJS(`document.querySelector('#detail').dataset.state === 'ready'`)
	for _, msg := range p.Messages() {
		t.Errorf("page said: %s", msg)
	}
}
