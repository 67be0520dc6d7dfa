package manage_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/analysistest"
	"github.com/headend/headend/analysis/inspect"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/api/auth"
	"github.com/headend/headend/api/corrections"
	"github.com/headend/headend/api/manage"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/store"
)

func TestFaultEnergyEndToEnd(t *testing.T) {
	a := analysistest.Analyse(t, "../../testdata/scenarios/tiny.yaml", 6)
	ix := func() *archive.Index { return a.Archive }
	loc := a.Fleet.Zone()
	toks, _ := auth.New([]config.TokenSpec{{Name: "Li Wei", Roles: []string{"analyst"}, Token: analystToken},
		{Name: "Boss", Roles: []string{"approver"}, Token: operatorToken}}, nil)
	mux := http.NewServeMux()
	now := func() time.Time { return a.Now }
	(&manage.Service{Results: a.Results, Archive: ix, Location: loc, Now: now}).Register(mux, toks.Require(auth.ReadAll), toks.Require(auth.EditReads))
	(&corrections.Service{Results: a.Results, Archive: ix, Location: loc, Now: now}).Register(mux, toks)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var list struct{ Items []inspect.Entry }
	getJSON(t, srv.URL+"/api/v1/inspections?month=2025-03", &list)
	id := ""
	for _, it := range list.Items {
		t.Logf("%s %s %s %.2f %s", it.ID, it.Kind, it.Target, it.Score, it.Summary)
		if it.Target == "A1" {
			id = it.ID
		}
	}
	if id == "" {
		t.Fatal("A1 not on the list")
	}
	ctx := context.Background()
	before := map[string]loss.Result{}
	recs, _ := a.Results.Current(ctx, store.RecordQuery{Kind: analysis.KindLoss, Area: "A1"})
	for _, r := range recs {
		var x loss.Result
		json.Unmarshal(r.Body, &x)
		before[r.Key] = x
	}
	do(t, "POST", srv.URL+"/api/v1/inspections/"+id+"/check", analystToken,
		`{"finding":"area meter faulty from 2025-03-03","fault_energy":{"from":"2025-03-03","to":"2025-03-04","kwh":"20"}}`, 200)
	do(t, "POST", srv.URL+"/api/v1/corrections/1/approve", operatorToken, `{"reason":"ok"}`, 200)
	if _, err := a.Analyzer.Run(ctx, a.Now); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"2025-03-03", "2025-03-04", "2025-03-05"} {
		key := "A1|daily|" + d
		h, _ := a.Results.History(ctx, analysis.KindLoss, key)
		var x loss.Result
		json.Unmarshal(h[len(h)-1].Body, &x)
		b := before[key]
		t.Logf("%s: v%d supply %s → %s loss %s → %s class %s; %s", d, len(h), b.Supply, x.Supply, b.Loss, x.Loss, x.Class, x.Reasons[len(x.Reasons)-1])
		diff, _ := loss.Sub(x.Supply, b.Supply)
		want := "10.00"
		if d == "2025-03-05" {
			want = "0"
		}
		if diff.String() != want && !(want == "0" && diff.Units == 0) {
			t.Errorf("%s: supply up by %s, want %s", d, diff, want)
		}
		if want != "0" && (len(h) < 2 || !strings.Contains(x.Reasons[len(x.Reasons)-1], "correction C0000001")) {
			t.Errorf("%s: %d versions, reasons %q", d, len(h), x.Reasons)
		}
	}
}
