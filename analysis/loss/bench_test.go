package loss

import (
	"fmt"
	"testing"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
)

// BenchmarkComputeAllDay balances one day of 100 areas × 200 customers.
func BenchmarkComputeAllDay(b *testing.B) {
	var a archive.Archive
	var rs []Reading
	for i := range 100 {
		id := fmt.Sprintf("L-%03d", i)
		a.Areas = append(a.Areas, archive.Area{ID: id, Feeder: fmt.Sprintf("F%d", i%7)})
		for j := range 201 {
			role := archive.RoleCustomer
			if j == 0 {
				role = archive.RoleArea
			}
			addr := fmt.Sprintf("1%05d%06d", i, j)
			a.Meters = append(a.Meters, archive.Meter{Address: addr, Edition: archive.Edition2007, Area: id, Role: role, CT: 1, PT: 1})
			for k, v := range []int64{100000, 100000 + 1000*int64(j+1)} {
				for _, reg := range []Register{Forward, Reverse} {
					rs = append(rs, Reading{Key: meter.Key{Meter: addr, Class: meter.Daily, Quantity: string(reg), Time: day1.AddDate(0, 0, k)},
						Register: reg, Value: Decimal{Units: v, Scale: 2}, Quality: meter.Valid})
				}
			}
		}
	}
	ix, set := a.Index(), NewSet(rs)
	p := Day(day1)
	b.ResetTimer()
	for b.Loop() {
		if rs := ComputeAll(ix, p, set, Config{}); len(rs) != 100 {
			b.Fatal(len(rs))
		}
	}
}
