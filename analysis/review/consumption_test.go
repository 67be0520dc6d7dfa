package review

import (
	"testing"

	"github.com/headend/headend/analysis/vee"
)

func TestPeriods(t *testing.T) {
	got := periods(PeriodWeek, d(4), d(17)) // Wednesday 06-04 to Tuesday 06-17
	want := []string{"2025-06-04 to 2025-06-08", "2025-06-09 to 2025-06-15", "2025-06-16 to 2025-06-17"}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i, p := range got {
		if p.String() != want[i] {
			t.Errorf("week %d: %s, want %s", i, p, want[i])
		}
	}
	if m := periods(PeriodMonth, dm(5, 20), d(10)); len(m) != 2 || m[0].String() != "2025-05-20 to 2025-05-31" || m[1].String() != "2025-06-01 to 2025-06-10" {
		t.Errorf("months %v", m)
	}
	if b := (period{d(9), d(16)}).before(); b.String() != "2025-06-02 to 2025-06-08" {
		t.Errorf("before %s", b)
	}
	if ds := periods(PeriodDay, d(1), d(3)); len(ds) != 3 || ds[2].String() != "2025-06-03" {
		t.Errorf("days %v", ds)
	}
}

// Weeks of 06-02..06-08 and 06-09..06-15 (readings at 06-02, 06-09 and
// 06-16 00:00).
func TestConsumptionLists(t *testing.T) {
	readings := map[string][3]string{
		C1: {"100.00", "150.00", "150.00"}, // zero in the second week
		C2: {"100.00", "120.00", "140.00"}, // fixed: 20.00 twice
		C3: {"100.00", "120.00", "150.00"}, // +50 %: sharp, exactly at the threshold
		B1: {"100.00", "104.00", "109.00"}, // +25 %, and below 10 kWh
		AM: {"100.00", "100.00", "100.00"}, // area meters are not customers
	}
	values := func() []vee.Value {
		var out []vee.Value
		for _, m := range sortedKeys(readings) {
			r := readings[m]
			out = append(out, dailyValues(t, m, d(2), r[0], "", "", "", "", "", "", r[1], "", "", "", "", "", "", r[2])...)
		}
		return out
	}
	in := &Input{Archive: fixture().Index(), Values: values(), From: d(9), To: d(15)}
	weekly := func(c *Config) { c.Consumption.Period = PeriodWeek }
	fs := review(in, weekly).Findings
	z := want(t, fs, ZeroConsumption, C1)
	if z.Day != "2025-06-15" || z.Summary != "meter 000001000001 consumed nothing over 2025-06-09 to 2025-06-15 (its register stayed at 150.00 kWh)" {
		t.Errorf("zero %+v", z)
	}
	f := want(t, fs, FixedConsumption, C2)
	if f.Summary != "meter 000001000002 consumed 20.00 kWh over 2025-06-09 to 2025-06-15, the same as over 2025-06-02 to 2025-06-08 (20.00 kWh): a fixed consumption, as an estimate repeats" {
		t.Error(f.Summary)
	}
	if len(f.Evidence) != 6 || f.Evidence[0].Time != "2025-06-02T00:00:00+08:00" || f.Evidence[5].Value != "20.00" {
		t.Errorf("fixed evidence %+v", f.Evidence)
	}
	s := want(t, fs, SharpChange, C3)
	if evidence(t, s, "change").Value != "+50.0" {
		t.Errorf("sharp %+v", s)
	}
	for _, f := range fs {
		if f.Meter == B1 || f.Meter == AM {
			t.Errorf("unexpected %s on %s", f.Rule, f.Meter)
		}
	}
	// a drop of 50 % is as sharp
	readings[C3] = [3]string{"100.00", "140.00", "160.00"}
	in.Values = values()
	if s := want(t, review(in, weekly).Findings, SharpChange, C3); evidence(t, s, "change").Value != "-50.0" {
		t.Errorf("drop %+v", s)
	}
	// 0.01 kWh apart is still fixed; 0.02 not
	readings[C2] = [3]string{"100.00", "120.00", "140.01"}
	in.Values = values()
	want(t, review(in, weekly).Findings, FixedConsumption, C2)
	readings[C2] = [3]string{"100.00", "120.00", "140.02"}
	in.Values = values()
	none(t, review(in, weekly).Findings, FixedConsumption)
	// the multiplier counts: a 20.00 kWh week on a CT 3 meter is 60.00 kWh
	readings[C2] = [3]string{"100.00", "120.00", "140.00"}
	a := fixture()
	a.Meters[2].CT = 3
	in.Archive, in.Values = a.Index(), values()
	if f := want(t, review(in, weekly).Findings, FixedConsumption, C2); evidence(t, f, "consumption × 3").Value != "60.00" {
		t.Errorf("multiplier %+v", f.Evidence)
	}
}

// With monthly periods, a range within one month is one period, compared
// with as many days before it.
func TestConsumptionMonthClipped(t *testing.T) {
	vals := dailyValues(t, C1, d(1), "100.00", "", "", "", "", "110.00", "", "", "", "", "110.00")
	in := &Input{Archive: fixture().Index(), Values: vals, From: d(6), To: d(10)}
	z := want(t, review(in).Findings, ZeroConsumption, C1)
	if z.Day != "2025-06-10" {
		t.Errorf("zero %+v", z)
	}
	// 5 days are too short to compare by default (min_days 7)
	in.Values = dailyValues(t, C1, d(1), "100.00", "", "", "", "", "110.00", "", "", "", "", "140.00")
	none(t, review(in).Findings, SharpChange)
	short := func(c *Config) { c.Consumption.MinDays = 5 }
	if s := want(t, review(in, short).Findings, SharpChange, C1); evidence(t, s, "change").Value != "+200.0" {
		t.Errorf("sharp %+v", s)
	}
}
