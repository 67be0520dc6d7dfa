package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
)

// testDownsample downsamples a day of raw reads and checks the aggregates
// against figures worked out by hand.
func testDownsample(t *testing.T, open Factory) {
	s, now := openStore(t, open, store.Retention{})
	ds, ok := s.(store.Downsampler)
	if !ok {
		t.Skip("not a store.Downsampler")
	}
	day := dayOf(t, s, ds, now.Add(-48*time.Hour).Truncate(time.Minute))
	at := func(h int) time.Time { return day.Add(time.Duration(h) * time.Hour) }
	m1, m2 := meterAddr(5, 1), meterAddr(5, 2)
	volt := func(h int, units int64) meter.Read {
		r := reading(m1, "A", meter.Instantaneous, qVolt, time.Time{}, units, 1)
		r.ReadAt, r.Unit = at(h), "V"
		return r
	}
	power := func(meterID string, h int, units int64, scale uint8) meter.Read {
		r := reading(meterID, "A", meter.Interval, qPower, at(h), units, scale)
		r.Unit = "kW"
		return r
	}
	failed := power(m1, 6, 0, 0)
	failed.Status, failed.Err = meter.Failed, "timeout"
	noData := power(m1, 0, 0, 0)
	noData.MeterTime = day.Add(30 * time.Minute)
	noData.Status = meter.NoData
	text := volt(5, 0)
	text.Text = "FFFF"
	write(t, s, []meter.Read{
		volt(3, 2215), volt(1, 2201), volt(4, 2200), volt(2, 2198), // 221.5 220.1 220.0 219.8
		power(m1, 4, 300, 2), power(m1, 1, 15, 1), power(m1, 5, 225, 2), power(m1, 3, -125, 3), power(m1, 2, 3, 0),
		power(m2, 2, 75, 1),
		failed, noData, text, // not counted
		reading(m1, "A", meter.Daily, qFwd, day, 123456, 2), // a register read: not downsampled
		power(m1, 26, 100, 0),                               // the next day
	})
	if err := ds.Downsample(t.Context(), day, day.Add(24*time.Hour)); err != nil {
		t.Fatalf("Downsample: %v", err)
	}
	d := func(u int64, s uint8) dlt645.Decimal { return dlt645.Decimal{Units: u, Scale: s} }
	voltAgg := store.Aggregate{Meter: m1, Area: "A", Class: meter.Instantaneous, Quantity: qVolt, Unit: "V", Day: day,
		Count: 4, Min: d(2198, 1), Max: d(2215, 1), First: d(2201, 1), Last: d(2200, 1), Sum: d(8814, 1)}
	// 1.5, 3, -0.125, 3.00, 2.25 at hours 1..5: the tie for Max goes to
	// the earlier 3; the sum is at scale 3: 1.500+3.000-0.125+3.000+2.250.
	powerAgg := store.Aggregate{Meter: m1, Area: "A", Class: meter.Interval, Quantity: qPower, Unit: "kW", Day: day,
		Count: 5, Min: d(-125, 3), Max: d(3, 0), First: d(15, 1), Last: d(225, 2), Sum: d(9625, 3)}
	m2Agg := store.Aggregate{Meter: m2, Area: "A", Class: meter.Interval, Quantity: qPower, Unit: "kW", Day: day,
		Count: 1, Min: d(75, 1), Max: d(75, 1), First: d(75, 1), Last: d(75, 1), Sum: d(75, 1)}
	onDay := store.Query{Meters: []string{m1, m2}, From: day, To: day.Add(time.Hour)}
	expectAggregates(t, ds, "a day", onDay, []store.Aggregate{voltAgg, powerAgg, m2Agg})
	expectAggregates(t, ds, "Area A", store.Query{Area: "A", From: day, To: day.Add(time.Hour)},
		[]store.Aggregate{voltAgg, powerAgg, m2Agg})
	expectAggregates(t, ds, "Class interval", store.Query{Class: meter.Interval, Meters: []string{m1, m2}, From: day, To: day.Add(time.Hour)},
		[]store.Aggregate{powerAgg, m2Agg})
	expectAggregates(t, ds, "Quantity", store.Query{Quantity: qVolt, Area: "A"}, []store.Aggregate{voltAgg})
	expectAggregates(t, ds, "Limit 1", store.Query{Meters: []string{m1, m2}, From: day, To: day.Add(time.Hour), Limit: 1},
		[]store.Aggregate{voltAgg})

	// A late read, then the day again: its aggregate is replaced.
	write(t, s, []meter.Read{volt(7, 2220)})
	if err := ds.Downsample(t.Context(), day, day.Add(24*time.Hour)); err != nil {
		t.Fatalf("Downsample again: %v", err)
	}
	voltAgg.Count, voltAgg.Max, voltAgg.Last, voltAgg.Sum = 5, d(2220, 1), d(2220, 1), d(11034, 1)
	expectAggregates(t, ds, "after a late read", onDay, []store.Aggregate{voltAgg, powerAgg, m2Agg})
}

