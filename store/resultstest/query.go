package resultstest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/store"
)

func keys(recs []store.Record) string {
	var k []string
	for _, r := range recs {
		k = append(k, r.Key)
	}
	return strings.Join(k, ",")
}

func testCurrent(t *testing.T, f Factory) {
	ctx := context.Background()
	s, _, _ := open(t, f)
	defer s.Close()
	m := func(r store.Record, meter string) store.Record { r.Meter = meter; return r }
	recs := []store.Record{
		m(Rec("value", "b", "D01", 2, `{}`), "m1"),
		m(Rec("value", "a", "D01", 2, `{}`), "m2"), // same time as b: by key
		m(Rec("value", "c", "D02", 1, `{}`), "m1"),
		m(Rec("value", "d", "D02", 5, `{}`), "m3"),
		Rec("loss", "D01/2", "D01", 2, `{}`),
		Rec("flag", "gone", "D01", 3, `{}`),
	}
	if _, err := s.Put(ctx, recs); err != nil {
		t.Fatal(err)
	}
	gone := Rec("flag", "gone", "D01", 3, ``)
	gone.Retracted = true
	if _, err := s.Put(ctx, []store.Record{gone}); err != nil {
		t.Fatal(err)
	}
	day := func(d int) time.Time { return time.Date(2025, 6, d, 0, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		q    store.RecordQuery
		want string
	}{
		{store.RecordQuery{}, "c,D01/2,a,b,d"}, // retracted left out; by time, then key (bytewise)
		{store.RecordQuery{Kind: "value"}, "c,a,b,d"},
		{store.RecordQuery{Kind: "flag"}, ""},
		{store.RecordQuery{Kind: "value", Area: "D02"}, "c,d"},
		{store.RecordQuery{Area: "D01"}, "D01/2,a,b"},
		{store.RecordQuery{Kind: "value", Meter: "m1"}, "c,b"},
		{store.RecordQuery{Kind: "value", From: day(2)}, "a,b,d"},
		{store.RecordQuery{Kind: "value", To: day(2)}, "c"},
		{store.RecordQuery{Kind: "value", From: day(2), To: day(5)}, "a,b"},
		{store.RecordQuery{Kind: "value", From: day(2).In(time.FixedZone("CST", 8*3600)), To: day(2).Add(time.Nanosecond)}, "a,b"},
		{store.RecordQuery{Kind: "value", Limit: 2}, "c,a"},
		{store.RecordQuery{Kind: "nothing"}, ""},
	} {
		got, err := s.Current(ctx, c.q)
		if err != nil {
			t.Errorf("%+v: %v", c.q, err)
			continue
		}
		if keys(got) != c.want {
			t.Errorf("%+v: %s, want %s", c.q, keys(got), c.want)
		}
	}
}

func testHistory(t *testing.T, f Factory) {
	ctx := context.Background()
	s, _, _ := open(t, f)
	defer s.Close()
	if h, err := s.History(ctx, "value", "none"); err != nil || len(h) != 0 {
		t.Fatalf("history of nothing: %+v %v", h, err)
	}
	var seqs []int64
	for i, body := range []string{`{"v":1}`, `{"v":2}`, "", `{"v":3}`} {
		r := Rec("value", "k", "D01", 1+i, body)
		r.Retracted = body == ""
		out, err := s.Put(ctx, []store.Record{r, Rec("value", fmt.Sprintf("other%d", i), "D01", 1, `{}`)})
		if err != nil || len(out) != 2 {
			t.Fatalf("put %d: %+v %v", i, out, err)
		}
		seqs = append(seqs, out[0].Seq)
	}
	h, err := s.History(ctx, "value", "k")
	if err != nil || len(h) != 4 {
		t.Fatalf("history: %+v %v", h, err)
	}
	for i, r := range h {
		if r.Version != i+1 || r.Seq != seqs[i] || r.Retracted != (i == 2) || r.Time.Day() != 1+i {
			t.Errorf("version %d: %+v", i+1, r)
		}
	}
	if h, _ := s.History(ctx, "loss", "k"); len(h) != 0 {
		t.Fatalf("history of another kind: %+v", h)
	}
}

func testSince(t *testing.T, f Factory) {
	ctx := context.Background()
	s, _, _ := open(t, f)
	defer s.Close()
	var all []store.Record
	kinds := []string{"value", "loss", "flag"}
	for i := range 1100 {
		out, err := s.Put(ctx, []store.Record{Rec(kinds[i%3], fmt.Sprintf("k%d", i), "D01", 1+i%28, `{}`)})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out...)
	}
	feed, err := s.Since(ctx, 0, nil, 0)
	if err != nil || len(feed) != 1000 || feed[0].Seq != all[0].Seq || feed[999].Seq != all[999].Seq {
		t.Fatalf("since 0, no limit: %d records %v", len(feed), err)
	}
	// paging with the cursor meets every version once, in order
	var paged []int64
	for cursor := int64(0); ; {
		page, err := s.Since(ctx, cursor, []string{"loss", "flag"}, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 7 {
			t.Fatalf("limit 7: %d", len(page))
		}
		for _, r := range page {
			if r.Kind == "value" {
				t.Fatalf("kinds loss, flag: %+v", r)
			}
			paged = append(paged, r.Seq)
		}
		cursor = page[len(page)-1].Seq
	}
	var want []int64
	for _, r := range all {
		if r.Kind != "value" {
			want = append(want, r.Seq)
		}
	}
	if !slices.Equal(paged, want) {
		t.Fatalf("paged %d seqs, want %d", len(paged), len(want))
	}
	if page, _ := s.Since(ctx, all[1098].Seq, nil, 0); len(page) != 1 || page[0].Key != "k1099" {
		t.Fatalf("since the last but one: %+v", page)
	}
	if page, _ := s.Since(ctx, 0, []string{"value"}, 1); len(page) != 1 || page[0].Key != "k0" {
		t.Fatalf("the first value: %+v", page)
	}
	if page, _ := s.Since(ctx, 0, []string{"nothing"}, 0); len(page) != 0 {
		t.Fatalf("an unknown kind: %+v", page)
	}
}
