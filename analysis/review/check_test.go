package review

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/fieldops"
	"github.com/headend/headend/meter"
)

func TestMultiplierMismatch(t *testing.T) {
	a := fixture()
	a.Meters[0].Multiplier = 15 // area meter, CT 20
	a.Meters[1].Multiplier = 1  // equal to CT × PT: fine
	a.Meters[2].Multiplier = 2
	fs := check(&Input{Archive: a.Index(), Today: d(10)})
	f := want(t, fs, MultiplierMismatch, AM)
	if f.Severity != High || f.Concentrator != "K1" || f.Summary != "area meter 000001000000 stores multiplier 15, but its CT ratio 20 × PT ratio 1 is 20" {
		t.Errorf("area meter %+v", f)
	}
	if want(t, fs, MultiplierMismatch, C2).Severity != Medium || len(only(fs, MultiplierMismatch)) != 2 {
		t.Errorf("%s", dump(fs))
	}
	none(t, check(&Input{Archive: a.Index(), Today: d(10)}, func(c *Config) { c.Multiplier.Off = true }), MultiplierMismatch)
}

func TestScanChecks(t *testing.T) {
	ix := fixture().Index()
	at := time.Date(2025, 6, 10, 9, 0, 0, 0, CST)
	scans := []Scan{
		// ch1 searched 000001000000..000001000009: C3 silent, 09 unknown,
		// B1 (archived on ch2) answering here
		{Channel: "ch1", At: at, From: "000001000000", To: "000001000009", Found: []string{AM, C1, C2, "000001000009", B1}},
		// ch2 asked by read address only: no range, nothing missing
		{Channel: "ch2", At: at, Found: []string{BM}},
	}
	fs := check(&Input{Archive: ix, Scans: scans, Today: d(10)})
	u := want(t, fs, Unarchived, "000001000009")
	if u.Severity != High || u.Area != "A1" || u.Concentrator != "K1" || u.Day != "2025-06-10" {
		t.Errorf("unarchived %+v", u)
	}
	if o := want(t, fs, OtherBus, B1); o.Area != "A2" || evidence(t, o, "archive channel").Value != "ch2" {
		t.Errorf("other bus %+v", o)
	}
	want(t, fs, NotFound, C3)
	if n := len(only(fs, NotFound)); n != 1 {
		t.Errorf("%d not found: %s", n, dump(fs))
	}
	// a later scan hears C3: no longer missing
	scans = append(scans, Scan{Channel: "ch1", At: at.Add(time.Hour), Found: []string{C3}})
	none(t, check(&Input{Archive: ix, Scans: scans, Today: d(10)}), NotFound)
	// the scanner's own missing list counts too
	none(t, check(&Input{Archive: ix, Scans: []Scan{{Channel: "ch2", At: at, Found: []string{}, Missing: []string{"2000001"}}}, Today: d(10)}), Unarchived)
	want(t, check(&Input{Archive: ix, Scans: []Scan{{Channel: "ch2", At: at, Found: []string{}, Missing: []string{"2000001"}}}, Today: d(10)}), NotFound, B1)
}

func TestScanOf(t *testing.T) {
	yes := true
	res := &fieldops.ScanResult{Channel: "ch1", Probed: 10, Found: []fieldops.Found{{Address: AM, InArchive: &yes}, {Address: "000001000009"}}, Missing: []string{C3}}
	s := ScanOf("", fieldops.ScanRequest{From: "1000000", To: "1000009"}, res, d(10))
	if s.Channel != "ch1" || s.From != "000001000000" || s.To != "000001000009" || len(s.Found) != 2 || s.Missing[0] != C3 {
		t.Errorf("scan %+v", s)
	}
	b, _ := json.Marshal(s)
	if !strings.Contains(string(b), `"found":["000001000000","000001000009"]`) {
		t.Errorf("json %s", b)
	}
}

func TestNeverAnswers(t *testing.T) {
	a := fixture()
	a.Areas[1].SuspendedSince = archive.Date{Year: 2025, Month: 5, Day: 1} // A2's meters are out of service
	var reads []meter.Read
	for day := 4; day <= 10; day++ {
		for _, m := range []string{AM, C1, C2} {
			reads = append(reads, okRead(m, d(day).Add(time.Hour), "1.00"))
		}
		reads = append(reads, meter.Read{Meter: C3, Class: meter.Daily, Quantity: Forward, ReadAt: d(day).Add(time.Hour), Status: meter.Failed})
	}
	reads = append(reads, okRead(C3, d(3).Add(time.Hour), "1.00")) // before the 7 days
	fs := check(&Input{Archive: a.Index(), Reads: reads, Today: d(10)})
	f := want(t, fs, NeverAnswers, C3)
	if f.Summary != "archived meter 000001000003 gave no OK read from 2025-06-04 to 2025-06-10 (7 reads failed, the last at 2025-06-10T01:00:00+08:00)" {
		t.Error(f.Summary)
	}
	if n := len(only(fs, NeverAnswers)); n != 1 {
		t.Errorf("%s", dump(fs))
	}
	// 8 days reach its last OK read
	none(t, check(&Input{Archive: a.Index(), Reads: reads, Today: d(10)}, func(c *Config) { c.Answers.Days = 8 }), NeverAnswers)
	// no reads at all: nothing to judge by
	none(t, check(&Input{Archive: a.Index(), Today: d(10)}), NeverAnswers)
}

