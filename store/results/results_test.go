package results

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/headend/headend/store"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := Open(path, Options{Now: func() time.Time { clock = clock.Add(time.Second); return clock }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rec(kind, key, area string, day int, body string) store.Record {
	return store.Record{Kind: kind, Key: key, Area: area, Time: time.Date(2025, 6, day, 0, 0, 0, 0, time.UTC), Body: json.RawMessage(body)}
}

func TestVersionsAndFeed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "results.db")
	s := open(t, path)
	out, err := s.Put(ctx, []store.Record{rec("loss", "D01/1", "D01", 1, `{"rate":"4.1"}`), rec("loss", "D02/1", "D02", 1, `{"rate":"5"}`)})
	if err != nil || len(out) != 2 || out[0].Version != 1 || out[0].Seq != 1 || out[1].Seq != 2 {
		t.Fatalf("first put: %+v %v", out, err)
	}
	// the same body again: nothing new
	if out, err = s.Put(ctx, []store.Record{rec("loss", "D01/1", "D01", 1, `{"rate":"4.1"}`)}); err != nil || len(out) != 0 {
		t.Fatalf("unchanged put stored %+v %v", out, err)
	}
	// a revision
	if out, err = s.Put(ctx, []store.Record{rec("loss", "D01/1", "D01", 1, `{"rate":"4.3"}`)}); err != nil || len(out) != 1 || out[0].Version != 2 || out[0].Seq != 3 {
		t.Fatalf("revision: %+v %v", out, err)
	}
	s.Close()
	// after a restart, the feed and the versions are there
	s = open(t, path)
	defer s.Close()
	feed, err := s.Since(ctx, 1, nil, 0)
	if err != nil || len(feed) != 2 || feed[0].Key != "D02/1" || feed[1].Key != "D01/1" || feed[1].Version != 2 {
		t.Fatalf("since 1: %+v %v", feed, err)
	}
	if feed, _ = s.Since(ctx, 3, nil, 0); len(feed) != 0 {
		t.Fatalf("since 3: %+v", feed)
	}
	if feed, _ = s.Since(ctx, 0, []string{"flag"}, 0); len(feed) != 0 {
		t.Fatalf("since 0 of flags: %+v", feed)
	}
	h, err := s.History(ctx, "loss", "D01/1")
	if err != nil || len(h) != 2 || string(h[0].Body) != `{"rate":"4.1"}` || string(h[1].Body) != `{"rate":"4.3"}` {
		t.Fatalf("history: %+v %v", h, err)
	}
	cur, err := s.Current(ctx, store.RecordQuery{Kind: "loss", Area: "D01"})
	if err != nil || len(cur) != 1 || string(cur[0].Body) != `{"rate":"4.3"}` || cur[0].Version != 2 {
		t.Fatalf("current: %+v %v", cur, err)
	}
}

func TestSyncRetracts(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "results.db"))
	defer s.Close()
	a, b, c := rec("flag", "stopped/1", "D01", 2, `{}`), rec("flag", "theft/2", "D01", 3, `{}`), rec("flag", "stopped/3", "D02", 3, `{}`)
	if _, err := s.Sync(ctx, "flag", "", a.Time, a.Time.AddDate(0, 0, 5), []store.Record{a, b, c}); err != nil {
		t.Fatal(err)
	}
	// D01 recomputed: only a holds; D02 is outside the area scope
	out, err := s.Sync(ctx, "flag", "D01", a.Time, a.Time.AddDate(0, 0, 5), []store.Record{a})
	if err != nil || len(out) != 1 || out[0].Key != "theft/2" || !out[0].Retracted || out[0].Version != 2 {
		t.Fatalf("sync: %+v %v", out, err)
	}
	cur, _ := s.Current(ctx, store.RecordQuery{Kind: "flag"})
	if len(cur) != 2 || cur[0].Key != "stopped/1" || cur[1].Key != "stopped/3" {
		t.Fatalf("current after sync: %+v", cur)
	}
	// raised again: a third version
	out, _ = s.Sync(ctx, "flag", "D01", a.Time, a.Time.AddDate(0, 0, 5), []store.Record{a, b})
	if len(out) != 1 || out[0].Version != 3 || out[0].Retracted {
		t.Fatalf("re-raise: %+v", out)
	}
	if _, err := s.Sync(ctx, "flag", "", a.Time, a.Time, []store.Record{rec("loss", "x", "", 1, `{}`)}); err == nil {
		t.Fatal("sync took a record of another kind")
	}
}

func TestBadRecords(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "results.db"))
	defer s.Close()
	for _, r := range []store.Record{{Key: "k", Body: []byte("{}")}, {Kind: "k", Body: []byte("{}")}, {Kind: "k", Key: "k"}} {
		if _, err := s.Put(context.Background(), []store.Record{rec("loss", "ok", "", 1, `{}`), r}); err == nil {
			t.Errorf("put %+v: no error", r)
		}
	}
	if cur, _ := s.Current(context.Background(), store.RecordQuery{}); len(cur) != 0 {
		t.Fatalf("a refused batch stored %d records", len(cur))
	}
	if _, err := Open("x.db?mode=memory", Options{}); err == nil {
		t.Fatal("opened a DSN")
	}
}

// Batches past the single-lookup size: seqs follow the batch, unchanged
// records stay, changed ones and one whose time moved get a version.
func TestLargeBatches(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "results.db"))
	defer s.Close()
	var recs []store.Record
	for i := range 500 {
		recs = append(recs, rec("value", fmt.Sprintf("m%03d", i), "D01", 1+i%28, fmt.Sprintf(`{"v":%d}`, i)))
	}
	out, err := s.Put(ctx, recs)
	if err != nil || len(out) != 500 {
		t.Fatalf("put: %d %v", len(out), err)
	}
	feed, _ := s.Since(ctx, 0, nil, 1000)
	for i, r := range feed {
		if r.Seq != int64(i+1) || r.Key != out[i].Key || out[i].Seq != r.Seq {
			t.Fatalf("feed[%d] = %s seq %d, put said %s seq %d", i, r.Key, r.Seq, out[i].Key, out[i].Seq)
		}
	}
	if out, _ = s.Put(ctx, recs); len(out) != 0 {
		t.Fatalf("unchanged batch stored %d", len(out))
	}
	for i := 0; i < 500; i += 2 {
		recs[i].Body = json.RawMessage(fmt.Sprintf(`{"v":%d,"edited":true}`, i))
	}
	recs[1].Time = recs[1].Time.AddDate(1, 0, 0) // outside the batch's old span
	recs[1].Body = json.RawMessage(`{"v":"moved"}`)
	out, err = s.Put(ctx, recs)
	if err != nil || len(out) != 251 {
		t.Fatalf("second put: %d %v", len(out), err)
	}
	for _, r := range out {
		if r.Version != 2 {
			t.Fatalf("%s: version %d", r.Key, r.Version)
		}
	}
	if h, _ := s.History(ctx, "value", "m001"); len(h) != 2 {
		t.Fatalf("m001 history: %d versions", len(h))
	}
}
