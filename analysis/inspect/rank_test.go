package inspect

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/analysis/assess"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/archive"
)

var zone = time.FixedZone("CST", 8*3600)

func day(m time.Month, d int) time.Time { return time.Date(2025, m, d, 0, 0, 0, 0, zone) }

func kwh(n float64) loss.Decimal { return loss.Decimal{Units: int64(n * 100), Scale: 2} }

// bal is a computable daily balance with the net energy of some meters.
func bal(area string, at time.Time, supply, lossE float64, meters map[string]float64, missing []string) loss.Result {
	r := loss.Result{Area: area, Period: loss.Day(at), Supply: kwh(supply), Loss: kwh(lossE), Class: loss.Qualified,
		AreaMeter: &loss.MeterResult{Meter: area + "M", Status: loss.StatusRead, Forward: loss.Delta{Energy: kwh(supply)}}}
	r.Sales, _ = loss.Sub(r.Supply, r.Loss)
	for m, e := range meters {
		r.Meters = append(r.Meters, loss.MeterResult{Meter: m, Status: loss.StatusRead, Forward: loss.Delta{Energy: kwh(e)}})
	}
	for _, m := range missing {
		r.Meters = append(r.Meters, loss.MeterResult{Meter: m, Status: loss.StatusMissing})
	}
	r.Expected, r.Missing = len(r.Meters), len(missing)
	r.Read = r.Expected - r.Missing
	return r
}

// fixture is the worked example of the ranking, June 2025 against May:
//
//	A1 (F1, target 5): May 1000/40 a day = 4.00 %, June 1000/60 = 6.00 %:
//	   1.00 over target; +2.00 pp, of which customer A1C1 (stopped in June:
//	   10 kWh a day in May, 0 now) explains 10/1000 = 1.00 pp, 1.00 pp not;
//	   a theft flag on A1C2 of confidence 0.5 (×4 = 2), the stopped flag 0.5:
//	   score 1 + 1 + 2 + 0.5 = 4.50
//	A2 (F1, target 6): June 2000/100 = 5.00 %, no May; a high archive
//	   finding (4); meter A2C9 missing on 5 of 10 days: 5 of 100 meter-days,
//	   5 % × 0.2 = 1: score 5.00
//	A3 (F2, no target: 10): June 500/75 = 15.00 %: 5.00 over; cover opened,
//	   a tamper flag (0.9 × 1.5 = 1.35); theft ranking suspects A3C1 at 0.40
//	   (×2 = 0.80): score 7.15
//	F1: June 30000/1600 = 5.33 %, held to (5×10000 + 6×20000)/30000 = 5.67 %;
//	   May 10000/400 = 4.00 %: +1.33 pp, A1C1 explains 10 kWh of 3000 a day
//	   = 0.33 pp: 1.00 pp unexplained: score 1.00 (0.9967)
//	F2: 15.00 % over 10: score 5.00
func fixture(t *testing.T) Input {
	a := &archive.Archive{
		Areas: []archive.Area{{ID: "A1", Feeder: "F1"}, {ID: "A2", Feeder: "F1"}, {ID: "A3", Feeder: "F2"}},
		Meters: []archive.Meter{
			{Address: "A1M", Area: "A1", Role: archive.RoleArea}, {Address: "A1C1", Area: "A1", Role: archive.RoleCustomer},
			{Address: "A1C2", Area: "A1", Role: archive.RoleCustomer}, {Address: "A2M", Area: "A2", Role: archive.RoleArea},
			{Address: "A2C9", Area: "A2", Role: archive.RoleCustomer}, {Address: "A3M", Area: "A3", Role: archive.RoleArea},
			{Address: "A3C1", Area: "A3", Role: archive.RoleCustomer},
		},
	}
	ts, err := assess.ReadTargets(strings.NewReader("area_or_group,from,to,target_rate\nA1,2025-01,,5\nA2,2025-01,,6\n"), "t.csv", zone)
	if err != nil {
		t.Fatal(err)
	}
	var rs []loss.Result
	for d := 1; d <= 10; d++ {
		rs = append(rs, bal("A1", day(5, 10+d), 1000, 40, map[string]float64{"A1C1": 10, "A1C2": 20}, nil))
		rs = append(rs, bal("A1", day(6, d), 1000, 60, map[string]float64{"A1C1": 0, "A1C2": 15}, nil))
		var miss []string
		if d%2 == 0 {
			miss = []string{"A2C9"}
		}
		r := bal("A2", day(6, d), 2000, 100, map[string]float64{}, miss)
		if miss == nil {
			r.Meters = append(r.Meters, loss.MeterResult{Meter: "A2C9", Status: loss.StatusRead})
			r.Expected, r.Read = 1, 1
		}
		r.Expected += 8 // 9 customers: 8 never in question
		r.Read += 8
		rs = append(rs, r)
		rs = append(rs, bal("A3", day(6, d), 500, 75, nil, nil))
	}
	nc := bal("A3", day(6, 11), 500, 400, nil, nil)
	nc.Class = loss.NotComputable // left out of the rate
	rs = append(rs, nc, bal("A3", day(7, 1), 500, 400, nil, nil))
	flags := []anomaly.Flag{
		{Kind: anomaly.Stopped, Area: "A1", Meter: "A1C1", Start: day(6, 1), End: day(6, 10), Confidence: 0.9, Summary: "no energy"},
		{Kind: anomaly.Theft, Area: "A1", Meter: "A1C2", Start: day(6, 3), End: day(6, 10), Confidence: 0.5, Summary: "drop",
			Figures: []anomaly.Figure{{Name: "deficit", Value: kwh(5), Unit: "kWh"}}},
		{Kind: anomaly.CoverOpened, Area: "A3", Meter: "A3C1", Start: day(6, 5), End: day(6, 5), Confidence: 0.9},
		{Kind: anomaly.Theft, Area: "A3", Meter: "A3C1", Start: day(4, 1), End: day(4, 30), Confidence: 0.9}, // over before June
	}
	theft := []anomaly.Ranking{
		{Area: "A3", WindowEnd: day(6, 9), Candidates: []anomaly.Candidate{{Meter: "A3C1", Score: 0.9}}},
		{Area: "A3", WindowEnd: day(6, 10), Excess: 3.5, Candidates: []anomaly.Candidate{{Meter: "A3C1", Score: 0.4, Deficit: 3, DeficitPct: 20}}},
		{Area: "A3", WindowEnd: day(7, 3), Candidates: []anomaly.Candidate{{Meter: "A3C1", Score: 1}}}, // after June
	}
	fs := []Finding{{Rule: "exchange_removal_below_billed", Severity: High, Meter: "A2C9", Summary: "removal reading below billed"}}
	return Input{Archive: a.Index(), Month: day(6, 15), Balances: rs, Flags: flags, Theft: theft, Findings: fs, Targets: ts}
}

