package loss

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/archive"
)

// fiveFixture: four areas over 2025-05-31, 06-01 and 06-02; C is not
// computable on 05-31, D on 06-02.
//
//	area feeder level responsible  05-31      06-01      06-02
//	A    F1     10kV  Li Wei       900/860    1000/950   1100/1000
//	B    F1     10kV  Li Wei       400/390     500/480    520/530
//	C    F2     10kV  Zhang Min    (700/600)   800/700    800/720
//	D    F2     20kV  —            300/280     300/290   (300/100)
func fiveFixture(t *testing.T) ([]Result, *archive.Index) {
	a := &archive.Archive{Areas: []archive.Area{
		{ID: "A", Feeder: "F1", VoltageLevel: "10kV", Responsible: "Li Wei"},
		{ID: "B", Feeder: "F1", VoltageLevel: "10kV", Responsible: "Li Wei"},
		{ID: "C", Feeder: "F2", VoltageLevel: "10kV", Responsible: "Zhang Min"},
		{ID: "D", Feeder: "F2", VoltageLevel: "20kV"},
	}}
	fig := map[string][3][2]int{
		"A": {{900, 860}, {1000, 950}, {1100, 1000}},
		"B": {{400, 390}, {500, 480}, {520, 530}},
		"C": {{700, 600}, {800, 700}, {800, 720}},
		"D": {{300, 280}, {300, 290}, {300, 100}},
	}
	var rs []Result
	for d := range 3 {
		day := time.Date(2025, 5, 31+d, 0, 0, 0, 0, zone)
		for _, ar := range a.Areas {
			f := fig[ar.ID][d]
			r := result(ar, Day(day), f[0], f[1])
			if ar.ID == "C" && d == 0 || ar.ID == "D" && d == 2 {
				r.Class, r.HasRate, r.Rate = NotComputable, false, Decimal{}
			}
			rs = append(rs, r)
		}
	}
	return rs, a.Index()
}

func result(a archive.Area, p Period, supply, sales int) Result {
	r := Result{Area: a.ID, Feeder: a.Feeder, VoltageLevel: a.VoltageLevel, Period: p,
		Supply: Decimal{Units: int64(supply) * 100, Scale: 2}, Sales: Decimal{Units: int64(sales) * 100, Scale: 2}}
	r.Loss, _ = Sub(r.Supply, r.Sales)
	r.Rate, r.HasRate = Percent(r.Loss, r.Supply, 2)
	r.Class = Qualified
	return r
}

func TestSummariseHandComputed(t *testing.T) {
	rs, ix := fiveFixture(t)
	type row struct{ key, supply, sales, loss, rate string }
	want := map[Level][]row{
		ByFeeder:       {{"F1", "4420.00", "4210.00", "210.00", "4.75"}, {"F2", "2200.00", "1990.00", "210.00", "9.55"}},
		ByVoltageLevel: {{"10kV", "6020.00", "5630.00", "390.00", "6.48"}, {"20kV", "600.00", "570.00", "30.00", "5.00"}},
		ByArea: {{"A", "3000.00", "2810.00", "190.00", "6.33"}, {"B", "1420.00", "1400.00", "20.00", "1.41"},
			{"C", "1600.00", "1420.00", "180.00", "11.25"}, {"D", "600.00", "570.00", "30.00", "5.00"}},
		BySeason:      {{"spring", "1600.00", "1530.00", "70.00", "4.38"}, {"summer", "5020.00", "4670.00", "350.00", "6.97"}},
		ByResponsible: {{"", "600.00", "570.00", "30.00", "5.00"}, {"Li Wei", "4420.00", "4210.00", "210.00", "4.75"}, {"Zhang Min", "1600.00", "1420.00", "180.00", "11.25"}},
	}
	for _, level := range Levels {
		gs, total, err := Summarise(rs, level, Options{Archive: ix})
		if err != nil {
			t.Fatal(err)
		}
		eqDec(t, string(level)+" total supply", total.Supply, "6620.00")
		eqDec(t, string(level)+" total sales", total.Sales, "6200.00")
		eqDec(t, string(level)+" total loss", total.Loss, "420.00")
		eqDec(t, string(level)+" total rate", total.Rate, "6.34") // 420/6620 = 6.344…
		if total.Balances != 12 || total.Computable != 10 || !slices.Equal(total.Excluded, []string{"C 2025-05-31T00:00", "D 2025-06-02T00:00"}) {
			t.Errorf("%s total: %d/%d %v", level, total.Balances, total.Computable, total.Excluded)
		}
		if len(gs) != len(want[level]) {
			t.Fatalf("%s: %d groups, want %d", level, len(gs), len(want[level]))
		}
		for i, w := range want[level] {
			g := gs[i]
			if g.Key != w.key {
				t.Errorf("%s group %d: key %q, want %q", level, i, g.Key, w.key)
			}
			eqDec(t, string(level)+" "+w.key+" supply", g.Supply, w.supply)
			eqDec(t, string(level)+" "+w.key+" sales", g.Sales, w.sales)
			eqDec(t, string(level)+" "+w.key+" loss", g.Loss, w.loss)
			eqDec(t, string(level)+" "+w.key+" rate", g.Rate, w.rate)
		}
	}
	gs, _, _ := Summarise(rs, BySeason, Options{})
	if !gs[0].From.Equal(time.Date(2025, 5, 31, 0, 0, 0, 0, zone)) || !gs[1].To.Equal(time.Date(2025, 6, 3, 0, 0, 0, 0, zone)) {
		t.Errorf("season spans %s..%s, %s..%s", gs[0].From, gs[0].To, gs[1].From, gs[1].To)
	}
	if _, _, err := Summarise(rs, "tariff", Options{}); err == nil {
		t.Error("unknown level accepted")
	}
}

