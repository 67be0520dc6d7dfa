package loss

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestAddBackHandComputed(t *testing.T) {
	ix, rs := hand(t)
	r := Compute(ix, "A1", Day(day1), NewSet(rs), Config{}) // supply 1030, sales 910, loss 120, 11.65 % high
	before := slices.Clone(r.Reasons)

	// the area meter failed to register 60 kWh: supply 1090, loss 180, 180/1090 = 16.513… %
	s := AddBack(r, "000000000001", dec(t, "60"), "correction C0000001: area meter faulty", Config{})
	eqDec(t, "supply", s.Supply, "1090.00")
	eqDec(t, "area forward", s.AreaForward, "1060.00")
	eqDec(t, "sales", s.Sales, "910.00")
	eqDec(t, "loss", s.Loss, "180.00")
	eqDec(t, "rate", s.Rate, "16.51")
	if s.Class != High || !strings.Contains(s.Reasons[0], "16.51 %") || !strings.Contains(s.Reasons[len(s.Reasons)-1], "fault energy 60 kWh of meter 000000000001 added to supply: correction C0000001") {
		t.Errorf("class %s reasons %q", s.Class, s.Reasons)
	}
	if strings.Contains(strings.Join(s.Reasons, "|"), "11.65") {
		t.Errorf("old verdict kept: %q", s.Reasons)
	}

	// customer c1 failed to register 50 kWh: sales 960, loss 70, 70/1030 = 6.796… %
	c := AddBack(r, "000000000011", dec(t, "50.00"), "", Config{})
	eqDec(t, "sales", c.Sales, "960.00")
	eqDec(t, "customer forward", c.CustomerForward, "940.00")
	eqDec(t, "loss", c.Loss, "70.00")
	eqDec(t, "rate", c.Rate, "6.80")
	if c.Class != Qualified {
		t.Errorf("class %s", c.Class)
	}
	if !slices.Equal(r.Reasons, before) {
		t.Errorf("r modified: %q", r.Reasons)
	}
	for _, x := range []Result{s, c} {
		if d, _ := Sub(x.Supply, x.Sales); Cmp(d, x.Loss) != 0 {
			t.Errorf("loss %s ≠ supply %s − sales %s", x.Loss, x.Supply, x.Sales)
		}
	}
}

// An area meter that registered nothing leaves the balance not computable
// (supply not positive); the energy added back makes it computable.
func TestAddBackMakesComputable(t *testing.T) {
	ix, rs := hand(t)
	rs[1].Value = rs[0].Value   // area meter forward 1000.00 → 1000.00
	rs[15].Value = rs[14].Value // no export from p1: supply 0
	r := Compute(ix, "A1", Day(day1), NewSet(rs), Config{})
	if r.Class != NotComputable || !slices.ContainsFunc(r.Reasons, isSupplyReason) {
		t.Fatalf("class %s %q", r.Class, r.Reasons)
	}
	// sales 910: 1000 added gives supply 1000, loss 90, 9.00 %
	s := AddBack(r, "000000000001", dec(t, "1000"), "meter stopped", Config{})
	eqDec(t, "supply", s.Supply, "1000.00")
	eqDec(t, "rate", s.Rate, "9.00")
	if s.Class != Qualified || slices.ContainsFunc(s.Reasons, isSupplyReason) {
		t.Errorf("class %s %q", s.Class, s.Reasons)
	}
}

func TestSpread(t *testing.T) {
	d := func(day, hour int) time.Time { return time.Date(2025, 6, day, hour, 0, 0, 0, zone) }
	cases := []struct {
		e        string
		from, to time.Time
		want     []string
	}{
		{"100", d(10, 0), d(13, 0), []string{"33.34", "33.33", "33.33"}},
		{"10", d(10, 12), d(12, 0), []string{"3.33", "6.67"}},
		{"120.5", d(10, 0), d(15, 0), []string{"24.10", "24.10", "24.10", "24.10", "24.10"}},
		{"0.01", d(10, 0), d(13, 0), []string{"0.01", "0.00", "0.00"}},
		{"5", d(10, 0), d(10, 0), nil},
	}
	for _, c := range cases {
		got := Spread(dec(t, c.e), c.from, c.to, zone)
		var s []string
		var sum Decimal
		for i, sh := range got {
			s = append(s, sh.Energy.String())
			sum, _ = Add(sum, sh.Energy)
			if !sh.Day.Equal(Day(c.from).Start.AddDate(0, 0, i)) {
				t.Errorf("%s: day %d is %s", c.e, i, sh.Day)
			}
		}
		if !slices.Equal(s, c.want) {
			t.Errorf("Spread(%s, %s, %s) = %v, want %v", c.e, c.from, c.to, s, c.want)
		}
		if len(got) > 0 && Cmp(sum, dec(t, c.e)) != 0 {
			t.Errorf("%s: shares add up to %s", c.e, sum)
		}
	}
}

// 30 kWh the area meter of A missed from day 1 12:00 to day 3 00:00: 10
// on day 1, 20 on day 2.
//
//	A day 1: supply 1000 + 10 = 1010, sales 950, loss  60,  60/1010 = 5.94 %
//	A day 2: supply 1100 + 20 = 1120, sales 1000, loss 120, 120/1120 = 10.71 %: high
func TestAddBackAll(t *testing.T) {
	rs := rollupFixture(t)
	orig := slices.Clone(rs)
	f := Fault{Area: "A", Meter: "000000001000", From: day1.Add(12 * time.Hour), To: day1.AddDate(0, 0, 2), Energy: dec(t, "30"), Why: "correction C0000002"}
	got := AddBackAll(rs, []Fault{f}, Config{})
	for i := range got {
		g, o := &got[i], &orig[i]
		if g.Area != "A" {
			if Cmp(g.Supply, o.Supply) != 0 || Cmp(g.Sales, o.Sales) != 0 || g.Class != o.Class {
				t.Errorf("%s %s changed", g.Area, g.Period)
			}
			continue
		}
		if g.Period.Start.Equal(day1) {
			eqDec(t, "A day 1 supply", g.Supply, "1010.00")
			eqDec(t, "A day 1 loss", g.Loss, "60.00")
			eqDec(t, "A day 1 rate", g.Rate, "5.94")
		} else {
			eqDec(t, "A day 2 supply", g.Supply, "1120.00")
			eqDec(t, "A day 2 rate", g.Rate, "10.71")
			if g.Class != High {
				t.Errorf("A day 2: %s", g.Class)
			}
		}
		if !strings.Contains(g.Reasons[len(g.Reasons)-1], "correction C0000002") {
			t.Errorf("reasons %q", g.Reasons)
		}
	}
	for i := range rs {
		if Cmp(rs[i].Supply, orig[i].Supply) != 0 || len(rs[i].Reasons) != len(orig[i].Reasons) {
			t.Errorf("input modified")
		}
	}
}
