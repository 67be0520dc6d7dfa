package review

import (
	"testing"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// maxDemand is an OK max demand read of the area meter (CT 20).
func maxDemand(t testing.TB, value string, at time.Time) meter.Read {
	return meter.Read{Meter: AM, Class: meter.Monthly, Quantity: "max demand of forward active total (last settlement)", Unit: "kW",
		Value: decimal(t, value), ReadAt: at, Status: meter.OK}
}

// A1's transformer: 100 kVA × 0.9 = 90.00 kW; over above 100 %, far
// under below 20 % (18.00 kW). The area meter's CT is 20.
func TestCapacityThresholds(t *testing.T) {
	for _, tc := range []struct {
		kw   string // the read, × 20
		rule Rule
	}{
		{"4.5005", CapacityOver},  // 90.01 kW: just over
		{"4.5000", ""},            // 90.00 kW: at capacity, not over
		{"4.4995", ""},            // 89.99 kW: just under
		{"0.9000", ""},            // 18.00 kW: at the low share, not under
		{"0.8995", CapacityUnder}, // 17.99 kW
	} {
		t.Run(tc.kw, func(t *testing.T) {
			in := &Input{Archive: fixture().Index(), Reads: []meter.Read{maxDemand(t, tc.kw, d(5).Add(time.Hour))}, From: d(1), To: d(10)}
			fs := review(in).Findings
			got := append(only(fs, CapacityOver), only(fs, CapacityUnder)...)
			switch {
			case tc.rule == "" && len(got) > 0:
				t.Errorf("unexpected %s", dump(got))
			case tc.rule != "":
				f := want(t, got, tc.rule, AM)
				if f.Area != "A1" || f.Day != "2025-06-05" {
					t.Errorf("finding %+v", f)
				}
			}
		})
	}
	in := &Input{Archive: fixture().Index(), Reads: []meter.Read{maxDemand(t, "4.5005", d(5))}, From: d(1), To: d(10)}
	f := want(t, review(in).Findings, CapacityOver, AM)
	const sum = "area A1's peak demand from max demand, 90.01 kW, is 100.01 % of what its 100 kVA transformer gives (90.00 kW at power factor 0.9): over 100 %"
	if f.Summary != sum {
		t.Errorf("summary\n%s\nwant\n%s", f.Summary, sum)
	}
	if e := evidence(t, f, "× CT × PT 20"); e.Value != "90.01" {
		t.Errorf("evidence %+v", f.Evidence)
	}
	// a max demand read outside the range is not this range's demand
	in.From = d(6)
	none(t, review(in).Findings, CapacityOver)
}

// Without max demand reads, the peak of the interval energy: 0.75 kWh
// in 15 minutes × 20 = 60.00 kW.
func TestCapacityInterval(t *testing.T) {
	var reads []meter.Read
	reg := []string{"100.00", "100.50", "101.25", "101.75"}
	for i, v := range reg {
		ts := d(5).Add(time.Duration(i) * 15 * time.Minute)
		reads = append(reads, meter.Read{Meter: AM, Class: meter.Interval, Quantity: Forward, Unit: "kWh", Value: decimal(t, v), MeterTime: ts, ReadAt: ts, Status: meter.OK})
	}
	in := &Input{Archive: fixture().Index(), Reads: reads, From: d(1), To: d(10)}
	cfg := func(c *Config) { c.Capacity.OverPct = decimal(t, "66.66") } // 60 kW is 66.67 % of 90 kW
	f := want(t, review(in, cfg).Findings, CapacityOver, AM)
	if e := evidence(t, f, "as power"); e.Value != "60.00" || e.What != "energy × CT × PT 20 over 15m0s, as power" {
		t.Errorf("interval %+v", f.Evidence)
	}
	if e := evidence(t, f, "over capacity"); e.Value != "66.67" || e.Time != "2025-06-05T00:30:00+08:00" {
		t.Errorf("share %+v", e)
	}
	none(t, review(in).Findings, CapacityOver)
}

// Without either, the peak day's energy / 24 h × the peak factor 2.5:
// from the daily balance (its area meter's forward, already × M), or
// from the area meter's freezes.
func TestCapacityDaily(t *testing.T) {
	// 864.10 kWh in a day: 36.00 kW on average, 90.01 kW at the peak
	bal := loss.Result{Area: "A1", Period: loss.Day(d(5)), AreaForward: dlt645.Decimal{Units: 86410, Scale: 2},
		AreaMeter: &loss.MeterResult{Meter: AM, Forward: loss.Delta{OK: true}}}
	in := &Input{Archive: fixture().Index(), Loss: []loss.Result{bal}, From: d(1), To: d(10)}
	f := want(t, review(in).Findings, CapacityOver, AM)
	if e := evidence(t, f, "peak factor"); e.Value != "90.01" {
		t.Errorf("daily %+v", f.Evidence)
	}
	// the same from freezes: 43.205 kWh × 20
	in = &Input{Archive: fixture().Index(), Values: dailyValues(t, AM, d(5), "1000.000", "1043.205"), From: d(1), To: d(10)}
	f = want(t, review(in).Findings, CapacityOver, AM)
	if e := evidence(t, f, "peak factor"); e.Value != "90.01" {
		t.Errorf("freezes %+v", f.Evidence)
	}
	// the same day just under
	in.Values = dailyValues(t, AM, d(5), "1000.000", "1043.195")
	none(t, review(in).Findings, CapacityOver)
	// an area with no capacity on record is not judged
	a := fixture()
	a.Areas[0].CapacityKVA = 0
	in.Archive, in.Values = a.Index(), dailyValues(t, AM, d(5), "1000.000", "1100.000")
	none(t, review(in).Findings, CapacityOver)
}

func TestSuspended(t *testing.T) {
	a := fixture()
	a.Areas[1].SuspendedSince.Year, a.Areas[1].SuspendedSince.Month, a.Areas[1].SuspendedSince.Day = 2025, 3, 12
	in := &Input{Archive: a.Index(), From: d(1), To: d(10)} // 06-10 is 90 days after 03-12
	none(t, review(in).Findings, SuspendedLong)
	in.To = d(11)
	f := want(t, review(in).Findings, SuspendedLong, "")
	if f.Area != "A2" || f.Day != "2025-06-11" || evidence(t, f, "days suspended").Value != "91" {
		t.Errorf("suspended %+v", f)
	}
	none(t, review(in, func(c *Config) { c.Suspended.MaxDays = 91 }).Findings, SuspendedLong)
	// before the suspension, nothing
	in.To = dm(3, 1)
	in.From = dm(2, 1)
	none(t, review(in, func(c *Config) { c.Suspended.MaxDays = 0 }).Findings, SuspendedLong)
}
