package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/headend/headend/meter"
)

func TestThin(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 5, 0, 0, time.UTC)
	tx := func(meterID string, req byte, statuses ...meter.Status) []meter.Read {
		var out []meter.Read
		for i, st := range statuses {
			out = append(out, meter.Read{Meter: meterID, Quantity: fmt.Sprintf("%d%d", req, i), Status: st, ReadAt: at,
				Frame: meter.FrameRef{Request: []byte{0x68, req}}})
		}
		return out
	}
	var in []meter.Read
	in = append(in, tx("A", 1, meter.OK, meter.NoData, meter.OK, meter.NoData)...) // mixed: the NoData go
	in = append(in, tx("A", 2, meter.NoData, meter.NoData, meter.NoData)...)       // all NoData: the first stays
	in = append(in, tx("B", 2, meter.NoData)...)                                   // another meter, same bytes
	in = append(in, meter.Read{Meter: "B", Quantity: "x", Status: meter.NoData})   // no frame: kept
	in = append(in, tx("B", 3, meter.Failed, meter.NoData)...)                     // a failure is kept
	orig := append([]meter.Read(nil), in...)
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
	ok := tx("C", 4, meter.OK, meter.OK)
	if got := Thin(ok); &got[0] != &ok[0] || len(got) != 2 {
		t.Fatal("Thin of reads without NoData is not the reads themselves")
	}
}
