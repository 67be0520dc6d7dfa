package storetest

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// field is the data set of the query tests: areas A (20 meters) and B
// (5 meters), 32 days of daily freezes of two registers, three monthly
// settlements, and interval reads of area A.
type field struct {
	days   [32]time.Time // the daily freeze times, oldest first
	months [3]time.Time  // the monthly settlement times, oldest first
	reads  []meter.Read  // everything, in the order written
}

const areaA, areaB = 0, 1

func newField(now time.Time) *field {
	f := &field{}
	base := now.UTC().Truncate(24 * time.Hour)
	for d := range f.days {
		f.days[d] = base.Add(-time.Duration(len(f.days)-d) * 24 * time.Hour)
	}
	for m := range f.months {
		f.months[m] = base.Add(-time.Duration(30-10*m) * 24 * time.Hour)
	}
	for a, n := range []int{areaA: 20, areaB: 5} {
		area := []string{"A", "B"}[a]
		for i := range n {
			meterID := meterAddr(a, i)
			for d, at := range f.days {
				for q, qty := range []string{qFwd, qRev} {
					r := reading(meterID, area, meter.Daily, qty, at, int64(a*10_000_000+i*100_000+d*100+q), 2)
					f.reads = append(f.reads, r)
				}
			}
			for m, at := range f.months {
				for q, qty := range []string{qFwd, qRev} {
					f.reads = append(f.reads, reading(meterID, area, meter.Monthly, qty, at, int64(a*1000+i*10+m*2+q), 2))
				}
			}
			if a == areaA {
				for k := range 8 {
					at := f.days[27].Add(time.Duration(k) * 15 * time.Minute)
					r := reading(meterID, area, meter.Interval, qPower, at, int64(k-4), 3)
					r.Unit = "kW"
					f.reads = append(f.reads, r)
				}
			}
		}
	}
	return f
}

// write writes the field in shuffled batches of varying size.
func (f *field) write(t testing.TB, s store.Store) {
	rs := slices.Clone(f.reads)
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
	for len(rs) > 0 {
		n := min(len(rs), 1+rng.IntN(400))
		write(t, s, rs[:n])
		rs = rs[n:]
	}
}

// want returns the reads of the field that keep, in query order.
func (f *field) want(keep func(r *meter.Read) bool) []meter.Read {
	var out []meter.Read
	for i := range f.reads {
		if keep(&f.reads[i]) {
			out = append(out, f.reads[i])
		}
	}
	return sorted(out)
}

