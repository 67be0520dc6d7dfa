package review

import (
	"testing"
	"time"

	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
)

func exchangeInput(t *testing.T, at time.Time, removal string) *Input {
	a := fixture()
	a.Exchanges = []archive.Exchange{{Area: "A1", OldMeter: C1, NewMeter: "000001000009", Date: at,
		RemovalReading: decimal(t, removal), InstallReading: decimal(t, "0.00")}}
	// C1's freezes: 06-08 998.00, 06-09 999.00, 06-10 1000.00, 06-11 1005.00
	vals := dailyValues(t, C1, d(8), "998.00", "999.00", "1000.00", "1005.00")
	return &Input{Archive: a.Index(), Values: vals, From: d(1), To: d(30), Today: d(30)}
}

func TestExchangeBelowBilled(t *testing.T) {
	in := exchangeInput(t, time.Date(2025, 6, 10, 10, 30, 0, 0, CST), "100.00")
	f := want(t, review(in).Findings, ExchangeBelowBilled, C1)
	if f.Severity != High || f.Area != "A1" || f.Day != "2025-06-10" {
		t.Errorf("finding %+v", f)
	}
	if e := evidence(t, f, "last billed reading"); e.Value != "1000.00" || e.Time != "2025-06-10T00:00:00+08:00" {
		t.Errorf("billed %+v", e)
	}
	if e := evidence(t, f, "removal reading"); e.Value != "100.00" || e.Time != "2025-06-10T10:30:00+08:00" {
		t.Errorf("removal %+v", e)
	}
	const sum = "meter 000001000001 was exchanged for 000001000009 at 2025-06-10T10:30:00+08:00 with a removal reading of 100.00 kWh, 900.00 kWh below its last billed reading 1000.00 kWh (daily 2025-06-10T00:00:00+08:00)"
	if f.Summary != sum {
		t.Errorf("summary\n%s\nwant\n%s", f.Summary, sum)
	}
	// the archive checks judge every exchange on record, whatever the range
	want(t, check(in), ExchangeBelowBilled, C1)
	in.From, in.To = d(11), d(20)
	none(t, review(in).Findings, ExchangeBelowBilled)
}

// An exchange on the billing day: the freeze of 00:00 that day is the
// last billed reading, the freeze of the next day is not.
func TestExchangeOnBillingDay(t *testing.T) {
	for _, tc := range []struct {
		name    string
		at      time.Time
		removal string
		found   bool
	}{
		{"equal to the day's freeze", time.Date(2025, 6, 10, 10, 30, 0, 0, CST), "1000.00", false},
		{"0.01 below the day's freeze", time.Date(2025, 6, 10, 10, 30, 0, 0, CST), "999.99", true},
		{"at the freeze itself", d(10), "999.99", true},
		{"a minute before the freeze: the day before's", d(10).Add(-time.Minute), "999.50", false},
		{"below the next day's freeze, not the day's", time.Date(2025, 6, 10, 23, 0, 0, 0, CST), "1004.00", false},
		{"before any billed reading", d(1), "0.00", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := review(exchangeInput(t, tc.at, tc.removal)).Findings
			if got := len(only(fs, ExchangeBelowBilled)) == 1; got != tc.found {
				t.Errorf("found %v, want %v: %s", got, tc.found, dump(fs))
			}
		})
	}
}

// Only usable values are billed readings: not a suspect or failed one,
// and a monthly settlement read counts as well as a freeze.
func TestExchangeBilledQuality(t *testing.T) {
	in := exchangeInput(t, time.Date(2025, 6, 10, 10, 30, 0, 0, CST), "999.50")
	in.Values[2].Quality = vee.Suspect // the 06-10 freeze
	none(t, review(in).Findings, ExchangeBelowBilled)
	in.Values = append(in.Values, vee.Value{Key: vee.Key{Meter: C1, Class: meter.Monthly, Quantity: Forward, Time: d(10).Add(time.Hour)},
		Value: decimal(t, "999.60"), Quality: vee.Edited})
	f := want(t, review(in).Findings, ExchangeBelowBilled, C1)
	if e := evidence(t, f, "last billed reading"); e.Value != "999.60" || e.What != "last billed reading (monthly, edited)" {
		t.Errorf("billed %+v", e)
	}
	off := func(c *Config) { c.Exchange.Off = true }
	none(t, review(in, off).Findings, ExchangeBelowBilled)
	from := func(c *Config) { c.Exchange.From = d(11) }
	none(t, review(in, from).Findings, ExchangeBelowBilled)
}
