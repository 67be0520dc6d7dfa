package influx

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// sortReads returns rs in Query's order.
func sortReads(rs []meter.Read) []meter.Read {
	rs = slices.Clone(rs)
	slices.SortStableFunc(rs, func(a, b meter.Read) int {
		return cmp.Or(store.Time(&a).Compare(store.Time(&b)), cmp.Compare(a.Meter, b.Meter),
			cmp.Compare(a.Class, b.Class), cmp.Compare(a.Quantity, b.Quantity))
	})
	return rs
}

// readDiff describes how got differs from want ("" if not): every field,
// times as instants, an empty frame as nil.
func readDiff(got, want *meter.Read) string {
	var d []string
	ne := func(name string, g, w any) {
		if g != w {
			d = append(d, fmt.Sprintf("%s %v, want %v", name, g, w))
		}
	}
	ne("Meter", got.Meter, want.Meter)
	ne("Area", got.Area, want.Area)
	ne("Channel", got.Channel, want.Channel)
	ne("Class", got.Class, want.Class)
	ne("DI", got.DI, want.DI)
	ne("Edition", got.Edition, want.Edition)
	ne("Quantity", got.Quantity, want.Quantity)
	ne("Value", got.Value, want.Value)
	ne("Text", got.Text, want.Text)
	ne("Unit", got.Unit, want.Unit)
	ne("Status", got.Status, want.Status)
	ne("Err", got.Err, want.Err)
	ne("Tries", got.Frame.Tries, want.Frame.Tries)
	instant := func(t time.Time) string {
		if t.IsZero() {
			return "zero"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	ne("MeterTime", instant(got.MeterTime), instant(want.MeterTime))
	ne("ReadAt", instant(got.ReadAt), instant(want.ReadAt))
	if !bytes.Equal(got.Frame.Request, want.Frame.Request) || !slices.EqualFunc(got.Frame.Reply, want.Frame.Reply, bytes.Equal) {
		d = append(d, fmt.Sprintf("frames % X %X, want % X %X", got.Frame.Request, got.Frame.Reply, want.Frame.Request, want.Frame.Reply))
	}
	return strings.Join(d, "; ")
}

// expectSameReads fails the test unless got is want, read by read.
func expectSameReads(t testing.TB, got, want []meter.Read) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d reads, want %d", len(got), len(want))
	}
	for i := range want {
		if d := readDiff(&got[i], &want[i]); d != "" {
			t.Fatalf("read %d (meter %s %s at %v): %s", i, want[i].Meter, want[i].Quantity, store.Time(&want[i]), d)
		}
	}
}