// On random balances every roll-up's groups add up exactly to the same
// total, and each leaves out the same not computable balances.
func TestSummariseAddsUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 5))
	a := &archive.Archive{}
	people := []string{"", "Li Wei", "Zhang Min", "Wang Fang"}
	for i := range 40 {
		a.Areas = append(a.Areas, archive.Area{ID: fmt.Sprintf("A%02d", i), Feeder: fmt.Sprintf("F%d", rng.IntN(6)),
			VoltageLevel: []string{"10kV/0.4kV", "20kV/0.4kV", "35kV/10kV"}[rng.IntN(3)], Responsible: people[rng.IntN(len(people))]})
	}
	var rs []Result
	for d := range 120 {
		day := time.Date(2025, 1, 15, 0, 0, 0, 0, zone).AddDate(0, 0, d)
		for _, ar := range a.Areas {
			r := result(ar, Day(day), 0, 0)
			r.Supply = Decimal{Units: rng.Int64N(1e8), Scale: 2}
			r.Sales = Decimal{Units: rng.Int64N(1e8), Scale: 2}
			r.Loss, _ = Sub(r.Supply, r.Sales)
			if rng.IntN(10) == 0 {
				r.Class = NotComputable
			}
			rs = append(rs, r)
		}
	}
	seasons, err := ParseSeasons("dry=11-4;wet=5-10")
	if err != nil {
		t.Fatal(err)
	}
	var ref Sum
	for i, level := range Levels {
		gs, total, err := Summarise(rs, level, Options{Archive: a.Index(), Seasons: seasons})
		if err != nil {
			t.Fatal(err)
		}
		var supply, sales, lossE Decimal
		var excluded []string
		n := 0
		for _, g := range gs {
			supply, _ = Add(supply, g.Supply)
			sales, _ = Add(sales, g.Sales)
			lossE, _ = Add(lossE, g.Loss)
			excluded = append(excluded, g.Excluded...)
			n += g.Computable
		}
		slices.Sort(excluded)
		if Cmp(supply, total.Supply) != 0 || Cmp(sales, total.Sales) != 0 || Cmp(lossE, total.Loss) != 0 || n != total.Computable {
			t.Errorf("%s: groups %s/%s/%s (%d), total %s/%s/%s (%d)", level, supply, sales, lossE, n, total.Supply, total.Sales, total.Loss, total.Computable)
		}
		if !slices.Equal(excluded, total.Excluded) {
			t.Errorf("%s: the groups leave out other balances than the total", level)
		}
		if i == 0 {
			ref = total
			continue
		}
		if Cmp(ref.Supply, total.Supply) != 0 || Cmp(ref.Loss, total.Loss) != 0 || !slices.Equal(ref.Excluded, total.Excluded) {
			t.Errorf("%s total differs from %s total", level, Levels[0])
		}
	}
	if len(ref.Excluded) == 0 || ref.Computable == 0 {
		t.Fatal("fixture has no excluded or no computable balances")
	}
}

func TestParseSeasons(t *testing.T) {
	s, err := ParseSeasons(" spring=3-5; summer=6,7,8 ;autumn=9-11;winter=12-2")
	if err != nil {
		t.Fatal(err)
	}
	if s.String() != DefaultSeasons().String() || s.String() != "winter=1,2,12;spring=3,4,5;summer=6,7,8;autumn=9,10,11" {
		t.Errorf("%s", s)
	}
	for _, bad := range []string{"", "spring=3-5", "a=1-12;b=3", "a=0-11", "a=1-x", "=1-12", "a"} {
		if _, err := ParseSeasons(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, _, err := Summarise(nil, BySeason, Options{Seasons: Seasons{time.June: "x"}}); err == nil || !strings.Contains(err.Error(), "in no season") {
		t.Errorf("partial seasons: %v", err)
	}
}

func FuzzParseSeasons(f *testing.F) {
	f.Add("spring=3-5;summer=6-8;autumn=9-11;winter=12-2")
	f.Add("dry=11-4;wet=5-10")
	f.Add("a=1,2,3,4,5,6,7,8,9,10,11,12")
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ParseSeasons(spec)
		if err != nil {
			return
		}
		if s.Check() != nil {
			t.Fatalf("%q parsed to incomplete seasons", spec)
		}
		again, err := ParseSeasons(s.String())
		if err != nil || again.String() != s.String() {
			t.Fatalf("%q: %s does not read back: %v", spec, s, err)
		}
	})
}
