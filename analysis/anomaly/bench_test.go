package anomaly

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
)

// fleet makes areas × customers meters over days: daily freezes of
// forward and reverse energy, and per meter per day two reads of phase A
// voltage and current and a clock error.
func fleet(areas, customers, days int) (*archive.Index, []loss.Reading, []loss.Reading) {
	rng := rand.New(rand.NewPCG(11, 12))
	var a archive.Archive
	var regs, inst []loss.Reading
	mk := func(addr string, reg loss.Register, d int, v int64) loss.Reading {
		return loss.Reading{Key: meter.Key{Meter: addr, Class: meter.Daily, Quantity: string(reg) + " active energy total", Time: day(d)},
			Register: reg, Value: loss.Decimal{Units: v % 1e8, Scale: 2}, Quality: meter.Valid}
	}
	for i := range areas {
		id := fmt.Sprintf("L-%03d", i+1)
		a.Areas = append(a.Areas, archive.Area{ID: id, Feeder: fmt.Sprintf("F%d", i%7), VoltageLevel: "10kV/0.4kV"})
		am := fmt.Sprintf("1%05d000000", i)
		a.Meters = append(a.Meters, archive.Meter{Address: am, Edition: archive.Edition2007, Area: id, Role: archive.RoleArea, CT: 100, PT: 1})
		supply := make([]int64, days)
		for j := range customers {
			addr := fmt.Sprintf("1%05d%06d", i, j+1)
			a.Meters = append(a.Meters, archive.Meter{Address: addr, Edition: archive.Edition2007, Area: id, Role: archive.RoleCustomer, CT: 1, PT: 1})
			base, reg := 600+rng.Float64()*1000, int64(rng.IntN(5e7))
			for d := 0; d <= days; d++ {
				regs = append(regs, mk(addr, loss.Forward, d, reg), mk(addr, loss.Reverse, d, 0))
				if d == days {
					break
				}
				e := int64(base * (1 + 0.15*rng.NormFloat64()))
				reg += max(e, 0)
				supply[d] += max(e, 0)
				for _, h := range []int{3, 14} {
					at := day(d).Add(time.Duration(h) * time.Hour)
					inst = append(inst,
						loss.Reading{Key: meter.Key{Meter: addr, Class: meter.Instantaneous, Quantity: "phase A voltage", Time: at}, Value: loss.Decimal{Units: 2200 + int64(rng.IntN(100)), Scale: 1}, Quality: meter.Valid},
						loss.Reading{Key: meter.Key{Meter: addr, Class: meter.Instantaneous, Quantity: "phase A current", Time: at}, Value: loss.Decimal{Units: int64(rng.IntN(20000)), Scale: 3}, Quality: meter.Valid})
				}
				inst = append(inst, loss.Reading{Key: meter.Key{Meter: addr, Class: meter.Clock, Quantity: QuantityClockError, Time: day(d).Add(3 * time.Hour)}, Value: loss.Decimal{Units: int64(rng.IntN(20) - 10)}, Quality: meter.Valid})
			}
		}
		reg := int64(1e6)
		for d := 0; d <= days; d++ {
			regs = append(regs, mk(am, loss.Forward, d, reg), mk(am, loss.Reverse, d, 0))
			if d < days {
				reg += supply[d] * 104 / 100 / 100 // 4 % loss, CT 100
			}
		}
	}
	return a.Index(), regs, inst
}

// BenchmarkDailyLossAndFlags is a month of a large fleet: 100 areas × 200
// customers over 30 days, from indexing the reads to every flag.
func BenchmarkDailyLossAndFlags(b *testing.B) {
	ix, regs, inst := fleet(100, 200, 30)
	b.ReportMetric(float64(len(regs)+len(inst)), "reads")
	b.ResetTimer()
	for b.Loop() {
		set := loss.NewSet(regs)
		var res []loss.Result
		for d := range 30 {
			res = append(res, loss.ComputeAll(ix, loss.Day(day(d)), set, loss.Config{})...)
		}
		rep := Detect(Input{Archive: ix, Loss: res, Instant: inst}, Config{})
		if len(res) != 3000 || len(rep.Theft) == 0 {
			b.Fatalf("%d results, %d rankings", len(res), len(rep.Theft))
		}
	}
}