// dayOf returns the start of the store's day holding at, as the store
// says: it downsamples a probe read at at.
func dayOf(t *testing.T, s store.Store, ds store.Downsampler, at time.Time) time.Time {
	t.Helper()
	probe := reading("999999000001", "probe", meter.Instantaneous, qVolt, time.Time{}, 1, 0)
	probe.ReadAt = at
	write(t, s, []meter.Read{probe})
	if err := ds.Downsample(t.Context(), at.Add(-24*time.Hour), at.Add(24*time.Hour)); err != nil {
		t.Fatalf("Downsample: %v", err)
	}
	aggs, err := ds.Aggregates(t.Context(), store.Query{Meters: []string{probe.Meter}})
	if err != nil {
		t.Fatalf("Aggregates: %v", err)
	}
	if len(aggs) != 1 || aggs[0].Count != 1 {
		t.Fatalf("Aggregates of a probe read at %v: %+v, want one with Count 1", at, aggs)
	}
	day := aggs[0].Day
	if day.After(at) || at.Sub(day) >= 25*time.Hour {
		t.Fatalf("Aggregate.Day of a read at %v is %v, not the start of its day", at, day)
	}
	return day
}

// expectAggregates fails the test unless Aggregates(q) returns want.
func expectAggregates(t *testing.T, ds store.Downsampler, what string, q store.Query, want []store.Aggregate) {
	t.Helper()
	got, err := ds.Aggregates(t.Context(), q)
	if err != nil {
		t.Fatalf("%s: Aggregates: %v", what, err)
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d aggregates, want %d: %+v", what, len(got), len(want), got)
	}
	for i := range min(len(got), len(want)) {
		if d := diffAggregate(&got[i], &want[i]); d != "" {
			t.Errorf("%s: aggregate %d (%s %s %s): %s", what, i, want[i].Meter, want[i].Class, want[i].Quantity, d)
		}
	}
}

func diffAggregate(got, want *store.Aggregate) string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s %+v, want %+v", field, g, w)) }
	if got.Meter != want.Meter || got.Class != want.Class || got.Quantity != want.Quantity {
		add("key", []string{got.Meter, string(got.Class), got.Quantity}, []string{want.Meter, string(want.Class), want.Quantity})
	}
	if got.Area != want.Area {
		add("Area", got.Area, want.Area)
	}
	if got.Unit != want.Unit {
		add("Unit", got.Unit, want.Unit)
	}
	if !got.Day.Equal(want.Day) {
		add("Day", got.Day, want.Day)
	}
	if got.Count != want.Count {
		add("Count", got.Count, want.Count)
	}
	for _, v := range []struct {
		name      string
		got, want dlt645.Decimal
	}{{"Min", got.Min, want.Min}, {"Max", got.Max, want.Max}, {"First", got.First, want.First},
		{"Last", got.Last, want.Last}, {"Sum", got.Sum, want.Sum}} {
		if v.got != v.want {
			add(v.name, v.got, v.want)
		}
	}
	return strings.Join(d, "; ")
}
