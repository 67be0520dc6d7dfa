package loss

import (
	"encoding/binary"
	"testing"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
)

// FuzzCompute balances an area of arbitrary meters and reads: it never
// panics, loss = supply − sales holds exactly, the counts add up, and a
// computable result has a positive supply and a rate.
func FuzzCompute(f *testing.F) {
	f.Add([]byte{1, 80, 0, 10, 0, 0, 0, 0, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9}, uint8(2))
	f.Add([]byte{3, 255, 255, 255, 255, 255, 255, 255, 127, 0, 0, 0, 0, 0, 0, 0, 128}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, places uint8) {
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return b
		}
		val := func() Decimal {
			var b [8]byte
			for i := range b {
				b[i] = next()
			}
			return Decimal{Units: int64(binary.LittleEndian.Uint64(b[:])) >> (next() % 64), Scale: next() % 4}
		}
		n := int(next()%6) + 1
		a := &archive.Archive{Areas: []archive.Area{{ID: "Z"}}}
		var rs []Reading
		qs := []meter.Quality{meter.Valid, meter.Valid, meter.Valid, meter.EstimatedProfile, meter.Edited, meter.Suspect, meter.FailedQuality, ""}
		eds := []archive.Edition{archive.Edition2007, archive.Edition1997, archive.EditionModbus}
		for i := range n {
			role := archive.RoleCustomer
			switch {
			case i == 0 && next()%8 != 0:
				role = archive.RoleArea
			case next()%3 == 0:
				role = archive.RolePV
			}
			addr := string(rune('0'+i)) + "00000000000"
			a.Meters = append(a.Meters, archive.Meter{Address: addr, Area: "Z", Role: role, Edition: eds[next()%3],
				CT: int(next())*int(next()) + 1, PT: int(next()) + 1})
			for _, reg := range []Register{Forward, Reverse} {
				for _, at := range []int{0, 1} {
					if next()%9 == 0 {
						continue
					}
					rs = append(rs, Reading{Key: meter.Key{Meter: addr, Time: day1.AddDate(0, 0, at)}, Register: reg, Value: val(), Quality: qs[next()%8]})
				}
			}
		}
		cfg := Config{Places: places % 8}
		r := Compute(a.Index(), "Z", Day(day1), NewSet(rs), cfg)
		l, ok := Sub(r.Supply, r.Sales)
		if !ok || Cmp(l, r.Loss) != 0 {
			t.Fatalf("loss %s ≠ supply %s − sales %s", r.Loss, r.Supply, r.Sales)
		}
		if r.Read+r.Estimated+r.Missing != r.Expected {
			t.Fatalf("counts %d+%d+%d ≠ %d", r.Read, r.Estimated, r.Missing, r.Expected)
		}
		if r.Class.Computable() && (Sign(r.Supply) <= 0 || !r.HasRate) {
			t.Fatalf("computable with supply %s rate %v", r.Supply, r.HasRate)
		}
		if !r.Class.Computable() && r.HasRate {
			t.Fatal("rate on a result that is not computable")
		}
		gs, _, err := Summarise([]Result{r, r}, ByFeeder, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gs {
			if d, ok := Sub(g.Supply, g.Sales); !ok || Cmp(d, g.Loss) != 0 {
				t.Fatalf("group loss %s ≠ %s − %s", g.Loss, g.Supply, g.Sales)
			}
		}
	})
}
