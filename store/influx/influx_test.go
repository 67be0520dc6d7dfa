package influx

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
)

// tricky are reads whose tags and strings need every escape line protocol
// and Flux have.
func tricky(at time.Time) []meter.Read {
	base := oddRead()
	base.MeterTime, base.ReadAt = at, at.Add(7*time.Second)
	base.Text = "he said \"hi\" \\ bye\n\t 电能表"
	var rs []meter.Read
	for i, s := range []string{`a b,c=d`, `back\slash\`, `"quoted"`, `${x} 电能表`, `trailing\`} {
		r := base
		r.Meter, r.Area, r.Quantity = fmt.Sprintf("m%d %s", i, s), "area "+s, "q "+s
		r.Channel, r.Err, r.Unit = s, s, s
		rs = append(rs, r)
	}
	return rs
}

// Tags and strings with spaces, commas, quotes, backslashes, "${" and
// non-ASCII text come back as written, and select by their own values.
func TestTrickyStrings(t *testing.T) {
	st, _ := newDB(t, store.Retention{})
	ctx := context.Background()
	rs := tricky(time.Now().Add(-time.Hour).Truncate(time.Second))
	if err := st.Write(ctx, rs); err != nil {
		t.Fatal(err)
	}
	got, err := st.Query(ctx, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	expectSameReads(t, got, sortReads(rs))
	for _, r := range rs {
		got, err := st.Query(ctx, store.Query{Meters: []string{r.Meter}, Area: r.Area, Class: r.Class, Quantity: r.Quantity})
		if err != nil {
			t.Fatal(err)
		}
		expectSameReads(t, got, []meter.Read{r})
	}
}

// A key written twice in one Write, in different batches (which travel at
// once), ends as the later read; in different Writes, as the last.
func TestRewriteAcrossBatches(t *testing.T) {
	st, b := newDB(t, store.Retention{})
	st2, err := Open(context.Background(), Options{URL: srv.url, Buckets: b, BatchSize: 2, MaxInFlight: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	rs := make([]meter.Read, 7)
	for i := range rs {
		rs[i] = meter.Read{Meter: fmt.Sprintf("%012d", i%5), Class: meter.Interval, Quantity: "q", ReadAt: at,
			Value: dlt645.Decimal{Units: int64(i)}, Status: meter.OK}
	}
	if err := st2.Write(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	got, err := st.Query(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	expectSameReads(t, got, sortReads(rs[2:])) // meters 0 and 1: reads 5 and 6
	if n := count(t, st, b.Raw); n != 5 {
		t.Fatalf("%d points, want 5", n)
	}
}

// A batch holding points older than the bucket's retention policy is
// stored but for them: the server's refusal of them is not an error. Any
// other refusal is, naming the URL, the bucket, the batch and the reason.
func TestRefusals(t *testing.T) {
	st, b := newDB(t, store.Retention{Raw: 2 * time.Hour})
	// Write sends them: Options.Retention is left out, so the server decides.
	st2, err := Open(context.Background(), Options{URL: srv.url, Buckets: b})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	now := time.Now().Truncate(time.Second)
	old := meter.Read{Meter: "1", Class: meter.Interval, Quantity: "q", ReadAt: now.Add(-3 * time.Hour), Status: meter.OK}
	fresh := old
	fresh.ReadAt = now.Add(-time.Hour)
	if err := st2.Write(context.Background(), []meter.Read{old, fresh}); err != nil {
		t.Fatalf("a batch with points past retention: %v", err)
	}
	got, err := st.Query(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	expectSameReads(t, got, []meter.Read{fresh})

	// A field of another type than the bucket holds is refused.
	conflict := fmt.Sprintf("reads,meter=1,class=interval,quantity=q units=1.5 %d\n", fresh.ReadAt.Add(time.Second).UnixNano())
	if err := st2.writeLines(context.Background(), b.Raw, 1, func(buf []byte, _ int) []byte { return append(buf, conflict...) }); err == nil ||
		!strings.Contains(err.Error(), "field type conflict") || !strings.Contains(err.Error(), b.Raw) || !strings.Contains(err.Error(), srv.url) {
		t.Fatalf("type conflict: %v", err)
	}
	// A database that does not exist.
	st3, err := Open(context.Background(), Options{URL: srv.url, Buckets: Buckets{Raw: "nosuchdb/raw"}})
	if err != nil {
		t.Fatal(err)
	}
	defer st3.Close()
	err = st3.Write(context.Background(), []meter.Read{fresh})
	if err == nil || !strings.Contains(err.Error(), "nosuchdb/raw") || !strings.Contains(err.Error(), "batch of points 0..0") ||
		!strings.Contains(err.Error(), "database not found") {
		t.Fatalf("write to a missing database: %v", err)
	}
}

// With Options.Retention, Query hides reads past it at once (the server
// drops them a shard at a time, later), counted on the Store's clock.
func TestQueryHidesExpired(t *testing.T) {
	ret := store.Retention{Raw: 2 * time.Hour}
	_, b := newDB(t, ret)
	now := time.Now().Truncate(time.Second)
	clock := now
	st, err := Open(context.Background(), Options{URL: srv.url, Buckets: b, Retention: ret, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := meter.Read{Meter: "1", Class: meter.Interval, Quantity: "q", ReadAt: now.Add(-90 * time.Minute), Status: meter.OK}
	d := meter.Read{Meter: "1", Class: meter.Daily, Quantity: "q", ReadAt: now.Add(-90 * time.Minute), Status: meter.OK}
	if err := st.Write(context.Background(), []meter.Read{r, d}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at   time.Time
		want []meter.Read
	}{{now, []meter.Read{d, r}}, {now.Add(time.Hour), []meter.Read{d}}} {
		clock = c.at
		got, err := st.Query(context.Background(), store.Query{})
		if err != nil {
			t.Fatal(err)
		}
		expectSameReads(t, got, c.want)
	}
}

// Write never has more than MaxInFlight requests open, across concurrent
// Writes, and returns only once every batch is confirmed.
func TestInFlightBound(t *testing.T) {
	const limit = 2
	var mu sync.Mutex
	open, most, total := 0, 0, 0
	arrived, release := make(chan struct{}), make(chan struct{})
	h := http.NewServeMux()
	h.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"status":"pass"}`) })
	h.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h.HandleFunc("/api/v2/write", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		open++
		total++
		most = max(most, open)
		mu.Unlock()
		arrived <- struct{}{}
		<-release
		mu.Lock()
		open--
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	fake := httptest.NewServer(h)
	defer fake.Close()
	st, err := Open(context.Background(), Options{URL: fake.URL, BatchSize: 3, MaxInFlight: limit})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Now().Truncate(time.Second)
	var wg sync.WaitGroup
	const writers, reads = 3, 10 // 4 batches each
	for w := range writers {
		wg.Go(func() {
			rs := make([]meter.Read, reads)
			for i := range rs {
				rs[i] = meter.Read{Meter: fmt.Sprint(w), Class: meter.Interval, Quantity: "q", ReadAt: at.Add(time.Duration(i)), Status: meter.OK}
			}
			if err := st.Write(context.Background(), rs); err != nil {
				t.Error(err)
			}
		})
	}
	for range writers * 4 {
		<-arrived
		release <- struct{}{}
	}
	wg.Wait()
	if most > limit || total != writers*4 {
		t.Fatalf("%d requests, at most %d at once; want %d, at most %d", total, most, writers*4, limit)
	}
}

