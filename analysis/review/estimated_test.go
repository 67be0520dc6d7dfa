package review

import (
	"testing"
	"time"

	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/meter"
)

func TestRepeatingDelta(t *testing.T) {
	// C1: 5.25 kWh on 06-03, 06-04, 06-05 and 06-06 (4 days), then 6.10;
	// C2: the same for only 3 days; C3: zero for 5 days (the zero rule's)
	c1 := cumulative(t, "100.00", "4.00", "3.90", "5.25", "5.25", "5.25", "5.25", "6.10")
	c2 := cumulative(t, "100.00", "4.00", "3.90", "5.25", "5.25", "5.25", "6.00", "6.10")
	c3 := cumulative(t, "100.00", "0", "0", "0", "0", "0", "0", "0")
	vals := append(dailyValues(t, C1, d(1), c1...), dailyValues(t, C2, d(1), c2...)...)
	vals = append(vals, dailyValues(t, C3, d(1), c3...)...)
	in := &Input{Archive: fixture().Index(), Values: vals, From: d(1), To: d(10)}
	fs := review(in).Findings
	f := want(t, fs, RepeatingDelta, C1)
	if f.Day != "2025-06-06" || len(f.Evidence) != 4 || f.Evidence[0].Value != "5.25" || f.Evidence[0].Time != "2025-06-03" ||
		f.Evidence[0].What != "consumption (107.90 → 113.15)" {
		t.Errorf("finding %+v", f)
	}
	if f.Summary != "meter 000001000001 consumed exactly 5.25 kWh a day 4 days running (2025-06-03 to 2025-06-06): reads that look estimated, not taken" {
		t.Error(f.Summary)
	}
	if n := len(only(fs, RepeatingDelta)); n != 1 {
		t.Errorf("%d repeating findings: %s", n, dump(fs))
	}
	// a run ending before the range is not reported; one ending in it is
	in.From = d(7)
	none(t, review(in).Findings, RepeatingDelta)
	in.From = d(6)
	want(t, review(in).Findings, RepeatingDelta, C1)
	// the head-end's own estimates repeat by construction: not judged
	for i := range in.Values {
		if in.Values[i].Meter == C1 && i >= 3 && i <= 5 {
			in.Values[i].Quality = vee.EstimatedInterpolation
		}
	}
	none(t, review(in).Findings, RepeatingDelta)
	in.Values = vals
	none(t, review(in, func(c *Config) { c.Estimated.RepeatDays = 5 }).Findings, RepeatingDelta)
}

func TestWeeklyPattern(t *testing.T) {
	week := []string{"3.10", "4.20", "5.30", "6.40", "7.50", "8.60", "9.70"}
	c1 := cumulative(t, "500.00", append(append([]string{"2.00"}, week...), week...)...)
	// C2: the same but one day 0.01 off
	off := append([]string{}, week...)
	off[3] = "6.41"
	c2 := cumulative(t, "500.00", append(append([]string{"2.00"}, week...), off...)...)
	vals := append(dailyValues(t, C1, d(1), c1...), dailyValues(t, C2, d(1), c2...)...)
	in := &Input{Archive: fixture().Index(), Values: vals, From: d(1), To: d(20)}
	fs := review(in).Findings
	f := want(t, fs, WeeklyPattern, C1)
	if f.Day != "2025-06-15" || len(f.Evidence) != 14 || f.Evidence[0].Time != "2025-06-02" || f.Evidence[7].Value != "3.10" {
		t.Errorf("finding %+v", f)
	}
	none(t, only(fs, WeeklyPattern)[1:], WeeklyPattern)
	none(t, fs, RepeatingDelta)
	// three weeks wanted: two are not enough
	none(t, review(in, func(c *Config) { c.Estimated.Weeks = 3 }).Findings, WeeklyPattern)
}

func TestReadWithoutFrame(t *testing.T) {
	framed := okRead(C1, d(5).Add(10*time.Minute), "100.00")
	bare := okRead(C1, d(6).Add(10*time.Minute), "101.00")
	bare.Frame = meter.FrameRef{}
	bare2 := okRead(C1, d(7).Add(10*time.Minute), "102.00")
	bare2.Frame.Reply = nil
	failed := meter.Read{Meter: C2, Class: meter.Daily, Quantity: Forward, ReadAt: d(6), Status: meter.Failed}
	stranger := okRead("000009000001", d(6), "1.00") // not archived: the scan's business
	stranger.Frame = meter.FrameRef{}
	in := &Input{Archive: fixture().Index(), Reads: []meter.Read{framed, bare, bare2, failed, stranger, okRead(C2, d(6), "5.00")}, From: d(1), To: d(10)}
	fs := review(in).Findings
	f := want(t, fs, ReadWithoutFrame, C1)
	if f.Day != "2025-06-06" || evidence(t, f, "OK reads in the range").Value != "3" || evidence(t, f, "without a reply frame").Value != "2" {
		t.Errorf("finding %+v", f)
	}
	if e := f.Evidence[2]; e.Value != "101.00" || e.Time != "2025-06-06T00:00:00+08:00" || e.What != "daily forward active energy total, no reply frame" {
		t.Errorf("read evidence %+v", e)
	}
	if n := len(only(fs, ReadWithoutFrame)); n != 1 {
		t.Errorf("%d frame findings: %s", n, dump(fs))
	}
	none(t, review(in, func(c *Config) { c.Frames.From = d(8) }).Findings, ReadWithoutFrame)
}
