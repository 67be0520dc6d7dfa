package assess

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/protocol/dlt645"
)

var zone = time.FixedZone("CST", 8*3600)

const targetsCSV = "\uFEFFarea_or_group,from,to,target_rate\r\n" + `# the province's default
*,2025-01,,8
D01,2025-06,2025-06,5.5
responsible:Zhang Min,2025-01,2025-12,7
feeder:F1,2025-06,,6%
`

func dec(t testing.TB, s string) loss.Decimal {
	t.Helper()
	d, err := dlt645.ParseDecimal(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func day(m time.Month, d int) time.Time { return time.Date(2025, m, d, 0, 0, 0, 0, zone) }

func bal(area string, p loss.Period, supply, sales int64, computable bool, expected, read int) loss.Result {
	r := loss.Result{Area: area, Period: p, Supply: loss.Decimal{Units: supply}, Sales: loss.Decimal{Units: sales},
		Expected: expected, Read: read, Class: loss.Qualified}
	r.Loss, _ = loss.Sub(r.Supply, r.Sales)
	if !computable {
		r.Class = loss.NotComputable
	}
	return r
}

// fixture: the worked example of the package's tests.
//
//	area responsible  June (target)              May
//	D01  Li Wei       2200/2080 = 5.45 % (5.5)    2000/1900 = 5.00 %   day 3 not computable; 23 of 30 read
//	D02  Li Wei       6000/5580 = 7.00 % (6, F1)  3000/2790 = 7.00 %
//	D03  Zhang Min    monthly 30000/28200 = 6.00 % (7, person)   —
//	D04  —            not computable (8, *)       500/480 = 4.00 %
//
//	Li Wei: 8200/7660 = 6.59 %, target (5.5×2200 + 6×6000)/8200 = 5.87 %, May 5000/4690 = 6.20 %
func fixture(t *testing.T) Input {
	ts, err := ReadTargets(strings.NewReader(targetsCSV), "targets.csv", zone)
	if err != nil {
		t.Fatal(err)
	}
	a := &archive.Archive{Areas: []archive.Area{
		{ID: "D01", Name: "Xinhua Road", Feeder: "F1", Responsible: "Li Wei"},
		{ID: "D02", Name: "Market street", Feeder: "F1", Responsible: "Li Wei"},
		{ID: "D03", Name: "Eastern village", Feeder: "F2", Responsible: "Zhang Min"},
		{ID: "D04", Name: "Workshop park", Feeder: "F2"},
	}}
	d := func(m time.Month, n int) loss.Period { return loss.Day(day(m, n)) }
	rs := []loss.Result{
		bal("D01", d(6, 1), 1000, 950, true, 10, 10),
		bal("D01", d(6, 2), 1200, 1130, true, 10, 9),
		bal("D01", d(6, 3), 800, 100, false, 10, 4),
		bal("D01", d(5, 30), 1000, 940, true, 10, 10),
		bal("D01", d(5, 31), 1000, 960, true, 10, 10),
		bal("D02", d(6, 1), 2000, 1860, true, 10, 10),
		bal("D02", d(6, 2), 2000, 1870, true, 10, 10),
		bal("D02", d(6, 3), 2000, 1850, true, 10, 10),
		bal("D02", d(5, 30), 1500, 1400, true, 10, 10),
		bal("D02", d(5, 31), 1500, 1390, true, 10, 10),
		bal("D03", loss.Month(day(6, 15), 1, 0), 30000, 28200, true, 20, 20),
		bal("D03", d(6, 1), 1000, 900, true, 20, 20),
		bal("D03", d(6, 2), 1000, 900, true, 20, 20),
		bal("D03", d(6, 3), 1000, 900, true, 20, 20),
		bal("D04", d(6, 1), 500, 480, false, 5, 2),
		bal("D04", d(6, 2), 500, 480, false, 5, 2),
		bal("D04", d(6, 3), 500, 480, false, 5, 2),
		bal("D04", d(5, 31), 500, 480, true, 5, 5),
		bal("D04", d(7, 1), 500, 100, true, 5, 5), // another month: ignored
	}
	return Input{Archive: a.Index(), Targets: ts, Month: day(6, 20), Balances: rs}
}

type want struct {
	key, target, actual string
	qualified           bool
	previous, change    string
	collection          string
	source              string
}

func check(t *testing.T, rep Report, ws []want) {
	t.Helper()
	if len(rep.Rows) != len(ws) {
		t.Fatalf("%d rows, want %d", len(rep.Rows), len(ws))
	}
	opt := func(d loss.Decimal, ok bool) string {
		if !ok {
			return ""
		}
		return d.String()
	}
	for i, w := range ws {
		r := rep.Rows[i]
		got := want{r.Key, opt(r.Target, r.HasTarget), opt(r.Actual, r.HasActual), r.Qualified, opt(r.Previous, r.HasPrevious),
			opt(r.Change, r.HasChange), opt(r.Collection, r.HasCollection), r.Source}
		if got != w {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
}

func TestAssessByArea(t *testing.T) {
	rep, err := Assess(fixture(t), ByArea)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Period != "2025-06" || !rep.From.Equal(day(6, 1)) || !rep.To.Equal(day(7, 1)) {
		t.Errorf("period %s %s..%s", rep.Period, rep.From, rep.To)
	}
	check(t, rep, []want{
		{"D01", "5.5", "5.45", true, "5.00", "0.45", "76.7", "daily"},
		{"D02", "6", "7.00", false, "7.00", "0.00", "100.0", "daily"},
		{"D03", "7", "6.00", true, "", "", "100.0", "monthly"},
		{"D04", "8", "", false, "4.00", "", "40.0", "daily"},
	})
	if rep.Assessed != 3 || rep.Qualified != 2 {
		t.Errorf("%d of %d qualified", rep.Qualified, rep.Assessed)
	}
	r := rep.Rows[0]
	if r.Supply.String() != "2200" || r.Loss.String() != "120" || r.Days != 3 || r.ComputableDays != 2 || r.TargetFrom != "D01 (targets.csv:4)" {
		t.Errorf("D01: %+v", r)
	}
	if rep.Rows[1].TargetFrom != "feeder:F1 (targets.csv:6)" || rep.Rows[3].TargetFrom != "* (targets.csv:3)" {
		t.Errorf("target sources %q %q", rep.Rows[1].TargetFrom, rep.Rows[3].TargetFrom)
	}
}

func TestAssessByResponsible(t *testing.T) {
	rep, err := Assess(fixture(t), ByResponsible)
	if err != nil {
		t.Fatal(err)
	}
	check(t, rep, []want{
		{"", "", "", false, "4.00", "", "40.0", ""},
		{"Li Wei", "5.87", "6.59", false, "6.20", "0.39", "88.3", "daily"},
		{"Zhang Min", "7", "6.00", true, "", "", "100.0", "monthly"},
	})
	li := rep.Rows[1]
	if li.Supply.String() != "8200" || li.Sales.String() != "7660" || li.Loss.String() != "540" ||
		strings.Join(li.Areas, ",") != "D01,D02" || li.TargetFrom != "weighted by supply over 2 of 2 areas" {
		t.Errorf("Li Wei: %+v", li)
	}
	if rep.Rows[2].TargetFrom != "responsible:Zhang Min (targets.csv:5)" {
		t.Errorf("Zhang Min's target from %q", rep.Rows[2].TargetFrom)
	}
	if _, err := Assess(fixture(t), "feeder"); err == nil {
		t.Error("by feeder accepted")
	}
}

func TestTargetsFor(t *testing.T) {
	in := fixture(t)
	d01, _ := in.Archive.Area("D01")
	if tg, ok := in.Targets.For(d01, day(5, 1)); !ok || tg.Name() != "*" {
		t.Errorf("D01 in May: %+v", tg)
	}
	if tg, ok := in.Targets.For(d01, day(7, 1)); !ok || tg.Name() != "feeder:F1" {
		t.Errorf("D01 in July: %+v", tg)
	}
	if _, ok := in.Targets.For(d01, day(1, 1).AddDate(-1, 0, 0)); ok {
		t.Error("target before any from")
	}
}

func TestReadTargetsErrors(t *testing.T) {
	h := "area_or_group,from,to,target_rate\n"
	cases := []struct{ in, want string }{
		{"", "t.csv: empty file"},
		{"area,from\n", "t.csv:1:1: unknown column \"area\""},
		{"area_or_group,to,target_rate\n", "t.csv:1: header has no from column"},
		{h + "D01,2025-06,,abc\n", "t.csv:2:4: target_rate: \"abc\" is not a decimal rate"},
		{h + "D01,2025-06,,101\n", "t.csv:2:4: target_rate: 101 is not within 0..100 %"},
		{h + "D01,2025-06,,1.1234567\n", "more than 6 decimals"},
		{h + "D01,June,,5\n", "t.csv:2:2: from: \"June\" is not a month"},
		{h + "D01,,,5\n", "t.csv:2:2: from: must be set"},
		{h + "D01,2025-06,2025-05,5\n", "t.csv:2:3: to: 2025-05 is before from"},
		{h + "tariff:x,2025-06,,5\n", "unknown group \"tariff\""},
		{h + "feeder:,2025-06,,5\n", "names no feeder"},
		{h + "D01,2025-01,2025-06,5\nD01,2025-06-30,,6\n", "t.csv:3: target for D01 overlaps the one of t.csv:2"},
		{h + "D01,2025-06\n", "t.csv:2: 2 cells, the header has 4"},
		{h + "D01,\"2025\n", "t.csv:2:"},
	}
	for _, c := range cases {
		_, err := ReadTargets(strings.NewReader(c.in), "t.csv", zone)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
	// adjacent spans do not overlap
	if _, err := ReadTargets(strings.NewReader(h+"D01,2025-01,2025-05,5\nD01,2025-06,,6\n"), "t.csv", zone); err != nil {
		t.Error(err)
	}
}

func FuzzReadTargets(f *testing.F) {
	f.Add(targetsCSV)
	f.Add("area_or_group,from,to,target_rate\nD01,2025-06-01,2025-06-30,5.5\n")
	f.Add("target_rate,area_or_group,from\n6,*,2025-01\n")
	f.Fuzz(func(t *testing.T, in string) {
		ts, err := ReadTargets(strings.NewReader(in), "f.csv", zone)
		if err != nil {
			return
		}
		for i := range ts {
			tg := &ts[i]
			if tg.From.IsZero() || (!tg.To.IsZero() && !tg.To.After(tg.From)) || loss.Sign(tg.Rate) < 0 || tg.Scope == "" {
				t.Fatalf("target %+v", tg)
			}
			for j := range i {
				if o := &ts[j]; o.Scope == tg.Scope && o.Value == tg.Value && overlap(o, tg) {
					t.Fatalf("%s and %s overlap", o.Where, tg.Where)
				}
			}
		}
	})
}

func TestWriteCSV(t *testing.T) {
	rep, _ := Assess(fixture(t), ByArea)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, &rep); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 || strings.Join(recs[0], ",") != strings.Join(CSVColumns, ",") {
		t.Fatalf("%q", recs)
	}
	if got := strings.Join(recs[1][:17], ","); got != "2025-06,area,D01,Xinhua Road,Li Wei,,5.5,5.45,true,5.00,0.45,76.7,2200,2080,120,3,2" {
		t.Errorf("D01 line %s", got)
	}
	if got := strings.Join(recs[4][6:15], ","); got != "8,,false,4.00,,40.0,,," {
		t.Errorf("D04 line %s", got)
	}
}

func TestWriteHTML(t *testing.T) {
	for _, by := range []By{ByArea, ByResponsible} {
		rep, _ := Assess(fixture(t), by)
		var buf bytes.Buffer
		if err := WriteHTML(&buf, &rep, Page{Generated: day(7, 2)}); err != nil {
			t.Fatal(err)
		}
		page := buf.String()
		for _, s := range []string{"@page", "@media print", "2025-06-01 to 2025-06-30", "NOT qualified", "2 of 3 assessed qualified"} {
			if by == ByResponsible && s == "2 of 3 assessed qualified" {
				s = "1 of 2 assessed qualified"
			}
			if !strings.Contains(page, s) {
				t.Errorf("by %s: no %q in the page", by, s)
			}
		}
		if strings.Contains(strings.ToLower(page), "<script") {
			t.Error("the page has a script")
		}
	}
	rep, _ := Assess(fixture(t), ByResponsible)
	rep.Rows[1].Key = "<b>x</b>"
	var buf bytes.Buffer
	WriteHTML(&buf, &rep, Page{})
	if strings.Contains(buf.String(), "<b>x</b>") {
		t.Error("names are not escaped")
	}
}
