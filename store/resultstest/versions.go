package resultstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/headend/headend/store"
)

// Rec is a record of kind and key about area, timed at 00:00 UTC of the
// day of June 2025.
func Rec(kind, key, area string, day int, body string) store.Record {
	return store.Record{Kind: kind, Key: key, Area: area, Time: time.Date(2025, 6, day, 0, 0, 0, 0, time.UTC), Body: json.RawMessage(body)}
}

func testVersionsAndFeed(t *testing.T, f Factory) {
	ctx := context.Background()
	s, reopen, clock := open(t, f)
	out, err := s.Put(ctx, []store.Record{Rec("loss", "D01/1", "D01", 1, `{"rate":"4.1"}`), Rec("loss", "D02/1", "D02", 1, `{"rate":"5"}`)})
	if err != nil || len(out) != 2 || out[0].Version != 1 || out[1].Version != 1 || out[0].Seq <= 0 || out[1].Seq <= out[0].Seq {
		s.Close()
		t.Fatalf("first put: %+v %v", out, err)
	}
	first := out[0].Seq
	// the same body again: nothing new
	if out, err = s.Put(ctx, []store.Record{Rec("loss", "D01/1", "D01", 1, `{"rate":"4.1"}`)}); err != nil || len(out) != 0 {
		s.Close()
		t.Fatalf("unchanged put stored %+v %v", out, err)
	}
	// a revision
	out, err = s.Put(ctx, []store.Record{Rec("loss", "D01/1", "D01", 1, `{"rate":"4.3"}`)})
	if err != nil || len(out) != 1 || out[0].Version != 2 {
		s.Close()
		t.Fatalf("revision: %+v %v", out, err)
	}
	last := out[0].Seq
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// after a restart, the feed and the versions are there
	s = reopen(t, clock.Now)
	defer s.Close()
	feed, err := s.Since(ctx, first, nil, 0)
	if err != nil || len(feed) != 2 || feed[0].Key != "D02/1" || feed[1].Key != "D01/1" || feed[1].Version != 2 || feed[1].Seq != last {
		t.Fatalf("since %d: %+v %v", first, feed, err)
	}
	if feed, _ = s.Since(ctx, last, nil, 0); len(feed) != 0 {
		t.Fatalf("since the last: %+v", feed)
	}
	if feed, _ = s.Since(ctx, 0, []string{"flag"}, 0); len(feed) != 0 {
		t.Fatalf("since 0 of flags: %+v", feed)
	}
	h, err := s.History(ctx, "loss", "D01/1")
	if err != nil || len(h) != 2 || string(h[0].Body) != `{"rate":"4.1"}` || string(h[1].Body) != `{"rate":"4.3"}` {
		t.Fatalf("history: %+v %v", h, err)
	}
	cur, err := s.Current(ctx, store.RecordQuery{Kind: "loss", Area: "D01"})
	if err != nil || len(cur) != 1 || string(cur[0].Body) != `{"rate":"4.3"}` || cur[0].Version != 2 || cur[0].Seq != last {
		t.Fatalf("current: %+v %v", cur, err)
	}
	// a put after the restart continues the feed
	out, err = s.Put(ctx, []store.Record{Rec("loss", "D03/1", "D03", 1, `{}`)})
	if err != nil || len(out) != 1 || out[0].Seq <= last {
		t.Fatalf("put after restart: %+v %v (last seq before %d)", out, err, last)
	}
}