func TestRankHandComputed(t *testing.T) {
	items := Rank(fixture(t))
	got := make([]string, len(items))
	for i, it := range items {
		got[i] = fmt.Sprintf("%d %s %s %.2f %s/%s %s/%s", it.Rank, it.Kind, it.Target, it.Score, it.Rate, it.Threshold, it.Change, it.Unexplained)
	}
	want := []string{
		"1 area A3 7.15 15.00/10 /",
		"2 area A2 5.00 5.00/6 /",
		"3 line F2 5.00 15.00/10.00 /",
		"4 area A1 4.50 6.00/5 2.00/1.00",
		"5 line F1 1.00 5.33/5.67 1.33/1.00",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	a1 := items[3]
	rules := map[string]bool{}
	for _, f := range a1.Evidence {
		rules[f.Rule] = true
	}
	if !rules["theft"] || !rules["stopped"] || a1.Evidence[0].Rule != "theft" || a1.Evidence[0].Meter != "A1C2" {
		t.Errorf("A1 evidence %+v", a1.Evidence)
	}
	if !strings.Contains(a1.Summary, "theft suspected on A1C2 (0.50)") || !strings.Contains(a1.Summary, "1.00 pp of it not explained") {
		t.Errorf("A1 summary %q", a1.Summary)
	}
	a2 := items[1]
	if len(a2.Evidence) != 2 || a2.Evidence[0].Rule != "exchange_removal_below_billed" || a2.Evidence[1].Rule != "missing_reads" ||
		a2.Evidence[1].Severity != Medium || a2.Evidence[1].Evidence[0].Meter != "A2C9" || a2.Evidence[1].Evidence[0].Value != "5" {
		t.Errorf("A2 evidence %+v", a2.Evidence)
	}
	a3 := items[0]
	if len(a3.Evidence) != 2 || a3.Evidence[1].Rule != "theft_ranking" || a3.Evidence[1].Day != "2025-06-10" ||
		!strings.Contains(a3.Evidence[1].Summary, "suspects A3C1 (0.40)") {
		t.Errorf("A3 evidence %+v", a3.Evidence)
	}
	f1 := items[4]
	if len(f1.Evidence) != 2 || f1.Evidence[0].Area != "A1" || f1.Evidence[0].Rule != "line_area" {
		t.Errorf("F1 evidence %+v", f1.Evidence)
	}
}

func TestRankVerificationAndTop(t *testing.T) {
	in := fixture(t)
	in.VerifyDue = func(m *archive.Meter) time.Time {
		if m.Address == "A3M" {
			return day(5, 1)
		}
		return day(12, 1) // not yet
	}
	in.Top = 2
	items := Rank(in)
	if len(items) != 2 || items[0].Target != "A3" || items[0].Score != 9.15 || items[1].Target != "A2" {
		t.Fatalf("%+v", items)
	}
	last := items[0].Evidence[len(items[0].Evidence)-1]
	if last.Rule != "verification_overdue" || last.Meter != "A3M" || last.Day != "2025-05-01" {
		t.Errorf("A3 evidence %+v", items[0].Evidence)
	}
	// the review already says so: not twice
	in.Findings = append(in.Findings, Finding{Rule: "verification_overdue", Severity: Medium, Area: "A3", Meter: "A3M"})
	items = Rank(in)
	n := 0
	for _, f := range items[0].Evidence {
		if f.Rule == "verification_overdue" {
			n++
		}
	}
	if n != 1 || items[0].Score != 9.15 {
		t.Errorf("%d verification findings, score %.2f", n, items[0].Score)
	}
}

func TestRankMovedMeter(t *testing.T) {
	in := fixture(t)
	in.Findings = nil
	in.Flags = append(in.Flags, anomaly.Flag{Kind: anomaly.MovedMeter, Area: "A2", Other: "A1", Meter: "A2C9", Start: day(6, 1), Confidence: 0.75})
	items := Rank(in)
	score := map[string]float64{}
	for _, it := range items {
		score[it.Target] = it.Score
		if it.Target == "A1" && (it.Evidence[1].Rule != "moved_meter" || !strings.Contains(it.Evidence[1].Summary, "seems to be in A1")) {
			t.Errorf("A1 evidence %+v", it.Evidence)
		}
	}
	// 0.75 × 4 = 3 on both areas
	if score["A1"] != 7.50 || score["A2"] != 4.00 {
		t.Errorf("scores %v", score)
	}
}

func TestFindingsOf(t *testing.T) {
	type ev struct {
		What  string `json:"what"`
		Value string `json:"value"`
	}
	type review struct {
		Rule     string `json:"rule"`
		Severity string `json:"severity"`
		Area     string `json:"area"`
		Summary  string `json:"summary"`
		Evidence []ev   `json:"evidence"`
	}
	fs, err := FindingsOf([]review{{Rule: "r", Severity: High, Area: "D01", Summary: "s", Evidence: []ev{{"x", "1"}}}})
	if err != nil || len(fs) != 1 || fs[0].Rule != "r" || fs[0].Evidence[0].Value != "1" {
		t.Fatalf("%+v %v", fs, err)
	}
	fs, err = FindingsOf([]byte(`{"findings":[{"rule":"a","severity":"low"}]}`))
	if err != nil || len(fs) != 1 || fs[0].Rule != "a" {
		t.Fatalf("%+v %v", fs, err)
	}
	if _, err := FindingsOf([]byte(`{"findings":3}`)); err == nil {
		t.Error("bad JSON accepted")
	}
}

// The review's findings score once per rule, for the most severe; the
// same finding twice (the review and the archive checks) counts once; a
// data-collection rule weighs a quarter; an item lists at most 5 findings
// of a rule.
//
//	A2: exchange (high, twice) 4 + 8 reads without frames (medium) 2 × 0.25 + missing reads 1 = 5.50
func TestRankFindingsPerRule(t *testing.T) {
	in := fixture(t)
	in.Findings = append(in.Findings, in.Findings[0])
	for i := range 8 {
		in.Findings = append(in.Findings, Finding{Rule: "read_without_frame", Severity: Medium, Area: "A2", Meter: fmt.Sprintf("A2C%d", i), Summary: "no frame"})
	}
	var a2 *Item
	items := Rank(in)
	for i := range items {
		if items[i].Target == "A2" {
			a2 = &items[i]
		}
	}
	if a2 == nil || a2.Score != 5.50 {
		t.Fatalf("A2: %+v", a2)
	}
	n := map[string]int{}
	for _, f := range a2.Evidence {
		n[f.Rule]++
	}
	if n["exchange_removal_below_billed"] != 1 || n["read_without_frame"] != 6 || n["missing_reads"] != 1 ||
		a2.Evidence[6].Summary != "and 3 more findings of read_without_frame" {
		t.Errorf("A2 evidence %v: %+v", n, a2.Evidence)
	}
	if !strings.Contains(a2.Summary, "archive: read_without_frame A2C0 and 7 more") {
		t.Errorf("A2 summary %q", a2.Summary)
	}
}
