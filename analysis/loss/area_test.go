package loss

import (
	"slices"
	"strings"
	"testing"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
)

// hand is the worked example of the package's tests:
//
//	area meter  CT 80  forward 1000.00 → 1012.50  Δ 12.50 × 80 = 1000.00 supply
//	                   reverse   50.00 →   50.25  Δ  0.25 × 80 =   20.00 sales (upstream)
//	c1          CT 1   forward  500.00 →  520.00                 20.00 sales
//	c2          CT 1   forward 999990.00 → 10.00 (rollover)      20.00 sales
//	p1 (PV)     CT 1   forward  300.00 →  310.00                 10.00 sales
//	                   reverse  100.00 →  130.00                 30.00 supply (export)
//	c3          CT 20  forward  100.00 →  142.00  Δ 42 × 20 =  840.00 sales
//
//	supply 1030.00, sales 910.00, loss 120.00, rate 120/1030 = 11.6504…% → 11.65 %: high
func hand(t testing.TB) (*archive.Index, []Reading) {
	a := &archive.Archive{
		Areas: []archive.Area{{ID: "A1", Feeder: "F1", VoltageLevel: "10kV/0.4kV"}},
		Meters: []archive.Meter{
			archiveMeter("000000000001", "A1", archive.RoleArea, 80),
			archiveMeter("000000000011", "A1", archive.RoleCustomer, 1),
			archiveMeter("000000000012", "A1", archive.RoleCustomer, 1),
			archiveMeter("000000000013", "A1", archive.RolePV, 1),
			archiveMeter("000000000014", "A1", archive.RoleCustomer, 20),
		},
	}
	var rs []Reading
	rs = append(rs, reads(t, "000000000001", day1, "1000.00", "1012.50", "50.00", "50.25")...)
	rs = append(rs, reads(t, "000000000011", day1, "500.00", "520.00", "0.00", "0.00")...)
	rs = append(rs, reads(t, "000000000012", day1, "999990.00", "10.00", "0.00", "0.00")...)
	rs = append(rs, reads(t, "000000000013", day1, "300.00", "310.00", "100.00", "130.00")...)
	rs = append(rs, reads(t, "000000000014", day1, "100.00", "142.00", "0.00", "0.00")...)
	return a.Index(), rs
}

func TestHandExample(t *testing.T) {
	ix, rs := hand(t)
	r := Compute(ix, "A1", Day(day1.Add(13*3600e9)), NewSet(rs), Config{})
	eqDec(t, "area forward", r.AreaForward, "1000.00")
	eqDec(t, "area reverse", r.AreaReverse, "20.00")
	eqDec(t, "export", r.Export, "30.00")
	eqDec(t, "customer forward", r.CustomerForward, "890.00")
	eqDec(t, "supply", r.Supply, "1030.00")
	eqDec(t, "sales", r.Sales, "910.00")
	eqDec(t, "loss", r.Loss, "120.00")
	eqDec(t, "rate", r.Rate, "11.65")
	if r.Class != High || !r.HasRate {
		t.Errorf("class %s, want high: %v", r.Class, r.Reasons)
	}
	if r.Expected != 4 || r.Read != 4 || r.Estimated != 0 || r.Missing != 0 {
		t.Errorf("counts %d/%d/%d/%d", r.Expected, r.Read, r.Estimated, r.Missing)
	}
	if !r.Meters[1].Forward.Rollover {
		t.Error("c2 rollover not seen")
	}
	if got := len(r.Used()); got != 20 {
		t.Errorf("%d reads used, want 20", got)
	}
	if !strings.Contains(r.Reasons[0], "above the upper bound 10 %") {
		t.Errorf("reasons %q", r.Reasons)
	}
	if r.Feeder != "F1" || r.VoltageLevel != "10kV/0.4kV" {
		t.Errorf("feeder %q level %q", r.Feeder, r.VoltageLevel)
	}
}

func TestNegativeLoss(t *testing.T) {
	ix, rs := hand(t)
	// c3 registers 60 instead of 42: 1200.00 instead of 840.00 → loss −240.00
	rs[17].Value = dec(t, "160.00")
	r := Compute(ix, "A1", Day(day1), NewSet(rs), Config{})
	eqDec(t, "loss", r.Loss, "-240.00")
	eqDec(t, "rate", r.Rate, "-23.30") // −240/1030 = −23.3009…
	if r.Class != Negative {
		t.Errorf("class %s", r.Class)
	}
}

