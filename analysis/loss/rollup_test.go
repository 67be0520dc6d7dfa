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

func TestRollupAddsUp(t *testing.T) {
	rs := rollupFixture(t)
	for _, level := range []Level{ByFeeder, ByVoltageLevel} {
		gs := Rollup(rs, level, 2)
		seen := 0
		for _, g := range gs {
			var supply, sales, loss Decimal
			var inc, exc []string
			for _, r := range rs {
				key := r.Feeder
				if level == ByVoltageLevel {
					key = r.VoltageLevel
				}
				if key != g.Key || !r.Period.Start.Equal(g.Period.Start) {
					continue
				}
				if !r.Class.Computable() {
					exc = append(exc, r.Area)
					continue
				}
				seen++
				inc = append(inc, r.Area)
				supply, _ = Add(supply, r.Supply)
				sales, _ = Add(sales, r.Sales)
				loss, _ = Add(loss, r.Loss)
			}
			if Cmp(g.Supply, supply) != 0 || Cmp(g.Sales, sales) != 0 || Cmp(g.Loss, loss) != 0 {
				t.Errorf("%s %s %s: %s/%s/%s, parts %s/%s/%s", level, g.Key, g.Period, g.Supply, g.Sales, g.Loss, supply, sales, loss)
			}
			if d, _ := Sub(g.Supply, g.Sales); Cmp(d, g.Loss) != 0 {
				t.Errorf("loss ≠ supply − sales")
			}
			if want, _ := Percent(loss, supply, 2); g.HasRate && Cmp(g.Rate, want) != 0 {
				t.Errorf("rate %s, want %s", g.Rate, want)
			}
			if !slices.Equal(g.Included, inc) || !slices.Equal(g.Excluded, exc) {
				t.Errorf("%s %s: included %v excluded %v, want %v %v", level, g.Key, g.Included, g.Excluded, inc, exc)
			}
		}
		if seen != 7 {
			t.Errorf("%s: %d computable area-days in groups, want 7", level, seen)
		}
	}
	// hand-computed: feeder F2 day 2 = C only; F1 day 2 = A + B
	gs := Rollup(rs, ByFeeder, 2)
	f1d2 := gs[1]
	if f1d2.Key != "F1" || !f1d2.Period.Start.Equal(day1.AddDate(0, 0, 1)) {
		t.Fatalf("order: %v", f1d2)
	}
	eqDec(t, "F1 day 2 supply", f1d2.Supply, "1620")
	eqDec(t, "F1 day 2 loss", f1d2.Loss, "90")
	eqDec(t, "F1 day 2 rate", f1d2.Rate, "5.56") // 90/1620 = 5.5555…
	f2d2 := gs[3]
	if !slices.Equal(f2d2.Included, []string{"C"}) || !slices.Equal(f2d2.Excluded, []string{"D"}) {
		t.Errorf("F2 day 2: %v %v", f2d2.Included, f2d2.Excluded)
	}
	eqDec(t, "F2 day 2 rate", f2d2.Rate, "10.00")
	vl := Rollup(rs, ByVoltageLevel, 2)
	eqDec(t, "10kV day 1 loss", vl[0].Loss, "170")  // 50 + 20 + 100
	eqDec(t, "10kV day 1 rate", vl[0].Rate, "7.39") // 170/2300 = 7.391…
}
