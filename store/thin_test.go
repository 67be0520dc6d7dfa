package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/headend/headend/collector/read"
)

func TestThin(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 5, 0, 0, time.UTC)
	tx := func(meter string, req byte, statuses ...read.Status) []read.Read {
		var out []read.Read
		for i, st := range statuses {
			out = append(out, read.Read{Meter: meter, Quantity: fmt.Sprintf("%d%d", req, i), Status: st, ReadAt: at,
				Frame: read.FrameRef{Request: []byte{0x68, req}}})
		}
		return out
	}
	var in []read.Read
	in = append(in, tx("A", 1, read.OK, read.NoData, read.OK, read.NoData)...) // mixed: the NoData go
	in = append(in, tx("A", 2, read.NoData, read.NoData, read.NoData)...)      // all NoData: the first stays
	in = append(in, tx("B", 2, read.NoData)...)                                // another meter, same bytes
	in = append(in, read.Read{Meter: "B", Quantity: "x", Status: read.NoData}) // no frame: kept
	in = append(in, tx("B", 3, read.Failed, read.NoData)...)                   // a failure is kept
	orig := append([]read.Read(nil), in...)
	got := Thin(in)
	var keys []string
	for _, r := range got {
		keys = append(keys, r.Meter+":"+r.Quantity)
	}
	want := "[A:10 A:12 A:20 B:20 B:x B:30]"
	if fmt.Sprint(keys) != want {
		t.Fatalf("kept %v, want %s", keys, want)
	}
	for i := range in {
		if in[i].Quantity != orig[i].Quantity {
			t.Fatalf("Thin changed its input at %d", i)
		}
	}
	ok := tx("C", 4, read.OK, read.OK)
	if got := Thin(ok); &got[0] != &ok[0] || len(got) != 2 {
		t.Fatal("Thin of reads without NoData is not the reads themselves")
	}
}
