package analysis

import (
	"testing"
	"time"

	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// A meter that answered none of a day's reads nor the daily read after
// it is flagged no_answer by that morning's run, from its first failed
// daily read; one that answered a read of the day (intermittent) is not,
// nor is one already flagged.
func TestSilentDay(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	d0 := time.Date(2025, 6, 1, 0, 0, 0, 0, loc)
	days := []time.Time{d0, d0.AddDate(0, 0, 1), d0.AddDate(0, 0, 2)}
	a := archive.Archive{Areas: []archive.Area{{ID: "A"}}}
	for _, m := range []string{"000000000001", "000000000002", "000000000003"} {
		a.Meters = append(a.Meters, archive.Meter{Address: m, Area: "A", Role: archive.RoleCustomer, CT: 1, PT: 1})
	}
	ix := a.Index()
	rd := func(m string, c meter.Class, at time.Time, ok bool) meter.Read {
		r := meter.Read{Meter: m, Class: c, Quantity: "forward active energy total", ReadAt: at, Status: meter.Failed}
		if c != meter.Daily {
			r.Quantity = "phase A voltage"
		}
		if ok {
			r.Status, r.Value = meter.OK, dlt645.Decimal{Units: 1}
		}
		return r
	}
	var regs, inst []meter.Read
	for _, m := range []string{"000000000001", "000000000002", "000000000003"} {
		for b := 0; b <= 3; b++ {
			ok := m == "000000000003" || b < 2
			regs = append(regs, rd(m, meter.Daily, d0.AddDate(0, 0, b).Add(30*time.Minute), ok))
		}
		for _, h := range []int{3, 9, 14, 20} {
			ok := m == "000000000003" || m == "000000000002" && h == 14
			inst = append(inst, rd(m, meter.Instantaneous, days[2].Add(time.Duration(h)*time.Hour), ok))
		}
	}
	fs := silent(nil, ix, days, regs, inst)
	if len(fs) != 1 || fs[0].Meter != "000000000001" || fs[0].Kind != anomaly.NoAnswer || !fs[0].Start.Equal(days[2]) || !fs[0].End.Equal(d0.AddDate(0, 0, 3)) || fs[0].Delay != 1 {
		t.Fatalf("flags %+v", fs)
	}
	if fs := silent([]anomaly.Flag{{Kind: anomaly.NoAnswer, Meter: "000000000001"}}, ix, days, regs, inst); len(fs) != 1 {
		t.Errorf("flagged twice: %+v", fs)
	}
}

// A meter that answered the morning's reads and none from the afternoon
// on, nor its daily read, is flagged no_answer by the next morning's run;
// one that missed only the night's read (intermittent) is not.
func TestSilentSince(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	d0 := time.Date(2025, 6, 1, 0, 0, 0, 0, loc)
	days := []time.Time{d0, d0.AddDate(0, 0, 1)}
	a := archive.Archive{Areas: []archive.Area{{ID: "A"}}}
	for _, m := range []string{"000000000001", "000000000002"} {
		a.Meters = append(a.Meters, archive.Meter{Address: m, Area: "A", Role: archive.RoleCustomer, CT: 1, PT: 1})
	}
	ix := a.Index()
	rd := func(m string, c meter.Class, at time.Time, ok bool) meter.Read {
		r := meter.Read{Meter: m, Class: c, Quantity: "phase A voltage", ReadAt: at, Status: meter.Failed}
		if c == meter.Daily {
			r.Quantity = "forward active energy total"
		}
		if ok {
			r.Status, r.Value = meter.OK, dlt645.Decimal{Units: 1}
		}
		return r
	}
	var regs, inst []meter.Read
	for _, m := range []string{"000000000001", "000000000002"} {
		for b := 0; b <= 2; b++ {
			regs = append(regs, rd(m, meter.Daily, d0.AddDate(0, 0, b).Add(15*time.Minute), b < 2))
		}
		for _, h := range []int{3, 9, 14, 20} {
			ok := h < 14 || m == "000000000002"
			inst = append(inst, rd(m, meter.Instantaneous, days[1].Add(time.Duration(h)*time.Hour), ok))
		}
	}
	fs := silent(nil, ix, days, regs, inst)
	if len(fs) != 1 || fs[0].Meter != "000000000001" || fs[0].Delay != 1 {
		t.Fatalf("flags %+v", fs)
	}
}