// testQueries runs the billing and loss queries and their variants.
func testQueries(t *testing.T, open Factory) {
	s, now := openStore(t, open, store.Retention{})
	f := newField(now)
	f.write(t, s)
	in := func(t time.Time, from, to time.Time) bool { return !t.Before(from) && t.Before(to) }

	// Line loss: one area, daily freezes, a month of days (d = 1..30).
	loss := query(t, s, store.Query{Area: "A", Class: meter.Daily, From: f.days[1], To: f.days[31]})
	if len(loss) != 30*20*2 {
		t.Errorf("loss query: %d reads, want 30 days × 20 meters × 2 registers = 1200", len(loss))
	}
	expectReads(t, "loss query", loss, f.want(func(r *meter.Read) bool {
		return r.Area == "A" && r.Class == meter.Daily && in(r.MeterTime, f.days[1], f.days[31])
	}))
	// By hand: meter 7 of area A, day 12, reverse register.
	if i := (12-1)*40 + 7*2 + 1; i < len(loss) {
		r := loss[i]
		if r.Meter != meterAddr(areaA, 7) || r.Quantity != qRev || r.Value.Units != 7*100_000+12*100+1 || r.Value.Scale != 2 {
			t.Errorf("loss query: read %d is %s %s %+v, want %s %s {Units:701201 Scale:2}",
				i, r.Meter, r.Quantity, r.Value, meterAddr(areaA, 7), qRev)
		}
	}

	// Billing: some meters, monthly settlements in [months[0], months[2]).
	meters := []string{meterAddr(areaA, 3), meterAddr(areaA, 7), meterAddr(areaB, 2)}
	bill := query(t, s, store.Query{Meters: meters, Class: meter.Monthly, From: f.months[0], To: f.months[2]})
	if len(bill) != 3*2*2 {
		t.Errorf("billing query: %d reads, want 3 meters × 2 registers × 2 months = 12", len(bill))
	}
	expectReads(t, "billing query", bill, f.want(func(r *meter.Read) bool {
		return slices.Contains(meters, r.Meter) && r.Class == meter.Monthly && in(r.MeterTime, f.months[0], f.months[2])
	}))

	qty := query(t, s, store.Query{Area: "A", Class: meter.Daily, Quantity: qRev})
	if len(qty) != 32*20 {
		t.Errorf("quantity query: %d reads, want 32 days × 20 meters = 640", len(qty))
	}
	expectReads(t, "quantity query", qty, f.want(func(r *meter.Read) bool {
		return r.Area == "A" && r.Class == meter.Daily && r.Quantity == qRev
	}))

	one := query(t, s, store.Query{Meters: []string{meterAddr(areaB, 4)}})
	if len(one) != 32*2+3*2 {
		t.Errorf("one meter: %d reads, want 70", len(one))
	}
	expectReads(t, "one meter", one, f.want(func(r *meter.Read) bool { return r.Meter == meterAddr(areaB, 4) }))

	iv := query(t, s, store.Query{Class: meter.Interval, Quantity: qPower, From: f.days[27], To: f.days[28]})
	expectReads(t, "interval reads", iv, f.want(func(r *meter.Read) bool { return r.Class == meter.Interval }))

	lim := query(t, s, store.Query{Area: "A", Class: meter.Daily, Limit: 7})
	expectReads(t, "Limit 7", lim, f.want(func(r *meter.Read) bool {
		return r.Area == "A" && r.Class == meter.Daily
	})[:7])

	all := query(t, s, store.Query{})
	expectReads(t, "everything", all, sorted(f.reads))
	for i := 1; i < len(all); i++ {
		if cmpOrder(&all[i-1], &all[i]) >= 0 {
			t.Errorf("everything: read %d is not after read %d in (time, meter, class, quantity)", i, i-1)
			break
		}
	}
	if n := len(query(t, s, store.Query{Area: "C"})); n != 0 {
		t.Errorf("an unknown area: %d reads, want 0", n)
	}
}

// testBounds checks that From is inclusive, To exclusive, both on
// store.Time (the meter's stamp when there is one).
func testBounds(t *testing.T, open Factory) {
	s, now := openStore(t, open, store.Retention{})
	t0 := now.Add(-5 * time.Hour).Truncate(time.Hour)
	t1 := t0.Add(time.Hour)
	meterID := meterAddr(9, 1)
	stamped := reading(meterID, "A", meter.Interval, qPower, t0.Add(-time.Hour), 1, 0)
	stamped.ReadAt = t0.Add(time.Minute) // inside [t0, t1), but stored at its MeterTime
	atFrom := reading(meterID, "A", meter.Instantaneous, qVolt, time.Time{}, 2, 0)
	atFrom.ReadAt = t0
	beforeTo := reading(meterID, "A", meter.Instantaneous, qVolt, time.Time{}, 3, 0)
	beforeTo.ReadAt = t1.Add(-time.Nanosecond)
	atTo := reading(meterID, "A", meter.Instantaneous, qVolt, time.Time{}, 4, 0)
	atTo.ReadAt = t1
	write(t, s, []meter.Read{stamped, atFrom, beforeTo, atTo})
	expectReads(t, "[t0, t1)", query(t, s, store.Query{From: t0, To: t1}), []meter.Read{atFrom, beforeTo})
	expectReads(t, "[t0-1h, t0)", query(t, s, store.Query{From: t0.Add(-time.Hour), To: t0}), []meter.Read{stamped})
	expectReads(t, "From t1", query(t, s, store.Query{From: t1}), []meter.Read{atTo})
	expectReads(t, "To t0", query(t, s, store.Query{To: t0}), []meter.Read{stamped})
}
