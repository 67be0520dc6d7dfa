package fieldops

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/collector/link"
	"github.com/headend/headend/collector/master"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/sim/meterbus"
	"github.com/headend/headend/sim/model"
	"github.com/headend/headend/sim/scenario"
)

// busLink is a link.Link straight onto a simulated bus, for the search's
// unit tests: a request's reply is there at once, and a wait for more
// ends at once, so that hundreds of probes take no time.
type busLink struct {
	bus      *meterbus.Bus
	mu       sync.Mutex
	rd       *dlt645.Reader
	lastSeen time.Time
	sent     int
}

func (l *busLink) Send(ctx context.Context, frame []byte) error {
	reply := l.bus.Exchange(ctx, frame)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent++
	l.rd = dlt645.NewReader(bytes.NewReader(reply))
	if len(reply) > 0 {
		l.lastSeen = time.Now()
	}
	return nil
}

func (l *busLink) Receive(_ context.Context, _ time.Time) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rd == nil {
		return nil, link.ErrTimeout
	}
	if _, err := l.rd.ReadFrame(); err != nil {
		if _, ok := err.(*dlt645.FrameError); ok {
			return nil, err
		}
		return nil, link.ErrTimeout
	}
	return bytes.Clone(l.rd.Raw()), nil
}

func (l *busLink) Discard() {}
func (l *busLink) State() link.State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return link.State{Online: true, LastSeen: l.lastSeen}
}
func (l *busLink) Close() error { return nil }

// randomBus is a line of n customer meters with random 12-digit addresses (seeded),
// the first n97 of them 1997 meters, and the extra meters' addresses.
func randomBus(t *testing.T, seed uint64, n, n97 int, extra ...string) (*busLink, []string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 16))
	var addrs []string
	seen := map[string]bool{}
	for len(addrs) < n-len(extra) {
		a := fmt.Sprintf("%012d", rng.Uint64N(1_000_000_000_000))
		if !seen[a] {
			seen[a] = true
			addrs = append(addrs, a)
		}
	}
	addrs = append(addrs, extra...)
	var sb strings.Builder
	fmt.Fprintf(&sb, `name: search
seed: 5
start: 2025-05-01T00:00:00+08:00
speed: 1
areas:
  - id: R
    name: R
    feeder: F1
    voltage_level: 10kV/0.4kV
    ct_ratio: 10
    tech_loss_pct: 4
    address_prefix: "000099"
    customers: {residential: %d}
    concentrator: {id: CR, access: {kind: serial}}
    meters:
`, n)
	for i, a := range addrs {
		ed := ""
		if i < n97 {
			ed = ", edition: 1997"
		}
		fmt.Fprintf(&sb, "      - {index: %d, address: %q%s}\n", i+1, a, ed)
	}
	sc, err := scenario.Parse("search.yaml", []byte(sb.String()))
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := model.New(sc.Config)
	if err != nil {
		t.Fatal(err)
	}
	fleet.AdvanceTo(fleet.Start().Add(time.Hour))
	// the customers alone: the area meter's address is not random
	bus, err := meterbus.New(fleet, fleet.Areas()[0].Customers, meterbus.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(addrs)
	return &busLink{bus: bus}, addrs
}

func searchBus(t *testing.T, l *busLink, rq ScanRequest) (*ScanResult, []ScanProgress) {
	t.Helper()
	var steps []ScanProgress
	rq.Progress = func(p ScanProgress) { steps = append(steps, p) }
	d := &Direct{Master: &master.Master{Link: l, Timeout: time.Millisecond}, Options: Options{Retries: -1}}
	res, err := d.Scan(t.Context(), "", rq, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != l.sent {
		t.Errorf("result says %d requests, the bus got %d", res.Requests, l.sent)
	}
	return res, steps
}

func foundAddrs(res *ScanResult) []string {
	var got []string
	for _, f := range res.Found {
		got = append(got, f.Address)
	}
	slices.Sort(got)
	return got
}

// Issue 16.7: 20 meters with random 12-digit addresses on one bus are all
// found by the wildcard search, narrowing where replies collide.
func TestWildcardSearchFindsTwentyRandomMeters(t *testing.T) {
	l, want := randomBus(t, 7, 20, 0)
	res, steps := searchBus(t, l, ScanRequest{Edition: "2007"})
	if got := foundAddrs(res); !slices.Equal(got, want) {
		t.Fatalf("found %v\nwant  %v", got, want)
	}
	for _, f := range res.Found {
		if f.How != "wildcard" || f.Note != "" || f.Edition != dlt645.DLT2007 {
			t.Errorf("found %+v", f)
		}
	}
	// AAAAAAAAAAAA collides, the 100 patterns AAAAAAAAAAxx follow, 100
	// more under each low byte two meters share; one confirmation each
	shared := map[string]int{}
	for _, a := range want {
		shared[a[10:]]++
	}
	narrowed := 0
	for _, n := range shared {
		if n > 1 {
			narrowed++
		}
	}
	if wantReq := 1 + 100 + 100*narrowed + 20; res.Requests != wantReq {
		t.Errorf("%d requests, want %d (%d low bytes shared)", res.Requests, wantReq, narrowed)
	}
	t.Logf("20 random meters found in %d requests (%d probes), %d collisions narrowed", res.Requests, res.Probed, narrowed)
	last := steps[len(steps)-1]
	if last.Found != 20 || last.Total != 0 || last.Done != res.Probed || steps[0].Probing != "AAAAAAAAAAAA" {
		t.Errorf("progress: first %+v, last %+v", steps[0], last)
	}
}

// A bus of one meter is found in two requests (the probe and its
// confirmation), a 1997 search that nobody answers in one more.
func TestWildcardSearchOneMeter(t *testing.T) {
	l, want := randomBus(t, 11, 1, 0)
	res, _ := searchBus(t, l, ScanRequest{})
	if got := foundAddrs(res); !slices.Equal(got, want) || res.Requests != 3 {
		t.Errorf("found %v in %d requests, want %v in 3", got, res.Requests, want)
	}
}

// Meters sharing their two low bytes collide twice: the search narrows
// two bytes deep. 1997 meters are searched in their own edition.
func TestWildcardSearchNarrowsDeeper(t *testing.T) {
	l, want := randomBus(t, 3, 5, 1, "123456781234", "000000001234")
	res, _ := searchBus(t, l, ScanRequest{})
	if got := foundAddrs(res); !slices.Equal(got, want) {
		t.Fatalf("found %v, want %v", got, want)
	}
	var eds []string
	for _, f := range res.Found {
		eds = append(eds, f.Edition.String())
	}
	if n := strings.Count(strings.Join(eds, " "), "1997"); n != 1 {
		t.Errorf("editions %v", eds)
	}
	t.Logf("found %d in %d requests", len(res.Found), res.Requests)
}
