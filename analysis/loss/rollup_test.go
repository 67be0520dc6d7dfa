package loss

import (
	"fmt"
	"slices"
	"testing"

	"github.com/headend/headend/archive"
)

// Four areas on two feeders and two voltage levels, over two days; area
// D's area meter is not read on day 2.
//
//	area feeder level  day 1 supply/sales   day 2 supply/sales
//	A    F1     10kV   1000 / 950           1100 / 1000
//	B    F1     10kV    500 / 480            520 /  530 (negative)
//	C    F2     10kV    800 / 700            800 /  720
//	D    F2     20kV    300 / 290            (not computable)
func rollupFixture(t *testing.T) []Result {
	type fig struct{ supply, sales [2]int }
	areas := []struct {
		id, feeder, level string
		f                 fig
	}{
		{"A", "F1", "10kV", fig{[2]int{1000, 1100}, [2]int{950, 1000}}},
		{"B", "F1", "10kV", fig{[2]int{500, 520}, [2]int{480, 530}}},
		{"C", "F2", "10kV", fig{[2]int{800, 800}, [2]int{700, 720}}},
		{"D", "F2", "20kV", fig{[2]int{300, 0}, [2]int{290, 0}}},
	}
	a := &archive.Archive{}
	var rs []Reading
	for i, ar := range areas {
		a.Areas = append(a.Areas, archive.Area{ID: ar.id, Feeder: ar.feeder, VoltageLevel: ar.level})
		am, cm := fmt.Sprintf("0000000010%02d", i), fmt.Sprintf("0000000020%02d", i)
		a.Meters = append(a.Meters, archiveMeter(am, ar.id, archive.RoleArea, 1), archiveMeter(cm, ar.id, archive.RoleCustomer, 1))
		fa, fc := 0, 0
		for d := range 2 {
			at := day1.AddDate(0, 0, d)
			ra := reads(t, am, at, fmt.Sprint(fa), fmt.Sprint(fa+ar.f.supply[d]), "0", "0")
			rc := reads(t, cm, at, fmt.Sprint(fc), fmt.Sprint(fc+ar.f.sales[d]), "0", "0")
			if ar.id == "D" && d == 1 {
				ra = ra[:1] // no end read
			}
			rs = append(rs, ra...)
			rs = append(rs, rc...)
			fa += ar.f.supply[d]
			fc += ar.f.sales[d]
		}
	}
	ix, set := a.Index(), NewSet(rs)
	var out []Result
	for d := range 2 {
		out = append(out, ComputeAll(ix, Day(day1.AddDate(0, 0, d)), set, Config{})...)
	}
	return out
}

// TestSummarisePerDay is the hand-computed day-by-day roll-up, one
// Summarise per day: feeder F1 day 2 = A + B; F2 day 2 = C only, D left
// out; 10 kV day 1 = A + B + C.
func TestSummarisePerDay(t *testing.T) {
	rs := rollupFixture(t)
	day := func(d int) []Result {
		var out []Result
		for _, r := range rs {
			if r.Period.Start.Equal(day1.AddDate(0, 0, d)) {
				out = append(out, r)
			}
		}
		return out
	}
	gs, _, err := Summarise(day(1), ByFeeder, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 || gs[0].Key != "F1" || gs[1].Key != "F2" {
		t.Fatalf("groups %+v", gs)
	}
	f1d2, f2d2 := gs[0], gs[1]
	eqDec(t, "F1 day 2 supply", f1d2.Supply, "1620")
	eqDec(t, "F1 day 2 loss", f1d2.Loss, "90")
	eqDec(t, "F1 day 2 rate", f1d2.Rate, "5.56") // 90/1620 = 5.5555…
	if !slices.Equal(f2d2.Areas, []string{"C", "D"}) || f2d2.Computable != 1 || len(f2d2.Excluded) != 1 || f2d2.Excluded[0][:2] != "D " {
		t.Errorf("F2 day 2: areas %v computable %d excluded %v", f2d2.Areas, f2d2.Computable, f2d2.Excluded)
	}
	eqDec(t, "F2 day 2 rate", f2d2.Rate, "10.00")
	vl, _, err := Summarise(day(0), ByVoltageLevel, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if vl[0].Key != "10kV" {
		t.Fatalf("order: %+v", vl)
	}
	eqDec(t, "10kV day 1 loss", vl[0].Loss, "170")  // 50 + 20 + 100
	eqDec(t, "10kV day 1 rate", vl[0].Rate, "7.39") // 170/2300 = 7.391…
}