func TestEstimatedCountedAndReported(t *testing.T) {
	ix, rs := hand(t)
	rs[5].Quality = meter.EstimatedInterpolation // c1 forward end
	rs[0].Quality = meter.EstimatedProfile       // area meter forward start
	r := Compute(ix, "A1", Day(day1), NewSet(rs), Config{})
	eqDec(t, "loss", r.Loss, "120.00")
	if r.Read != 3 || r.Estimated != 1 || r.Missing != 0 || r.Class != High {
		t.Errorf("read %d estimated %d missing %d class %s", r.Read, r.Estimated, r.Missing, r.Class)
	}
	if r.Meters[0].Status != StatusEstimated || r.AreaMeter.Status != StatusEstimated {
		t.Error("statuses not estimated")
	}
	j := strings.Join(r.Reasons, "; ")
	if !strings.Contains(j, "1 customer meters estimated: 000000000011") || !strings.Contains(j, "area meter 000000000001 read estimated") {
		t.Errorf("reasons %q", j)
	}
}

func TestNotComputable(t *testing.T) {
	cases := []struct {
		name string
		edit func(rs []Reading) []Reading
		want string
	}{
		{"area meter read missing", func(rs []Reading) []Reading { return rs[1:] }, "no forward read at the period's start"},
		{"area meter read failed", func(rs []Reading) []Reading { rs[1].Quality = meter.FailedQuality; return rs }, "is failed"},
		{"supply zero", func(rs []Reading) []Reading {
			rs[1].Value = rs[0].Value // area forward Δ 0
			rs[15].Value = rs[14].Value
			return rs
		}, "supply 0.00 kWh is not positive"},
		{"too few customers", func(rs []Reading) []Reading { return rs[:4] }, "0 of 4 customer meters usable, below 95 %"},
		{"area not in archive", nil, "not in the archive"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ix, rs := hand(t)
			area := "A1"
			if c.edit == nil {
				area = "nowhere"
			} else {
				rs = c.edit(rs)
			}
			r := Compute(ix, area, Day(day1), NewSet(rs), Config{})
			if r.Class != NotComputable || r.HasRate {
				t.Fatalf("class %s rate %v", r.Class, r.HasRate)
			}
			if !strings.Contains(strings.Join(r.Reasons, "; "), c.want) {
				t.Errorf("reasons %q, want %q", r.Reasons, c.want)
			}
			if l, _ := Sub(r.Supply, r.Sales); Cmp(l, r.Loss) != 0 {
				t.Errorf("loss %s ≠ %s − %s", r.Loss, r.Supply, r.Sales)
			}
		})
	}
}

func TestNoAreaMeter(t *testing.T) {
	ix, rs := hand(t)
	a := ix.Archive()
	a.Meters = a.Meters[1:]
	r := Compute(a.Index(), "A1", Day(day1), NewSet(rs), Config{})
	if r.Class != NotComputable || r.AreaMeter != nil || !slices.Contains(r.Reasons, "no area meter in the archive") {
		t.Errorf("class %s reasons %q", r.Class, r.Reasons)
	}
}

// 20 customers of 4.75 kWh behind an area meter of 100 kWh: 19 read is
// exactly 95 % (computable, rate 9.75 %), 18 is 90 % (not).
func TestCompletenessEdge(t *testing.T) {
	a := &archive.Archive{Areas: []archive.Area{{ID: "B"}}, Meters: append([]archive.Meter{archiveMeter("000000000100", "B", archive.RoleArea, 1)}, customers("B", 20)...)}
	ix := a.Index()
	base := reads(t, "000000000100", day1, "0.00", "100.00", "0.00", "0.00")
	for _, c := range []struct {
		read int
		want Class
	}{{20, Qualified}, {19, Qualified}, {18, NotComputable}} {
		rs := append([]Reading(nil), base...)
		for _, m := range a.Meters[1 : 1+c.read] {
			rs = append(rs, reads(t, m.Address, day1, "0.00", "4.75", "0.00", "0.00")...)
		}
		r := Compute(ix, "B", Day(day1), NewSet(rs), Config{})
		if r.Class != c.want {
			t.Errorf("%d read: class %s, want %s (%q)", c.read, r.Class, c.want, r.Reasons)
		}
		if r.Missing != 20-c.read {
			t.Errorf("%d read: missing %d", c.read, r.Missing)
		}
	}
}

func TestRegisterDecrease(t *testing.T) {
	cases := []struct {
		start, end string
		ok         bool
		delta      string
	}{
		{"520.00", "519.99", false, ""},              // going back
		{"500000.00", "400000.00", false, ""},        // wrapped 900000: beyond the window
		{"950000.00", "50000.00", true, "100000.00"}, // wrapped exactly 10 % of the modulus
		{"950000.00", "50000.01", false, ""},         // 0.01 beyond
		{"999999.99", "0.00", true, "0.01"},
		{"520.00", "520.00", true, "0.00"},
	}
	for _, c := range cases {
		ix, rs := hand(t)
		rs[4].Value, rs[5].Value = dec(t, c.start), dec(t, c.end)
		r := Compute(ix, "A1", Day(day1), NewSet(rs), Config{})
		m := r.Meters[0]
		if (m.Status != StatusMissing) != c.ok {
			t.Errorf("%s→%s: status %s %s", c.start, c.end, m.Status, m.Reason)
			continue
		}
		if !c.ok {
			if m.Issue != IssueDecrease || !strings.Contains(m.Reason, "not a rollover") || r.Missing != 1 {
				t.Errorf("%s→%s: issue %s reason %q", c.start, c.end, m.Issue, m.Reason)
			}
			continue
		}
		eqDec(t, c.start+"→"+c.end, m.Forward.Register, c.delta)
	}
}

