package vee

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// meterMonth is 30 days of one meter's reads as the collector makes them:
// every 15 minutes a load-profile record (its time, phase A voltage and
// current, active power, power factor, forward and reverse energy), every
// day the 00:00 freeze (its time, forward and reverse energy) and a clock
// check.
func meterMonth(meterID string) []meter.Read {
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, CST)
	var out []meter.Read
	fwdR, revR := int64(12345600), int64(1000)
	seed := uint32(len(meterID)) * 2654435761
	rnd := func(n uint32) int64 {
		seed ^= seed << 13
		seed ^= seed >> 17
		seed ^= seed << 5
		return int64(seed % n)
	}
	num := func(class meter.Class, q, unit string, at time.Time, units int64, scale uint8) meter.Read {
		return meter.Read{Meter: meterID, Class: class, Quantity: q, Unit: unit, Value: dlt645.Decimal{Units: units, Scale: scale},
			MeterTime: at, ReadAt: at.Add(65 * time.Minute), Status: meter.OK}
	}
	for k := 0; k <= 30*96; k++ {
		at := start.Add(time.Duration(k) * 15 * time.Minute)
		if k%96 == 0 {
			out = append(out,
				meter.Read{Meter: meterID, Class: meter.Daily, Quantity: "time of the last daily freeze", Text: at.Format("2006-01-02T15:04"), MeterTime: at, ReadAt: at.Add(20 * time.Minute), Status: meter.OK},
				num(meter.Daily, fwd, "kWh", at, fwdR, 2), num(meter.Daily, "reverse active energy total", "kWh", at, revR, 2))
			clk := meter.Read{Meter: meterID, Class: meter.Clock, Quantity: "clock error", Unit: "s", Value: dlt645.Decimal{Units: rnd(20)}, ReadAt: at.Add(3 * time.Hour), Status: meter.OK}
			out = append(out, clk)
		}
		out = append(out,
			meter.Read{Meter: meterID, Class: meter.Interval, Quantity: "record time", Text: at.Format("2006-01-02T15:04"), MeterTime: at, ReadAt: at.Add(65 * time.Minute), Status: meter.OK},
			num(meter.Interval, "phase A voltage", "V", at, 2150+rnd(100), 1),
			num(meter.Interval, "phase A current", "A", at, 500+rnd(5000), 3),
			num(meter.Interval, "active power total", "kW", at, 1000+rnd(10000), 4),
			num(meter.Interval, "power factor total", "", at, 900+rnd(100), 3),
			num(meter.Interval, fwd, "kWh", at, fwdR, 2),
			num(meter.Interval, "reverse active energy total", "kWh", at, revR, 2))
		fwdR += 5 + rnd(30)
	}
	return out
}

// BenchmarkValidateMeterMonth validates one meter's 30 days of 15-minute
// load profile and daily freezes per op, for a new meter each op (the
// validator keeps every meter's state, as it would for a fleet), and
// reports the state kept per meter.
func BenchmarkValidateMeterMonth(b *testing.B) {
	tmpl := meterMonth("000000000000")
	reads := make([]meter.Read, len(tmpl))
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	v := newV(b, DefaultConfig())
	out := make([]Value, 0, len(tmpl)*2)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		id := fmt.Sprintf("%012d", n)
		n++
		copy(reads, tmpl)
		for j := range reads {
			reads[j].Meter = id
		}
		out = v.Validate(out[:0], reads...)
	}
	b.StopTimer()
	b.ReportMetric(float64(len(tmpl)), "reads/op")
	b.ReportMetric(float64(n)*float64(len(tmpl))/b.Elapsed().Seconds(), "reads/s")
	out = nil
	runtime.GC()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/float64(n), "state-B/meter")
	runtime.KeepAlive(v)
	runtime.KeepAlive(reads)
	runtime.KeepAlive(tmpl)
}

// A clean month of a meter is valid throughout: no check fires on
// ordinary load.
func TestCleanMonth(t *testing.T) {
	v := newV(t, DefaultConfig())
	reads := meterMonth("000000000001")
	out := v.Validate(nil, reads...)
	if s := v.Stats(); s.Values != s.Reads || s.Placeholders != 0 || len(out) != len(reads) {
		t.Fatalf("%+v", s)
	}
	for _, x := range out {
		if x.Quality != Valid {
			t.Fatalf("%s", dump([]Value{x}))
		}
	}
}
