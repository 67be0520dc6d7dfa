package failover

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// The billing part of the cluster run: the nodes read every meter's
// daily freeze once, analyse their areas into one PostgreSQL results
// database, and the owner of the publish item pushes the change feed to
// an MQTT broker, where feedSub counts every seq.

// publishBatch is the publisher's batch (api/publish's default): what a
// publisher killed mid-feed may have sent that its taker sends again.
const publishBatch = 500

// dailyAt is when the daily freezes are read, in simulated time: in the
// first slot, which the slot counts leave out (dailySlot).
const dailyAt = "00:01"

// dailySlot is the slot the daily freezes are read in.
func (f *field) dailySlot() time.Time {
	c := f.sim.Clock.SimStart
	d := time.Date(c.Year(), c.Month(), c.Day(), 0, 1, 0, 0, c.Location())
	return f.slotOf(d)
}

// billingSection is the nodes' results, publish and analysis sections.
func (r *clusterRun) billingSection() string {
	if r.results == "" {
		return ""
	}
	return fmt.Sprintf(`results: {kind: postgres, dsn: %q}
publish: {broker: %q, every: 10s}
analysis: {every: 2m}
`, r.results, r.broker)
}

// feedSub counts the billing messages the broker delivers, by seq.
type feedSub struct {
	mu sync.Mutex
	n  map[int64]int
}

func subscribeFeed(t testing.TB, broker string) *feedSub {
	t.Helper()
	s := &feedSub{n: map[int64]int{}}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("failover-billing").SetCleanSession(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("billing subscriber: connect %s: %v", broker, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe("headend/billing/#", 1, func(_ paho.Client, m paho.Message) {
		var ch struct{ Seq int64 }
		if json.Unmarshal(m.Payload(), &ch) != nil || ch.Seq == 0 {
			return
		}
		s.mu.Lock()
		s.n[ch.Seq]++
		s.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("billing subscriber: subscribe: %v", tok.Error())
	}
	return s
}

func (s *feedSub) counts() map[int64]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int64]int, len(s.n))
	for k, v := range s.n {
		out[k] = v
	}
	return out
}

// change is what the run reads of a billing change.
type change struct {
	Seq      int64  `json:"seq"`
	Change   string `json:"change"`
	Meter    string `json:"meter"`
	Area     string `json:"area"`
	Class    string `json:"class"`
	Quantity string `json:"quantity"`
	Time     string `json:"time"`
}

// pullFeed reads billing's whole change feed from a node's API.
func pullFeed(t testing.TB, base string) []change {
	t.Helper()
	var all []change
	cursor := int64(0)
	for {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/billing/changes?cursor=%d&limit=10000", base, cursor), nil)
		req.Header.Set("Authorization", "Bearer "+tokAdmin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("billing feed: %v", err)
		}
		var page struct {
			Next    int64    `json:"next_cursor"`
			More    bool     `json:"more"`
			Changes []change `json:"changes"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("billing feed at cursor %d: %s %v", cursor, resp.Status, err)
		}
		all = append(all, page.Changes...)
		if !page.More {
			return all
		}
		cursor = page.Next
	}
}

// feedCount is what the run found of billing's feed.
type feedCount struct {
	meters, values int // meters whose daily freeze was answered; daily values in the feed
	keys, twice    int // value keys in the feed; keys with more than one change
	missing        int // meters answered with no value
	published      int // seqs of the feed the subscriber received
	unpublished    int // seqs never received
	repeats        int // seqs received more than once
	rereads        int // meters whose daily freeze was answered more than once
	examples       []string
	waited         time.Duration
}

func (c feedCount) String() string {
	return fmt.Sprintf("%d meters' freezes answered (%d more than once), %d daily values (%d keys, %d changed more than once, %d meters without one); %d seqs published, %d never, %d received twice",
		c.meters, c.rereads, c.values, c.keys, c.twice, c.missing, c.published, c.unpublished, c.repeats)
}

// countFeed compares the feed with the meters whose daily freezes the
// simulator answered, and the subscriber's counts with the feed.
func countFeed(answered map[string]int, feed []change, got map[int64]int) feedCount {
	c := feedCount{meters: len(answered)}
	for _, n := range answered {
		if n > 1 {
			c.rereads++
		}
	}
	note := func(format string, args ...any) {
		if len(c.examples) < 20 {
			c.examples = append(c.examples, fmt.Sprintf(format, args...))
		}
	}
	byKey := map[string]int{}
	valued := map[string]bool{}
	for _, ch := range feed {
		if ch.Class != "daily" {
			continue
		}
		c.values++
		k := ch.Meter + "|" + ch.Quantity + "|" + ch.Time
		if byKey[k]++; byKey[k] == 2 {
			c.twice++
			note("value %s: changed again (seq %d, %s)", k, ch.Seq, ch.Change)
		}
		valued[ch.Meter] = true
	}
	c.keys = len(byKey)
	for m := range answered {
		if !valued[m] {
			c.missing++
			note("meter %s: freeze answered, no daily value in the feed", m)
		}
	}
	for _, ch := range feed {
		switch n := got[ch.Seq]; {
		case n == 0:
			c.unpublished++
			note("seq %d (%s %s): never published", ch.Seq, ch.Meter, ch.Quantity)
		case n > 1:
			c.repeats++
			c.published++
		default:
			c.published++
		}
	}
	return c
}

// waitFeed waits until every meter whose freeze was answered has its
// value in the feed and the subscriber has every seq of it, or within
// passes, asking a live node's API.
func (r *clusterRun) waitFeed(f *field, sub *feedSub, within time.Duration) feedCount {
	r.t.Helper()
	start := time.Now()
	for {
		c := countFeed(f.countDaily(), pullFeed(r.t, "http://"+r.https[0]), sub.counts())
		c.waited = time.Since(start)
		if (c.values > 0 && c.missing == 0 && c.unpublished == 0) || time.Since(start) > within {
			return c
		}
		time.Sleep(2 * time.Second) // the analysis and the publisher are other processes: poll the feed
	}
}