// A 1997 meter with a five-digit register (a fleet's own setting): the
// rollover follows the configured modulus.
func TestRolloverPerEdition(t *testing.T) {
	ix, rs := hand(t)
	ix.Archive().Meters[1].Edition = archive.Edition1997
	ix = ix.Archive().Index()
	rs[4].Value, rs[5].Value = dec(t, "99999.00"), dec(t, "1.00")
	r := Compute(ix, "A1", Day(day1), NewSet(rs), Config{})
	if r.Meters[0].Status != StatusMissing {
		t.Errorf("default: 1997 registers roll over at 999999.99: %+v", r.Meters[0])
	}
	cfg := DefaultConfig()
	cfg.Rollover[archive.Edition1997] = dec(t, "100000")
	r = Compute(ix, "A1", Day(day1), NewSet(rs), cfg)
	eqDec(t, "5-digit rollover", r.Meters[0].Forward.Register, "2.00")
	// Modbus meters never roll over
	ix.Archive().Meters[1].Edition = archive.EditionModbus
	r = Compute(ix.Archive().Index(), "A1", Day(day1), NewSet(rs), cfg)
	if r.Meters[0].Issue != IssueDecrease {
		t.Errorf("modbus: %+v", r.Meters[0])
	}
}

func TestQualityIssues(t *testing.T) {
	for _, q := range []meter.Quality{meter.Suspect, meter.FailedQuality, "", "bogus"} {
		ix, rs := hand(t)
		rs[6].Quality = q // c1 reverse start
		r := Compute(ix, "A1", Day(day1), NewSet(rs), Config{})
		if m := r.Meters[0]; m.Status != StatusMissing || m.Issue != IssueQuality {
			t.Errorf("quality %q: %s %s", q, m.Status, m.Issue)
		}
	}
	for _, q := range []meter.Quality{meter.Valid, meter.Edited} {
		ix, rs := hand(t)
		rs[6].Quality = q
		if m := Compute(ix, "A1", Day(day1), NewSet(rs), Config{}).Meters[0]; m.Status != StatusRead {
			t.Errorf("quality %q: %s", q, m.Status)
		}
	}
}

func TestClassBounds(t *testing.T) {
	low := dec(t, "2")
	cases := []struct {
		areaEnd string // area meter forward end; start 0, CT 1, one customer with 900.00
		low     *Decimal
		rate    string
		class   Class
	}{
		{"1000.00", nil, "10.00", Qualified}, // exactly the bound
		{"1000.12", nil, "10.01", High},      // 100.12/1000.12 = 10.0108 %
		{"1000.04", nil, "10.00", Qualified}, // 100.04/1000.04 = 10.0036 % → 10.00: the shown figure decides
		{"900.00", nil, "0.00", Qualified},   // zero loss
		{"918.00", &low, "1.96", Low},        // 18/918 = 1.9607 %
		{"918.37", &low, "2.00", Qualified},  // 18.37/918.37 = 2.0003 %
		{"899.99", nil, "0.00", Qualified},   // −0.0011 % rounds to zero
		{"899.00", nil, "-0.11", Negative},
	}
	for _, c := range cases {
		a := &archive.Archive{Areas: []archive.Area{{ID: "C"}}, Meters: []archive.Meter{
			archiveMeter("000000000200", "C", archive.RoleArea, 1), archiveMeter("000000000201", "C", archive.RoleCustomer, 1)}}
		rs := append(reads(t, "000000000200", day1, "0.00", c.areaEnd, "0.00", "0.00"),
			reads(t, "000000000201", day1, "0.00", "900.00", "0.00", "0.00")...)
		r := Compute(a.Index(), "C", Day(day1), NewSet(rs), Config{Low: c.low})
		if got := r.Rate.String(); got != c.rate {
			t.Errorf("%s: rate %s, want %s", c.areaEnd, got, c.rate)
		}
		if r.Class != c.class {
			t.Errorf("%s: class %s, want %s (%q)", c.areaEnd, r.Class, c.class, r.Reasons)
		}
	}
}

