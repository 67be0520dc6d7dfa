package loss

import (
	"testing"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/internal/testenv"
	"github.com/headend/headend/meter"
)

// hourFixture is the worked example of the hourly balance, on 2025-06-10
// (registers at each hour; every quarter between has a record too):
//
//	             00:00    01:00    02:00    03:00    04:00
//	area CT 50   2000.00  2000.40  2001.00  2001.50  2002.00   ×50: 20, 30, 25, 25 kWh supply
//	  reverse      10.00 (constant)
//	c1           100.00   108.00   120.00   130.00   141.00    8, 12, 10, 11 sales
//	c2 PV fwd     50.00    55.00    60.00    60.00    65.00    5, 5, 0, 5 sales
//	   PV rev     20.00    20.00    20.00    23.00    23.00    0, 0, 3, 0 supply (export)
//	c3             7.00    12.00    27.00    36.00    (none)   5, 15, 9, —
//
//	hour 00: supply 20, sales 18, loss  2, rate  10.00 %: qualified
//	hour 01: supply 30, sales 32, loss −2, rate −6.67 %: negative
//	hour 02: supply 28, sales 19, loss  9, rate  32.14 %: high
//	hour 03: c3 has no 04:00 record: 2 of 3 customers, not computable
//
// The area meter's 00:00 value is its daily freeze, not a load-profile
// record; c1's 02:00 record is stamped 40 s late by its clock.
func hourFixture(t *testing.T) (*archive.Index, []meter.Read, time.Time) {
	day := time.Date(2025, 6, 10, 0, 0, 0, 0, zone)
	a := &archive.Archive{
		Areas: []archive.Area{{ID: "H1", Feeder: "F1", VoltageLevel: "10kV/0.4kV"}},
		Meters: []archive.Meter{
			archiveMeter("000000000101", "H1", archive.RoleArea, 50),
			archiveMeter("000000000111", "H1", archive.RoleCustomer, 1),
			archiveMeter("000000000112", "H1", archive.RolePV, 1),
			archiveMeter("000000000113", "H1", archive.RoleCustomer, 1),
		},
	}
	series := []struct {
		meter, quantity string
		at              []string // registers at 00:00 .. 04:00
	}{
		{"000000000101", "forward active energy total", []string{"2000.00", "2000.40", "2001.00", "2001.50", "2002.00"}},
		{"000000000101", "reverse active energy total", []string{"10.00", "10.00", "10.00", "10.00", "10.00"}},
		{"000000000111", "forward active energy total", []string{"100.00", "108.00", "120.00", "130.00", "141.00"}},
		{"000000000111", "reverse active energy total", []string{"0.00", "0.00", "0.00", "0.00", "0.00"}},
		{"000000000112", "forward active energy total", []string{"50.00", "55.00", "60.00", "60.00", "65.00"}},
		{"000000000112", "reverse active energy total", []string{"20.00", "20.00", "20.00", "23.00", "23.00"}},
		{"000000000113", "forward active energy total", []string{"7.00", "12.00", "27.00", "36.00", ""}},
		{"000000000113", "reverse active energy total", []string{"0.00", "0.00", "0.00", "0.00", ""}},
	}
	var rs []meter.Read
	for _, s := range series {
		for h, v := range s.at {
			if v == "" {
				continue
			}
			at := day.Add(time.Duration(h) * time.Hour)
			class := meter.Interval
			if s.meter == "000000000101" && h == 0 {
				class = meter.Daily
			}
			stamp := at
			if s.meter == "000000000111" && h == 2 {
				stamp = at.Add(40 * time.Second)
			}
			rs = append(rs, meter.Read{Meter: s.meter, Class: class, Quantity: s.quantity, Value: dec(t, v), MeterTime: stamp, ReadAt: at.Add(5 * time.Minute), Status: meter.OK})
			if h == 4 {
				continue
			}
			// the quarters between: values that would unbalance any hour
			// they were taken for
			for q := 1; q < 4; q++ {
				rs = append(rs, meter.Read{Meter: s.meter, Class: meter.Interval, Quantity: s.quantity, Value: dec(t, "99999.00"),
					MeterTime: at.Add(time.Duration(q) * 15 * time.Minute), ReadAt: at.Add(time.Hour), Status: meter.OK})
			}
		}
	}
	return a.Index(), rs, day
}