func testRoundTrip(t *testing.T, f Factory) {
	ctx := context.Background()
	at := time.Date(2025, 6, 3, 14, 15, 16, 123456789, time.FixedZone("CST", 8*3600))
	stored := time.Date(2026, 2, 3, 4, 5, 6, 987654321, time.UTC)
	o := f(t)
	s2 := o(t, func() time.Time { return stored })
	defer s2.Close()
	s := o(t, NewClock().Now) // another store on the database reads it back
	defer s.Close()
	body := json.RawMessage(`{ "b": [1, 2.50],  "a":"电表" }`) // spacing and order kept
	in := store.Record{Kind: "value", Key: "m1|energy|2025-06-03", Area: "D01", Meter: "000000000001", Time: at, Body: body}
	out, err := s2.Put(ctx, []store.Record{in})
	if err != nil || len(out) != 1 {
		t.Fatalf("put: %+v %v", out, err)
	}
	check := func(what string, r store.Record) {
		t.Helper()
		if r.Kind != in.Kind || r.Key != in.Key || r.Area != in.Area || r.Meter != in.Meter || !r.Time.Equal(at) ||
			!bytes.Equal(r.Body, body) || r.Retracted || r.Version != 1 || r.Seq != out[0].Seq || !r.Stored.Equal(stored) {
			t.Errorf("%s: %+v (body %s), put %+v", what, r, r.Body, in)
		}
	}
	check("put", out[0])
	if cur, err := s.Current(ctx, store.RecordQuery{}); err != nil || len(cur) != 1 {
		t.Fatalf("current: %+v %v", cur, err)
	} else {
		check("current", cur[0])
	}
	if h, err := s.History(ctx, in.Kind, in.Key); err != nil || len(h) != 1 {
		t.Fatalf("history: %+v %v", h, err)
	} else {
		check("history", h[0])
	}
	if feed, err := s.Since(ctx, 0, nil, 0); err != nil || len(feed) != 1 {
		t.Fatalf("since: %+v %v", feed, err)
	} else {
		check("since", feed[0])
	}
}