func TestDueDates(t *testing.T) {
	a := fixture()
	set := func(i int, on archive.Date, months int) {
		a.Meters[i].VerifiedOn, a.Meters[i].VerifyMonths = on, months
	}
	set(0, archive.Date{Year: 2017, Month: 7, Day: 10}, 96)  // due 2025-07-10: within a month of 06-10, exactly
	set(1, archive.Date{Year: 2017, Month: 7, Day: 11}, 96)  // due 2025-07-11: within 3 months
	set(2, archive.Date{Year: 2019, Month: 12, Day: 10}, 72) // due 2025-12-10: within 6 months, exactly
	set(3, archive.Date{Year: 2019, Month: 12, Day: 11}, 72) // due 2025-12-11: no alarm yet
	set(4, archive.Date{Year: 2017, Month: 6, Day: 9}, 96)   // due 2025-06-09: a day overdue
	a.Meters[5].RotationDue = archive.Date{Year: 2025, Month: 6, Day: 10}
	a.Meters[5].Tolerance = archive.OutOfTolerance
	a.Meters[0].CTVerifiedOn, a.Meters[0].CTVerifyMonths = archive.Date{Year: 2015, Month: 1, Day: 1}, 120 // due 2025-01-01
	fs := check(&Input{Archive: a.Index(), Today: d(10)})
	alarm := func(m string, rule Rule, months string, sev Severity) {
		t.Helper()
		f := want(t, fs, rule, m)
		if f.Severity != sev || (months != "" && evidence(t, f, "alarm").Value != months) {
			t.Errorf("%s %s: %+v", rule, m, f)
		}
	}
	alarm(AM, VerificationDue, "1", Medium)
	alarm(C1, VerificationDue, "3", Low)
	alarm(C2, VerificationDue, "6", Low)
	none(t, only(fs, VerificationDue)[3:], VerificationDue)
	alarm(BM, VerificationOver, "", High)
	alarm(B1, RotationDue, "1", Medium) // due today
	alarm(B1, OutOfTolerance, "", High)
	alarm(AM, CTVerificationOver, "", High)
	if f := want(t, fs, VerificationDue, AM); f.Summary != "verification of area meter 000001000000 is due on 2025-07-10, within 1 month (in 30 days)" {
		t.Error(f.Summary)
	}
	if f := want(t, fs, VerificationOver, BM); f.Summary != "verification of area meter 000002000000 was due on 2025-06-09: 1 day overdue" ||
		evidence(t, f, "verified on").Value != "2017-06-09" {
		t.Errorf("%+v", f)
	}
	// alarms 12 months ahead as well
	fs = check(&Input{Archive: a.Index(), Today: d(10)}, func(c *Config) { c.Due.AlarmMonths = []int{12, 1} })
	alarm(C3, VerificationDue, "12", Low)
	alarm(C1, VerificationDue, "12", Low)
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Estimated.RepeatDays = 1
	c.Consumption.Period = "fortnight"
	c.Capacity.PowerFactor = decimal(t, "1.2")
	c.Capacity.UnderPct = decimal(t, "150")
	c.Due.AlarmMonths = []int{6, 0}
	c.ReadRate.MaxGap = 0
	err := c.Validate()
	for _, w := range []string{"review.estimated.repeat_days: 1: must be ≥ 2", `review.consumption.period: "fortnight"`,
		"review.capacity.power_factor: 1.2: must be at most 1", "review.capacity: under_pct 150 must be below over_pct 100",
		"review.due.alarm_months: [6 0]", "review.read_rate.max_gap: 0s: must be > 0"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error\n%v\nlacks %q", err, w)
		}
	}
}

// Findings marshal in the shape the dashboard and the inspection list
// read.
func TestFindingJSON(t *testing.T) {
	f := Finding{Rule: MultiplierMismatch, Severity: High, Area: "D04", Meter: AM, Day: "2025-06-10", Summary: "s",
		Evidence: []Evidence{{What: "w", Meter: AM, Value: "120"}}}
	b, _ := json.Marshal(f)
	const want = `{"rule":"multiplier_mismatch","severity":"high","area":"D04","meter":"000001000000","day":"2025-06-10","summary":"s","evidence":[{"what":"w","meter":"000001000000","value":"120"}]}`
	if string(b) != want {
		t.Errorf("%s\nwant\n%s", b, want)
	}
}

// From is a calendar date: 2025-06-11 written in a configuration (UTC
// midnight) holds from the CST day 2025-06-11 on.
func TestCheckFrom(t *testing.T) {
	c := Check{From: time.Date(2025, 6, 11, 0, 0, 0, 0, time.UTC)}
	if c.applies(d(10)) || !c.applies(d(11)) || !c.applies(d(12)) {
		t.Error("From as a date")
	}
	if (Check{Off: true}).applies(d(11)) || !(Check{}).applies(d(1)) {
		t.Error("Off, zero From")
	}
}