func TestHoursHandComputed(t *testing.T) {
	ix, rs, day := hourFixture(t)
	hs := ComputeHours(ix, "H1", day.Add(15*time.Hour), NewSet(ReadingsOf(rs)), Config{Tolerance: 3 * time.Hour})
	if len(hs) != 24 {
		t.Fatalf("%d hours", len(hs))
	}
	want := []struct {
		supply, sales, loss, rate string
		class                     Class
	}{
		{"20.00", "18.00", "2.00", "10.00", Qualified},
		{"30.00", "32.00", "-2.00", "-6.67", Negative},
		{"28.00", "19.00", "9.00", "32.14", High},
	}
	for i, w := range want {
		h := hs[i]
		if !h.Provisional || h.Period.Kind != Hourly || !h.Period.Start.Equal(day.Add(time.Duration(i)*time.Hour)) {
			t.Errorf("hour %d: %+v", i, h.Period)
		}
		eqDec(t, "supply", h.Supply, w.supply)
		eqDec(t, "sales", h.Sales, w.sales)
		eqDec(t, "loss", h.Loss, w.loss)
		eqDec(t, "rate", h.Rate, w.rate)
		if h.Class != w.class {
			t.Errorf("hour %d: class %s, want %s: %v", i, h.Class, w.class, h.Reasons)
		}
	}
	if hs[3].Class != NotComputable || hs[3].Missing != 1 || hs[3].Meters[2].Issue != IssueNoRead {
		t.Errorf("hour 3: %s %d missing %+v", hs[3].Class, hs[3].Missing, hs[3].Meters[2])
	}
	for _, h := range hs[4:] {
		if h.Class != NotComputable || !h.Provisional {
			t.Errorf("%s: %s", h.Period, h.Class)
		}
	}
	// the hours add up to the balance over their span
	span := Compute(ix, "H1", Period{Kind: Hourly, Start: day, End: day.Add(3 * time.Hour)}, NewSet(ReadingsOf(rs)), Config{Tolerance: HourTolerance})
	var supply, sales, lossE Decimal
	for _, h := range hs[:3] {
		supply, _ = Add(supply, h.Supply)
		sales, _ = Add(sales, h.Sales)
		lossE, _ = Add(lossE, h.Loss)
	}
	eqDec(t, "span supply", span.Supply, "78.00")
	eqDec(t, "span sales", span.Sales, "69.00")
	if Cmp(span.Supply, supply) != 0 || Cmp(span.Sales, sales) != 0 || Cmp(span.Loss, lossE) != 0 {
		t.Errorf("hours %s/%s/%s, span %s/%s/%s", supply, sales, lossE, span.Supply, span.Sales, span.Loss)
	}
}

func TestHoursDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		testenv.Skip(t, "no zone database: %v", err)
	}
	if n := len(Hours(time.Date(2025, 3, 9, 12, 0, 0, 0, ny))); n != 23 {
		t.Errorf("spring forward: %d hours", n)
	}
	if n := len(Hours(time.Date(2025, 11, 2, 12, 0, 0, 0, ny))); n != 25 {
		t.Errorf("fall back: %d hours", n)
	}
	if p := Hour(time.Date(2025, 6, 10, 13, 47, 0, 0, zone)); p.Start.Hour() != 13 || p.End.Sub(p.Start) != time.Hour {
		t.Errorf("hour: %s", p)
	}
}

func TestReadingsOf(t *testing.T) {
	at := time.Date(2025, 6, 10, 1, 0, 0, 0, zone)
	rs := []meter.Read{
		{Meter: "1", Class: meter.Interval, Quantity: "forward active energy total", Value: dec(t, "1.00"), MeterTime: at, Status: meter.OK},
		{Meter: "1", Class: meter.Interval, Quantity: "reverse active energy total", Value: dec(t, "2.00"), ReadAt: at, Status: meter.OK},
		{Meter: "1", Class: meter.Interval, Quantity: "forward active energy total", MeterTime: at, Status: meter.Failed},
		{Meter: "1", Class: meter.Interval, Quantity: "forward active energy total tariff 1", MeterTime: at, Status: meter.OK},
		{Meter: "1", Class: meter.Interval, Quantity: "active power total", MeterTime: at, Status: meter.OK},
	}
	got := ReadingsOf(rs)
	if len(got) != 2 || got[0].Register != Forward || got[1].Register != Reverse || !got[1].Key.Time.Equal(at) || got[0].Quality != meter.Valid {
		t.Errorf("%+v", got)
	}
}