func testSyncRetracts(t *testing.T, f Factory) {
	ctx := context.Background()
	s, _, _ := open(t, f)
	defer s.Close()
	a, b, c := Rec("flag", "stopped/1", "D01", 2, `{}`), Rec("flag", "theft/2", "D01", 3, `{}`), Rec("flag", "stopped/3", "D02", 3, `{}`)
	other := Rec("flag", "stopped/9", "D01", 20, `{}`) // outside the span
	if _, err := s.Put(ctx, []store.Record{other}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sync(ctx, "flag", "", a.Time, a.Time.AddDate(0, 0, 5), []store.Record{a, b, c}); err != nil {
		t.Fatal(err)
	}
	// D01 recomputed: only a holds; D02 is outside the area scope
	out, err := s.Sync(ctx, "flag", "D01", a.Time, a.Time.AddDate(0, 0, 5), []store.Record{a})
	if err != nil || len(out) != 1 || out[0].Key != "theft/2" || !out[0].Retracted || out[0].Version != 2 || out[0].Area != "D01" || !out[0].Time.Equal(b.Time) {
		t.Fatalf("sync: %+v %v", out, err)
	}
	cur, _ := s.Current(ctx, store.RecordQuery{Kind: "flag"})
	if len(cur) != 3 || cur[0].Key != "stopped/1" || cur[1].Key != "stopped/3" || cur[2].Key != "stopped/9" {
		t.Fatalf("current after sync: %+v", cur)
	}
	// the same again: the retraction is not repeated
	if out, err = s.Sync(ctx, "flag", "D01", a.Time, a.Time.AddDate(0, 0, 5), []store.Record{a}); err != nil || len(out) != 0 {
		t.Fatalf("second sync: %+v %v", out, err)
	}
	// a retraction of what is not there, or is retracted, stores nothing
	gone := Rec("flag", "never", "D01", 2, ``)
	gone.Retracted = true
	again := b
	again.Retracted, again.Body = true, nil
	if out, err = s.Put(ctx, []store.Record{gone, again}); err != nil || len(out) != 0 {
		t.Fatalf("retracting the retracted: %+v %v", out, err)
	}
	// raised again: a third version
	out, _ = s.Sync(ctx, "flag", "D01", a.Time, a.Time.AddDate(0, 0, 5), []store.Record{a, b})
	if len(out) != 1 || out[0].Version != 3 || out[0].Retracted {
		t.Fatalf("re-raise: %+v", out)
	}
	if h, _ := s.History(ctx, "flag", "theft/2"); len(h) != 3 || h[0].Retracted || !h[1].Retracted || h[2].Retracted {
		t.Fatalf("history of theft/2: %+v", h)
	}
	// an empty sync of a span retracts all of it
	if out, err = s.Sync(ctx, "flag", "", a.Time, a.Time.AddDate(0, 0, 5), nil); err != nil || len(out) != 3 {
		t.Fatalf("empty sync: %+v %v", out, err)
	}
	if cur, _ = s.Current(ctx, store.RecordQuery{Kind: "flag"}); len(cur) != 1 || cur[0].Key != "stopped/9" {
		t.Fatalf("current after the empty sync: %+v", cur)
	}
	if _, err := s.Sync(ctx, "flag", "", a.Time, a.Time, []store.Record{Rec("loss", "x", "", 1, `{}`)}); err == nil {
		t.Fatal("sync took a record of another kind")
	}
}

func testBadRecords(t *testing.T, f Factory) {
	ctx := context.Background()
	s, _, _ := open(t, f)
	defer s.Close()
	for _, r := range []store.Record{{Key: "k", Body: []byte("{}")}, {Kind: "k", Body: []byte("{}")}, {Kind: "k", Key: "k"}} {
		if _, err := s.Put(ctx, []store.Record{Rec("loss", "ok", "", 1, `{}`), r}); err == nil {
			t.Errorf("put %+v: no error", r)
		}
	}
	if cur, _ := s.Current(ctx, store.RecordQuery{}); len(cur) != 0 {
		t.Fatalf("a refused batch stored %d records", len(cur))
	}
	if feed, _ := s.Since(ctx, 0, nil, 0); len(feed) != 0 {
		t.Fatalf("a refused batch is in the feed: %+v", feed)
	}
}

// Batches past a backend's single-lookup size: seqs follow the batch,
// unchanged records stay, changed ones and one whose time moved get a
// version.
func testLargeBatches(t *testing.T, f Factory) {
	ctx := context.Background()
	s, _, _ := open(t, f)
	defer s.Close()
	var recs []store.Record
	for i := range 1200 {
		recs = append(recs, Rec("value", fmt.Sprintf("m%04d", i), "D01", 1+i%28, fmt.Sprintf(`{"v":%d}`, i)))
	}
	out, err := s.Put(ctx, recs)
	if err != nil || len(out) != len(recs) {
		t.Fatalf("put: %d %v", len(out), err)
	}
	feed, _ := s.Since(ctx, 0, nil, 2000)
	if len(feed) != len(recs) {
		t.Fatalf("feed holds %d, put %d", len(feed), len(recs))
	}
	for i, r := range feed {
		if r.Key != out[i].Key || out[i].Seq != r.Seq || (i > 0 && r.Seq <= feed[i-1].Seq) {
			t.Fatalf("feed[%d] = %s seq %d, put said %s seq %d", i, r.Key, r.Seq, out[i].Key, out[i].Seq)
		}
	}
	if out, _ = s.Put(ctx, recs); len(out) != 0 {
		t.Fatalf("unchanged batch stored %d", len(out))
	}
	for i := 0; i < len(recs); i += 2 {
		recs[i].Body = json.RawMessage(fmt.Sprintf(`{"v":%d,"edited":true}`, i))
	}
	recs[1].Time = recs[1].Time.AddDate(1, 0, 0) // outside the batch's old span
	recs[1].Body = json.RawMessage(`{"v":"moved"}`)
	out, err = s.Put(ctx, recs)
	if err != nil || len(out) != len(recs)/2+1 {
		t.Fatalf("second put: %d %v", len(out), err)
	}
	for _, r := range out {
		if r.Version != 2 {
			t.Fatalf("%s: version %d", r.Key, r.Version)
		}
	}
	if h, _ := s.History(ctx, "value", "m0001"); len(h) != 2 || !h[1].Time.Equal(recs[1].Time) {
		t.Fatalf("m0001 history: %+v", h)
	}
	if cur, _ := s.Current(ctx, store.RecordQuery{Kind: "value"}); len(cur) != len(recs) {
		t.Fatalf("current: %d records, want %d", len(cur), len(recs))
	}
}

func testSameKeyTwice(t *testing.T, f Factory) {
	ctx := context.Background()
	s, _, _ := open(t, f)
	defer s.Close()
	out, err := s.Put(ctx, []store.Record{Rec("loss", "D01/1", "D01", 1, `{"rate":"1"}`), Rec("loss", "D01/1", "D01", 1, `{"rate":"2"}`),
		Rec("loss", "D01/1", "D01", 1, `{"rate":"2"}`)})
	if err != nil || len(out) != 2 || out[0].Version != 1 || out[1].Version != 2 || out[1].Seq <= out[0].Seq {
		t.Fatalf("put: %+v %v", out, err)
	}
	cur, err := s.Current(ctx, store.RecordQuery{})
	if err != nil || len(cur) != 1 || string(cur[0].Body) != `{"rate":"2"}` || cur[0].Version != 2 {
		t.Fatalf("current: %+v %v", cur, err)
	}
}
