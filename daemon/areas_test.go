package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/analysistest"
	"github.com/headend/headend/cluster"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/internal/etcdtest"
	"github.com/headend/headend/internal/pgtest"
	"github.com/headend/headend/store/sqlite"
)

// seedReads is a prepare for startClusterNodeWith: the node's read store
// holds the daily freezes of clusterField's fleet over the four days
// before the field starts (as a read store all the nodes share would).
func seedReads(t *testing.T) func(*config.Config) {
	cfg := clusterScenario(t).Config
	cfg.Start = cfg.Start.AddDate(0, 0, -4)
	in, fl := analysistest.Simulate(t, cfg, 4)
	return func(c *config.Config) {
		if err := os.MkdirAll(c.Store.Path, 0o755); err != nil {
			t.Fatal(err)
		}
		st, err := sqlite.Open(filepath.Join(c.Store.Path, "headend.db"), sqlite.Options{Location: fl.Zone()})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.Write(context.Background(), append(in.Registers, in.Instant...)); err != nil {
			t.Fatal(err)
		}
	}
}

// get GETs path on the node as admin and decodes the answer into v.
func (n *clusterNode) get(path string, v any) http.Header {
	n.t.Helper()
	return n.do("GET", path, v)
}

func (n *clusterNode) do(method, path string, v any) http.Header {
	n.t.Helper()
	req, _ := http.NewRequest(method, n.http+path, nil)
	req.Header.Set("Authorization", "Bearer "+tokAdmin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		n.t.Fatalf("%s: %s %s: %v", n.name, method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		n.t.Fatalf("%s: %s %s: %s %s", n.name, method, path, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		n.t.Fatalf("%s: %s %s: %v: %s", n.name, method, path, err, b)
	}
	return resp.Header
}

// areas are the areas the node owns in the cluster.
func (st nodeStatus) areas() []string {
	var out []string
	for _, it := range st.Cluster.Owned {
		if a, ok := strings.CutPrefix(it, "area:"); ok {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// TestClusterSharesTheAnalysisByArea runs two head-ends on one etcd with
// their results in one PostgreSQL database: the six areas are shared out,
// a run on each node analyses exactly the areas it owns, the two runs
// cover every area once, and either node's API shows every area's
// balances. When one node dies, the other gains its areas and analyses
// them at once, without waiting for its next scheduled run.
func TestClusterSharesTheAnalysisByArea(t *testing.T) {
	etcd := etcdtest.Start(t)
	dsn := pgtest.Start(t, pgtest.Options{}).NewDatabase(t)
	t.Setenv("HEADEND_RESULTS_KIND", "postgres")
	t.Setenv("HEADEND_RESULTS_DSN", dsn)
	sim := clusterField(t)
	var all []string
	for _, a := range sim.Fleet.Areas() {
		all = append(all, a.ID)
	}
	seed := seedReads(t)
	a := startClusterNodeWith(t, "node-a", etcd.Endpoint, sim, true, seed)
	b := startClusterNodeWith(t, "node-b", etcd.Endpoint, sim, false, seed)

	// the assignment's share of each node: once each owns exactly it, no
	// area is waiting to be handed on
	var items []string
	for _, id := range all {
		items = append(items, cluster.AreaItem(id))
	}
	want := map[string][]string{}
	for it, n := range cluster.Assign([]cluster.Member{{Name: "node-a"}, {Name: "node-b"}}, items) {
		want[n] = append(want[n], strings.TrimPrefix(it, "area:"))
	}
	slices.Sort(want["node-a"])
	slices.Sort(want["node-b"])
	if len(want["node-a"]) == 0 || len(want["node-b"]) == 0 {
		t.Fatalf("the assignment gives a node no area: %v", want)
	}
	var sa, sb nodeStatus
	eventually(t, 20*time.Second, "areas shared out", func() (bool, string) {
		sa, sb = a.status(), b.status()
		oa, ob := sa.areas(), sb.areas()
		return slices.Equal(oa, want["node-a"]) && slices.Equal(ob, want["node-b"]),
			fmt.Sprintf("a owns %v, b owns %v; the assignment: %v", oa, ob, want)
	})
	// a run on each: each analyses its own areas, together all, once
	var ra, rb analysis.Summary
	a.do("POST", "/api/v1/analysis/run", &ra)
	b.do("POST", "/api/v1/analysis/run", &rb)
	t.Logf("a analysed %v (%d balances, took %s), b %v (%d balances, took %s)", ra.Areas, ra.Balances, ra.Took, rb.Areas, rb.Balances, rb.Took)
	if !slices.Equal(ra.Areas, sa.areas()) || !slices.Equal(rb.Areas, sb.areas()) {
		t.Errorf("a owns %v, analysed %v; b owns %v, analysed %v", sa.areas(), ra.Areas, sb.areas(), rb.Areas)
	}
	for _, x := range ra.Areas {
		if slices.Contains(rb.Areas, x) {
			t.Errorf("area %s analysed by both nodes", x)
		}
	}
	if ra.Balances == 0 || rb.Balances == 0 || ra.Balances+rb.Balances != 4*len(all) {
		t.Errorf("balances: a %d, b %d; want %d in all", ra.Balances, rb.Balances, 4*len(all))
	}
	// every area's balances through either node
	for _, n := range []*clusterNode{a, b} {
		for _, id := range all {
			var l struct {
				Days []struct {
					Date    string `json:"date"`
					Version int    `json:"version"`
				} `json:"days"`
			}
			n.get("/api/v1/areas/"+id+"/loss?from=2025-04-27&to=2025-04-30", &l)
			if len(l.Days) != 4 {
				t.Errorf("%s: area %s's balances: %+v", n.name, id, l.Days)
			}
		}
	}

	// a dies: once its lease lapses b owns all the areas, and analyses them
	// at once (its own schedule's next run is hours of the clock away)
	a.stop()
	var last analysis.Summary
	took := eventually(t, clusterTTL+10*time.Second, "b analyses every area", func() (bool, string) {
		b.get("/api/v1/analysis", &last)
		return slices.Equal(last.Areas, all), fmt.Sprintf("b's last run: %+v", last)
	})
	t.Logf("b analysed a's areas %v after a died: %v (ttl %v); %d balances", sa.areas(), took, clusterTTL, last.Balances)
	if last.Balances != 4*len(all) {
		t.Errorf("b's run of every area: %+v", last)
	}
	if !strings.Contains(b.logs.String(), `msg="cluster: areas gained: analysing them"`) {
		t.Errorf("b's log has no areas gained line")
	}
}