func TestPercentRounding(t *testing.T) {
	cases := []struct {
		num, den string
		places   uint8
		want     string
	}{
		{"1", "8", 2, "12.50"},
		{"1", "3", 2, "33.33"},
		{"2", "3", 2, "66.67"},
		{"1", "8", 0, "13"},   // 12.5 → 13, half away from zero
		{"-1", "8", 0, "-13"}, // −12.5 → −13
		{"1", "-8", 1, "-12.5"},
		{"0.005", "1", 0, "1"}, // 0.5 % → 1
		{"0.00449", "1", 1, "0.4"},
		{"120.00", "1030.00", 4, "11.6505"},
	}
	for _, c := range cases {
		got, ok := Percent(dec(t, c.num), dec(t, c.den), c.places)
		if !ok || got.String() != c.want {
			t.Errorf("Percent(%s, %s, %d) = %s %v, want %s", c.num, c.den, c.places, got, ok, c.want)
		}
	}
	if _, ok := Percent(dec(t, "1"), Decimal{}, 2); ok {
		t.Error("division by zero")
	}
}

func TestArithmeticOverflow(t *testing.T) {
	if _, ok := Add(Decimal{Units: 1 << 62}, Decimal{Units: 1 << 62}); ok {
		t.Error("add overflow")
	}
	if _, ok := Sub(Decimal{Units: -(1 << 62)}, Decimal{Units: 1 << 62, Scale: 0}); !ok {
		// −2^62 − 2^62 = −2^63 fits exactly
		t.Error("sub to MinInt64")
	}
	if _, ok := MulInt(Decimal{Units: 1 << 40}, 1<<30); ok {
		t.Error("mul overflow")
	}
	if _, ok := Add(Decimal{Units: 1, Scale: 0}, Decimal{Units: 1, Scale: 18}); !ok {
		t.Error("1 + 1e-18 fits")
	}
	if _, ok := Add(Decimal{Units: 100, Scale: 0}, Decimal{Units: 1, Scale: 18}); ok {
		t.Error("100 at scale 18 overflows")
	}
	if Cmp(Decimal{Units: 100}, Decimal{Units: 1, Scale: 18}) != 1 || Cmp(Decimal{Units: -100}, Decimal{Units: 1, Scale: 18}) != -1 {
		t.Error("Cmp beyond int64")
	}
	eqDec(t, "round", Round(dec(t, "-2.345"), 2), "-2.35")
	eqDec(t, "round", Round(dec(t, "2.344"), 2), "2.34")
	eqDec(t, "round up scale", Round(dec(t, "2.3"), 2), "2.30")
}

func TestMonthlyPeriodAndTolerance(t *testing.T) {
	p := Month(day1.AddDate(0, 0, 14), 1, 0)
	if !p.Start.Equal(day1) || !p.End.Equal(day1.AddDate(0, 1, 0)) || p.Kind != Monthly {
		t.Fatalf("month %v", p)
	}
	ix, _ := hand(t)
	var rs []Reading
	for _, m := range ix.Archive().Meters {
		r := reads(t, m.Address, day1, "100.00", "110.00", "0.00", "0.00")
		r[1].Key.Time, r[3].Key.Time = p.End, p.End
		rs = append(rs, r...)
	}
	// the area meter's end read is 20 minutes late (a 1997 meter read after midnight)
	rs[1].Key.Time = p.End.Add(20 * 60e9)
	r := Compute(ix, "A1", p, NewSet(rs), Config{})
	if r.AreaMeter.Status != StatusMissing || r.Class != NotComputable {
		t.Errorf("late read taken without tolerance: %s", r.AreaMeter.Status)
	}
	r = Compute(ix, "A1", p, NewSet(rs), Config{Tolerance: 30 * 60e9})
	// supply 10 × 80 = 800; sales 10+10+10+200 = 230
	eqDec(t, "loss", r.Loss, "570.00")
	if !r.AreaMeter.Forward.End.Key.Time.Equal(rs[1].Key.Time) {
		t.Error("nearest read not taken")
	}
}

func TestDuplicateReadsLastWins(t *testing.T) {
	ix, rs := hand(t)
	edit := rs[5]
	edit.Value, edit.Quality = dec(t, "530.00"), meter.Edited
	rs = append(rs, edit)
	r := Compute(ix, "A1", Day(day1), NewSet(rs), Config{})
	eqDec(t, "c1 forward", r.Meters[0].Forward.Energy, "30.00")
	eqDec(t, "loss", r.Loss, "110.00")
}

func TestConfigCheck(t *testing.T) {
	if err := DefaultConfig().Check(); err != nil {
		t.Fatal(err)
	}
	bad := []Config{
		{Upper: dec(t, "-1")},
		{MinShare: dec(t, "101")},
		{Places: 7},
		{Low: func() *Decimal { d := dec(t, "20"); return &d }()},
		{Tolerance: -1},
		{RolloverWindow: dec(t, "150")},
	}
	for i, c := range bad {
		if c.Check() == nil {
			t.Errorf("bad config %d passes", i)
		}
	}
}
