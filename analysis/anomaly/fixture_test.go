package anomaly

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

var zone = time.FixedZone("CST", 8*3600)

var day0 = time.Date(2025, 6, 1, 0, 0, 0, 0, zone)

func day(d int) time.Time { return day0.AddDate(0, 0, d) }

// field builds daily balances from daily register differences.
type field struct {
	t        testing.TB
	arch     archive.Archive
	days     int
	fwd, rev map[string][]int64 // per meter per day, 0.01 kWh on the register
	start    map[string]int64   // initial forward register, 0.01 kWh
	drop     map[string]map[int]bool
	inst     []loss.Reading
	ratings  map[string]Rating
}

func newField(t testing.TB, days int) *field {
	return &field{t: t, days: days, fwd: map[string][]int64{}, rev: map[string][]int64{}, start: map[string]int64{},
		drop: map[string]map[int]bool{}, ratings: map[string]Rating{}}
}

func (f *field) area(id, feeder string) {
	f.arch.Areas = append(f.arch.Areas, archive.Area{ID: id, Feeder: feeder, VoltageLevel: "10kV/0.4kV"})
}

// meter adds a meter with zero energies.
func (f *field) meter(addr, area string, role archive.Role, ct int) {
	f.arch.Meters = append(f.arch.Meters, archive.Meter{Address: addr, Edition: archive.Edition2007, Area: area, Role: role, CT: ct, PT: 1})
	f.fwd[addr] = make([]int64, f.days)
	f.rev[addr] = make([]int64, f.days)
	f.start[addr] = 100_000
}

// areaMeter sets an area meter's forward energy to the sum of its
// customers' registered energy plus extra(d) (0.01 kWh, primary; the area
// meter has CT 1).
func (f *field) areaMeter(addr, area string, extra func(d int) int64) {
	for d := range f.days {
		var s int64
		for _, m := range f.arch.Meters {
			if m.Area == area && m.Role != archive.RoleArea {
				s += (f.fwd[m.Address][d] - f.rev[m.Address][d]) * int64(m.CT*m.PT)
			}
		}
		f.fwd[addr][d] = s + extra(d)
	}
}

func (f *field) instant(addr, quantity string, at time.Time, v string) {
	d, err := dlt645.ParseDecimal(v)
	if err != nil {
		f.t.Fatal(err)
	}
	f.inst = append(f.inst, loss.Reading{Key: meter.Key{Meter: addr, Class: meter.Instantaneous, Quantity: quantity, Time: at}, Value: d, Quality: meter.Valid})
}

// input computes the daily balances.
func (f *field) input() Input {
	var rs []loss.Reading
	for _, m := range f.arch.Meters {
		fw, rv := f.start[m.Address], int64(0)
		for b := 0; b <= f.days; b++ {
			if b > 0 {
				fw += f.fwd[m.Address][b-1]
				rv += f.rev[m.Address][b-1]
			}
			if f.drop[m.Address][b] {
				continue
			}
			mod := func(v int64) loss.Decimal { return loss.Decimal{Units: ((v % 1e8) + 1e8) % 1e8, Scale: 2} }
			for _, x := range []struct {
				reg loss.Register
				v   int64
			}{{loss.Forward, fw}, {loss.Reverse, rv}} {
				rs = append(rs, loss.Reading{Key: meter.Key{Meter: m.Address, Class: meter.Daily, Quantity: string(x.reg) + " active energy total", Time: day(b)},
					Register: x.reg, Value: mod(x.v), Quality: meter.Valid})
			}
		}
	}
	ix, set := f.arch.Index(), loss.NewSet(rs)
	var results []loss.Result
	for d := range f.days {
		results = append(results, loss.ComputeAll(ix, loss.Day(day(d)), set, loss.Config{})...)
	}
	return Input{Archive: ix, Loss: results, Instant: f.inst, Ratings: f.ratings}
}

// simple is one area "A" with area meter 000000000001 and n customers
// 0000000001xx of about 10 kWh a day (5 % noise); the area's loss is 3 %
// of its supply.
func simple(t testing.TB, days, n int) *field {
	f := newField(t, days)
	f.area("A", "F1")
	f.meter("000000000001", "A", archive.RoleArea, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		addr := fmt.Sprintf("0000000001%02d", i)
		f.meter(addr, "A", archive.RoleCustomer, 1)
		for d := range days {
			f.fwd[addr][d] = int64(1000 * (1 + 0.05*rng.NormFloat64()))
		}
	}
	f.areaMeter("000000000001", "A", func(d int) int64 { return 3 * int64(n) * 10 })
	return f
}

func flagsOf(rep Report, k Kind) []Flag {
	var out []Flag
	for _, f := range rep.Flags {
		if f.Kind == k {
			out = append(out, f)
		}
	}
	return out
}

func one(t *testing.T, rep Report, k Kind, meter string, start int) Flag {
	t.Helper()
	fs := flagsOf(rep, k)
	if len(fs) != 1 {
		t.Fatalf("%d %s flags, want 1: %+v", len(fs), k, fs)
	}
	f := fs[0]
	if f.Meter != meter || !f.Start.Equal(day(start)) {
		t.Fatalf("%s flag on %s from %s, want %s from %s", k, f.Meter, f.Start.Format(time.DateOnly), meter, day(start).Format(time.DateOnly))
	}
	if f.Confidence <= 0 || f.Confidence > 1 || math.IsNaN(f.Confidence) {
		t.Fatalf("confidence %v", f.Confidence)
	}
	if len(f.Reads) == 0 || len(f.Figures) == 0 || f.Summary == "" {
		t.Fatalf("flag without evidence: %+v", f)
	}
	return f
}

func none(t *testing.T, rep Report, k Kind) {
	t.Helper()
	if fs := flagsOf(rep, k); len(fs) != 0 {
		t.Fatalf("%d %s flags, want none: %+v", len(fs), k, fs[0])
	}
}
