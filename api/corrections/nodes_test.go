package corrections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/api/auth"
	"github.com/headend/headend/api/corrections"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/internal/pgtest"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/postgres"
	"github.com/headend/headend/store/results"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// gate holds a node's clock, when armed, until released: it stops a
// decision between reading the correction and storing the decision.
type gate struct {
	mu      sync.Mutex
	armed   bool
	reached chan struct{}
	release chan struct{}
}

func (g *gate) now() time.Time {
	g.mu.Lock()
	armed := g.armed
	g.armed = false
	g.mu.Unlock()
	if armed {
		close(g.reached)
		<-g.release
	}
	return day.Add(36 * time.Hour)
}

// pgNodes is the corrections API of two nodes, each its own Service and
// its own store on one PostgreSQL database.
func pgNodes(t *testing.T) (nodes [2]*fixture, gates [2]*gate, res store.Results) {
	t.Helper()
	dsn := pgtest.Shared(t).NewDatabase(t)
	ctx := context.Background()
	toks, err := auth.New([]auth.TokenSpec{
		{Name: "Li", Roles: []string{"analyst"}, Token: "li-token-0123456789abcdef"},
		{Name: "Wang", Roles: []string{"approver"}, Token: "wang-token-0123456789abcdef"},
		{Name: "Zhao", Roles: []string{"analyst", "approver"}, Token: "zhao-token-0123456789abcdef"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	arch := &archive.Archive{Meters: []archive.Meter{{Address: meterID, Area: "D01", Edition: "2007", CT: 1, PT: 1}}}
	for i := range nodes {
		s, err := postgres.Open(ctx, dsn, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if i == 0 {
			res = s
			v := vee.Value{Key: vee.Key{Meter: meterID, Class: meter.Daily, Quantity: quantity, Time: day}, Unit: "kWh",
				Value: dlt645.Decimal{Units: 247581, Scale: 2}, Quality: vee.Valid}
			body, _ := json.Marshal(v)
			if _, err := s.Put(ctx, []store.Record{{Kind: results.KindValue, Key: results.ValueKey(meterID, meter.Daily, quantity, day),
				Area: "D01", Meter: meterID, Time: day, Body: body}}); err != nil {
				t.Fatal(err)
			}
		}
		gates[i] = &gate{}
		svc := &corrections.Service{Results: s, Archive: arch.Index, Location: cst, Now: gates[i].now}
		mux := http.NewServeMux()
		svc.Register(mux, toks)
		nodes[i] = &fixture{srv: httptest.NewServer(mux)}
		t.Cleanup(nodes[i].srv.Close)
	}
	return nodes, gates, res
}

// Two nodes proposing at once hand out distinct numbers: each proposal is
// version 1 of its own correction, none a revision of another's.
func TestNodesNumberApart(t *testing.T) {
	nodes, _, res := pgNodes(t)
	const each = 6
	nos := make(chan int64, 2*each)
	var wg sync.WaitGroup
	for i := range 2 * each {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c results.Correction
			json.Unmarshal([]byte(nodes[i%2].do(t, "POST", "/api/v1/corrections", "li-token-0123456789abcdef", edit, 201)), &c)
			nos <- c.No
		}()
	}
	wg.Wait()
	close(nos)
	var got []int
	for no := range nos {
		got = append(got, int(no))
	}
	sort.Ints(got)
	for i, no := range got {
		if no != i+1 {
			t.Fatalf("numbers handed out: %v, want 1 to %d once each", got, 2*each)
		}
	}
	for no := int64(1); no <= 2*each; no++ {
		if h, err := res.History(context.Background(), results.KindCorrection, results.CorrectionKey(no)); err != nil || len(h) != 1 {
			t.Errorf("correction %d: %d versions (%v), want 1", no, len(h), err)
		}
	}
}

// A decision on node A that read the correction before node B approved it
// is refused with 409, and the record keeps B's approval alone.
func TestNodesDecideOnce(t *testing.T) {
	nodes, gates, res := pgNodes(t)
	nodes[0].do(t, "POST", "/api/v1/corrections", "li-token-0123456789abcdef", edit, 201)
	g := gates[0]
	g.reached, g.release = make(chan struct{}), make(chan struct{})
	g.mu.Lock()
	g.armed = true
	g.mu.Unlock()
	done := make(chan string)
	go func() {
		req, _ := http.NewRequest("POST", nodes[0].srv.URL+"/api/v1/corrections/1/reject", nil)
		req.Header.Set("Authorization", "Bearer zhao-token-0123456789abcdef")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- err.Error()
			return
		}
		resp.Body.Close()
		done <- fmt.Sprint(resp.StatusCode)
	}()
	<-g.reached // A has read correction 1 as proposed
	nodes[1].do(t, "POST", "/api/v1/corrections/1/approve", "wang-token-0123456789abcdef", "", 200)
	close(g.release)
	if got := <-done; got != "409" {
		t.Errorf("the late rejection on node A: %s, want 409", got)
	}
	h, err := res.History(context.Background(), results.KindCorrection, results.CorrectionKey(1))
	if err != nil || len(h) != 2 {
		t.Fatalf("history: %d versions (%v), want the proposal and one decision", len(h), err)
	}
	var c results.Correction
	json.Unmarshal(h[1].Body, &c)
	if c.Status != results.Approved || c.DecidedBy != "Wang" {
		t.Errorf("decision kept: %s by %s, want approved by Wang", c.Status, c.DecidedBy)
	}
}
