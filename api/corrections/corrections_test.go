package corrections_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/api/auth"
	"github.com/headend/headend/api/corrections"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/results"
)

const (
	meterID  = "000001000001"
	quantity = "forward active energy total"
)

var (
	cst = time.FixedZone("CST", 8*3600)
	day = time.Date(2025, 6, 10, 0, 0, 0, 0, cst)
)

// fixture is the corrections API over real HTTP on a real results store,
// with three people: Li (analyst: proposes), Wang (approver) and Zhao
// (analyst and approver: may approve others' corrections, not their own).
type fixture struct {
	srv     *httptest.Server
	res     *results.Store
	decided int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	res, err := results.Open(filepath.Join(t.TempDir(), "results.db"), results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	v := vee.Value{Key: vee.Key{Meter: meterID, Class: meter.Daily, Quantity: quantity, Time: day}, Unit: "kWh",
		Value: dlt645.Decimal{Units: 247581, Scale: 2}, Quality: vee.Valid}
	body, _ := json.Marshal(v)
	if _, err := res.Put(context.Background(), []store.Record{{Kind: analysis.KindValue, Key: analysis.ValueKey(meterID, meter.Daily, quantity, day),
		Area: "D01", Meter: meterID, Time: day, Body: body}}); err != nil {
		t.Fatal(err)
	}
	arch := &archive.Archive{Meters: []archive.Meter{{Address: meterID, Area: "D01", Edition: "2007", CT: 1, PT: 1}}}
	toks, err := auth.New([]config.TokenSpec{
		{Name: "Li", Roles: []string{"analyst"}, Token: "li-token-0123456789abcdef"},
		{Name: "Wang", Roles: []string{"approver"}, Token: "wang-token-0123456789abcdef"},
		{Name: "Zhao", Roles: []string{"analyst", "approver"}, Token: "zhao-token-0123456789abcdef"},
		{Name: "Billing", Roles: []string{"billing"}, Token: "bill-token-0123456789abcdef"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{res: res}
	svc := &corrections.Service{Results: res, Archive: arch.Index, Location: cst,
		Now: func() time.Time { return day.Add(36 * time.Hour) }, Decided: func() { f.decided++ }}
	mux := http.NewServeMux()
	svc.Register(mux, toks)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// do sends a request as token and checks the status; it returns the body.
func (f *fixture) do(t *testing.T, method, path, token, body string, want int) string {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s as %q: %d %s, want %d", method, path, token, resp.StatusCode, b, want)
	}
	return string(b)
}

const edit = `{"kind":"edit","meter":"000001000001","class":"daily","quantity":"forward active energy total","time":"2025-06-10","value":"2475.49","reason":"removal reading typed without a digit"}`

func TestFourEyes(t *testing.T) {
	f := newFixture(t)
	var c analysis.Correction
	json.Unmarshal([]byte(f.do(t, "POST", "/api/v1/corrections", "zhao-token-0123456789abcdef", edit, 201)), &c)
	if c.No != 1 || c.Status != analysis.Proposed || c.ProposedBy != "Zhao" || c.Before != "2475.81 (valid)" {
		t.Fatalf("proposed: %+v", c)
	}
	// Zhao may approve, but not their own correction
	if b := f.do(t, "POST", "/api/v1/corrections/1/approve", "zhao-token-0123456789abcdef", "", 403); !strings.Contains(b, "own correction") {
		t.Errorf("self-approval refused with %q", b)
	}
	// the proposer cannot reject it either (rejecting is a decision too)
	f.do(t, "POST", "/api/v1/corrections/1/reject", "zhao-token-0123456789abcdef", "", 403)
	// an analyst without the approve permission cannot decide at all
	f.do(t, "POST", "/api/v1/corrections/1/approve", "li-token-0123456789abcdef", "", 403)
	if f.decided != 0 {
		t.Fatalf("Decided called %d times before any approval", f.decided)
	}
	json.Unmarshal([]byte(f.do(t, "POST", "/api/v1/corrections/1/approve", "wang-token-0123456789abcdef", `{"reason":"checked against the removal slip"}`, 200)), &c)
	if c.Status != analysis.Approved || c.DecidedBy != "Wang" || c.Decision != "checked against the removal slip" {
		t.Fatalf("approved: %+v", c)
	}
	if f.decided != 1 {
		t.Errorf("Decided called %d times, want 1", f.decided)
	}
	// decided once: a second decision is a conflict naming who decided
	if b := f.do(t, "POST", "/api/v1/corrections/1/reject", "wang-token-0123456789abcdef", "", 409); !strings.Contains(b, "Wang") {
		t.Errorf("second decision: %q", b)
	}
	// every state is kept: the history has the proposal and the approval
	h, err := f.res.History(context.Background(), analysis.KindCorrection, analysis.CorrectionKey(1))
	if err != nil || len(h) != 2 {
		t.Fatalf("history: %d versions, %v", len(h), err)
	}
}

func TestRejectAndList(t *testing.T) {
	f := newFixture(t)
	f.do(t, "POST", "/api/v1/corrections", "li-token-0123456789abcdef", edit, 201)
	f.do(t, "POST", "/api/v1/corrections", "li-token-0123456789abcdef",
		`{"kind":"fault_energy","meter":"000001000001","time":"2025-06-01","end":"2025-06-03","value":"20","reason":"area meter CT open"}`, 201)
	f.do(t, "POST", "/api/v1/corrections/2/reject", "wang-token-0123456789abcdef", `{"reason":"no site report"}`, 200)
	if f.decided != 0 {
		t.Errorf("a rejection reran the analysis (%d)", f.decided)
	}
	var list struct{ Corrections []analysis.Correction }
	json.Unmarshal([]byte(f.do(t, "GET", "/api/v1/corrections?status=proposed", "wang-token-0123456789abcdef", "", 200)), &list)
	if len(list.Corrections) != 1 || list.Corrections[0].No != 1 {
		t.Errorf("proposed: %+v", list.Corrections)
	}
	json.Unmarshal([]byte(f.do(t, "GET", "/api/v1/corrections?status=rejected", "li-token-0123456789abcdef", "", 200)), &list)
	if len(list.Corrections) != 1 || list.Corrections[0].No != 2 || list.Corrections[0].Decision != "no site report" {
		t.Errorf("rejected: %+v", list.Corrections)
	}
	f.do(t, "GET", "/api/v1/corrections?status=maybe", "li-token-0123456789abcdef", "", 400)
	f.do(t, "GET", "/api/v1/corrections/3", "li-token-0123456789abcdef", "", 404)
	f.do(t, "GET", "/api/v1/corrections/x", "li-token-0123456789abcdef", "", 400)
}

func TestProposalRefused(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		token, body string
		status      int
		says        string
	}{
		{"", edit, 401, ""},
		{"bill-token-0123456789abcdef", edit, 403, ""},
		{"li-token-0123456789abcdef", `{"kind":"delete","meter":"000001000001"}`, 400, "kind"},
		{"li-token-0123456789abcdef", strings.Replace(edit, "000001000001", "000009999999", 1), 400, "meter"},
		{"li-token-0123456789abcdef", strings.Replace(edit, `"2475.49"`, `"12,5"`, 1), 400, "value"},
		{"li-token-0123456789abcdef", strings.Replace(edit, `"2475.49"`, `"-1"`, 1), 400, "never negative"},
		{"li-token-0123456789abcdef", strings.Replace(edit, `"removal reading typed without a digit"`, `"  "`, 1), 400, "reason"},
		{"li-token-0123456789abcdef", strings.Replace(edit, `"2025-06-10"`, `"10/06/2025"`, 1), 400, "time"},
		{"li-token-0123456789abcdef", strings.Replace(edit, `"daily"`, `"instantaneous"`, 1), 400, "class"},
		{"li-token-0123456789abcdef", strings.Replace(edit, `"2025-06-10"`, `"2025-06-11"`, 1), 404, "no daily value"},
		{"li-token-0123456789abcdef", `{"kind":"refund","meter":"000001000001","time":"2025-06-03","end":"2025-06-01","value":"5","reason":"r"}`, 400, "end"},
		{"li-token-0123456789abcdef", `{"kind":"refund","meter":"000001000001","time":"2025-06-01","end":"2025-06-03","value":"0","reason":"r"}`, 400, "positive"},
		{"li-token-0123456789abcdef", `{"kind":"edit","unknown":1}`, 400, "unknown"},
		{"li-token-0123456789abcdef", `{"kind":`, 400, "body"},
	} {
		if b := f.do(t, "POST", "/api/v1/corrections", c.token, c.body, c.status); !strings.Contains(b, c.says) {
			t.Errorf("%s: %q does not say %q", c.body, b, c.says)
		}
	}
	// nothing refused was numbered: the next proposal is number 1
	var got analysis.Correction
	json.Unmarshal([]byte(f.do(t, "POST", "/api/v1/corrections", "li-token-0123456789abcdef", edit, 201)), &got)
	if got.No != 1 {
		t.Errorf("first accepted proposal is number %d", got.No)
	}
}
