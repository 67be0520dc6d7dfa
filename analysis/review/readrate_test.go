package review

import (
	"testing"
	"time"

	"github.com/headend/headend/meter"
)

func TestReadRates(t *testing.T) {
	var reads []meter.Read
	at := func(day int) time.Time { return d(day).Add(20 * time.Minute) }
	// A1's four meters are read every day from 06-01 to 06-05, except C3
	// on 06-03 and 06-04 (a failed read on 06-03, nothing on 06-04); A2's
	// two meters every day.
	for day := 1; day <= 5; day++ {
		for _, m := range []string{AM, C1, C2, C3, BM, B1} {
			if m == C3 && (day == 3 || day == 4) {
				if day == 3 {
					reads = append(reads, meter.Read{Meter: C3, Class: meter.Daily, Quantity: Forward, ReadAt: at(day), Status: meter.Failed, Err: "timeout"})
				}
				continue
			}
			reads = append(reads, okRead(m, at(day), "1.00"))
		}
	}
	in := &Input{Archive: fixture().Index(), Reads: reads, From: d(2), To: d(5)}
	rep := review(in)
	rate := func(day, area, conc string) Rate {
		for _, r := range rep.Rates {
			if r.Day == day && r.Area == area && r.Concentrator == conc {
				return r
			}
		}
		t.Fatalf("no rate %s %s %s in %+v", day, area, conc, rep.Rates)
		return Rate{}
	}
	// C3's last OK read was at 06-02 00:20: 47 h 40 min by the end of
	// 06-03, 71 h 40 min by the end of 06-04, and its next came after 72 h
	if r := rate("2025-06-03", "A1", "K1"); r.Expected != 4 || r.Read != 3 || r.Rate != "75.00" || r.MaxGapHours != "47.7" {
		t.Errorf("K1 06-03: %+v", r)
	}
	if r := rate("2025-06-04", "A1", ""); r.Read != 3 || r.MaxGapHours != "71.7" {
		t.Errorf("A1 06-04: %+v", r)
	}
	if r := rate("2025-06-05", "A1", "K1"); r.Read != 4 || r.Rate != "100.00" || r.MaxGapHours != "72.0" {
		t.Errorf("K1 06-05: %+v", r)
	}
	if r := rate("2025-06-02", "A2", "K2"); r.Expected != 2 || r.Rate != "100.00" {
		t.Errorf("K2: %+v", r)
	}
	if len(rep.Rates) != 4*4 {
		t.Errorf("%d rates, want 16 (2 areas and 2 concentrators, 4 days)", len(rep.Rates))
	}
	// below 98 %: the concentrator is flagged, not again the area it alone serves
	low := only(rep.Findings, ReadRateLow)
	if len(low) != 2 || low[0].Concentrator != "K1" || low[0].Day != "2025-06-03" || low[1].Day != "2025-06-04" {
		t.Fatalf("low rates: %s", dump(low))
	}
	if low[0].Summary != "concentrator K1 read 3 of its 4 meters on 2025-06-03: an actual-read rate of 75.00 %, below 98 %" {
		t.Error(low[0].Summary)
	}
	if got := only(review(in, func(c *Config) { c.ReadRate.MinRate = decimal(t, "75") }).Findings, ReadRateLow); len(got) != 0 {
		t.Errorf("at exactly the minimum: %s", dump(got))
	}
	// C3 went 72 h between OK reads: more than 48 h
	g := want(t, rep.Findings, ReadGap, C3)
	if g.Day != "2025-06-05" || evidence(t, g, "longest").Value != "72.0" || evidence(t, g, "OK read before").Time != "2025-06-02T00:20:00+08:00" {
		t.Errorf("gap %+v", g)
	}
	none(t, review(in, func(c *Config) { c.ReadRate.MaxGap = 72 * time.Hour }).Findings, ReadGap)
}

// A meter that stops answering leaves a gap open at the range's end.
func TestReadGapOpen(t *testing.T) {
	reads := []meter.Read{okRead(C1, d(1).Add(time.Hour), "1.00"), okRead(C1, d(2).Add(time.Hour), "2.00")}
	for _, m := range []string{AM, C2, C3, BM, B1} {
		for day := 1; day <= 6; day++ {
			reads = append(reads, okRead(m, d(day).Add(time.Hour), "1.00"))
		}
	}
	in := &Input{Archive: fixture().Index(), Reads: reads, From: d(3), To: d(6)}
	g := want(t, review(in).Findings, ReadGap, C1)
	if g.Day != "2025-06-06" || evidence(t, g, "longest").Value != "119.0" {
		t.Errorf("open gap %+v", g)
	}
	if g.Summary != "meter 000001000001 went 119.0 h without an OK read (its last OK read at 2025-06-02T01:00:00+08:00, none up to 2025-06-07T00:00:00+08:00), more than 48h0m0s" {
		t.Error(g.Summary)
	}
}

// Before a meter's first OK read there is no gap (the reads may start
// there); a meter that never read is flagged only when reads of it failed.
func TestReadGapStart(t *testing.T) {
	var reads []meter.Read
	for _, m := range []string{AM, C1, BM, B1} {
		for day := 5; day <= 8; day++ {
			reads = append(reads, okRead(m, d(day).Add(time.Hour), "1.00"))
		}
	}
	reads = append(reads, meter.Read{Meter: C2, Class: meter.Daily, Quantity: Forward, ReadAt: d(6), Status: meter.Failed})
	in := &Input{Archive: fixture().Index(), Reads: reads, From: d(1), To: d(8)}
	rep := review(in)
	g := want(t, rep.Findings, ReadGap, C2)
	if g.Summary != "meter 000001000002 went 240.0 h without an OK read (none in the reads looked at, from 2025-05-30T00:00:00+08:00; 1 failed, none up to 2025-06-09T00:00:00+08:00), more than 48h0m0s" {
		t.Error(g.Summary)
	}
	if n := len(only(rep.Findings, ReadGap)); n != 1 {
		t.Errorf("gaps: %s", dump(rep.Findings))
	}
	for _, r := range rep.Rates {
		if r.Day == "2025-06-04" && r.Area == "A2" && r.MaxGapHours != "0.0" {
			t.Errorf("a gap before the first reads: %+v", r)
		}
	}
}