// The server's messages in both forms, 1.8's and 2.x's, reach the error;
// only retention refusals are taken as stored.
func TestServerMessages(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		want   string // "" for no error
	}{
		{400, `{"error":"partial write: points beyond retention policy dropped=2"}`, ""},
		{422, `{"code":"unprocessable entity","message":"failure writing points to database: partial write: points beyond retention policy dropped=1"}`, ""},
		{400, `{"error":"unable to parse 'x y': invalid field format"}`, "HTTP 400: unable to parse 'x y': invalid field format"},
		{401, `{"code":"unauthorized","message":"unauthorized access"}`, "HTTP 401: unauthorized access"},
		{503, `overloaded`, "HTTP 503: overloaded"},
	} {
		h := http.NewServeMux()
		h.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
		h.HandleFunc("/api/v2/write", func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Token secret" {
				t.Errorf("Authorization %q", r.Header.Get("Authorization"))
			}
			w.WriteHeader(c.status)
			fmt.Fprint(w, c.body)
		})
		fake := httptest.NewServer(h)
		st, err := Open(context.Background(), Options{URL: fake.URL, Token: "secret"})
		if err != nil {
			t.Fatal(err)
		}
		err = st.Write(context.Background(), []meter.Read{{Meter: "1", Class: meter.Daily, Quantity: "q", ReadAt: time.Now(), Status: meter.OK}})
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%d %s: %v", c.status, c.body, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), DefaultBuckets.Registers)):
			t.Errorf("%d %s: error %v, want one with %q and the bucket", c.status, c.body, err, c.want)
		case err != nil && strings.Contains(err.Error(), "secret"):
			t.Errorf("the token is in the error: %v", err)
		}
		st.Close()
		fake.Close()
	}
}

// A clock ahead of the reads (jumped forward) does not make Write drop
// them as past retention: it counts back from the newest read of the
// batch.
func TestWriteWithClockAhead(t *testing.T) {
	ret := store.Retention{Raw: 2 * time.Hour}
	_, b := newDB(t, ret)
	now := time.Now().Truncate(time.Second)
	clock := now.AddDate(1, 0, 0)
	st, err := Open(context.Background(), Options{URL: srv.url, Buckets: b, Retention: ret, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r := meter.Read{Meter: "1", Class: meter.Interval, Quantity: "q", ReadAt: now.Add(-90 * time.Minute), Status: meter.OK}
	if err := st.Write(context.Background(), []meter.Read{r}); err != nil {
		t.Fatal(err)
	}
	clock = now
	got, err := st.Query(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	expectSameReads(t, got, []meter.Read{r})
}
