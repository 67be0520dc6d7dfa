package analysis

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/analysis/anomaly"
	"github.com/headend/headend/analysis/loss"
	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
)

// estimateField is area A: an area meter and five customers of 10 kWh a
// day (c0 11 kWh) over 8 days, a loss of 2 kWh a day; hold(m, b) marks
// meter m's forward read at boundary b with what VEE held it for (nil:
// absent).
type estimateField struct {
	arch  archive.Archive
	reads map[string][]int64 // forward register per boundary, 0.01 kWh
	held  map[[2]any]*vee.Value
}

const eDays = 8

var eDay0 = time.Date(2025, 6, 1, 0, 0, 0, 0, vee.CST)

func newEstimateField() *estimateField {
	f := &estimateField{reads: map[string][]int64{}, held: map[[2]any]*vee.Value{}}
	f.arch.Areas = []archive.Area{{ID: "A", Feeder: "F"}}
	add := func(addr string, role archive.Role, perDay int64) {
		f.arch.Meters = append(f.arch.Meters, archive.Meter{Address: addr, Edition: archive.Edition2007, Area: "A", Role: role, CT: 1, PT: 1})
		v := make([]int64, eDays+1)
		for b := range v {
			v[b] = 100000 + int64(b)*perDay
		}
		f.reads[addr] = v
	}
	add("000000000001", archive.RoleArea, 5100+200)
	add("000000000100", archive.RoleCustomer, 1100)
	for i := 1; i < 5; i++ {
		add(fmt.Sprintf("0000000001%02d", i), archive.RoleCustomer, 1000)
	}
	return f
}

func (f *estimateField) hold(m string, b int, v *vee.Value) { f.held[[2]any{m, b}] = v }

func (f *estimateField) balances() ([]loss.Result, []vee.Value) {
	var rs []loss.Reading
	var vals []vee.Value
	for m, v := range f.reads {
		for b := range v {
			k := meter.Key{Meter: m, Class: meter.Daily, Quantity: "forward active energy total", Time: eDay0.AddDate(0, 0, b)}
			q := meter.Valid
			if h, ok := f.held[[2]any{m, b}]; ok {
				if h == nil {
					continue
				}
				h.Key = k
				vals = append(vals, *h)
				q = h.Quality
			}
			rs = append(rs, loss.Reading{Key: k, Register: loss.Forward, Value: loss.Decimal{Units: v[b], Scale: 2}, Quality: q})
			kr := k
			kr.Quantity = "reverse active energy total"
			rs = append(rs, loss.Reading{Key: kr, Register: loss.Reverse, Value: loss.Decimal{Scale: 2}, Quality: meter.Valid})
		}
	}
	ix, set := f.arch.Index(), loss.NewSet(rs)
	var out []loss.Result
	for d := range eDays {
		out = append(out, loss.Compute(ix, "A", loss.Day(eDay0.AddDate(0, 0, d)), set, loss.Config{MinShare: loss.Decimal{Units: 50}}))
	}
	return out, vals
}

func heldBy(q vee.Quality, c vee.Code) *vee.Value {
	return &vee.Value{Quality: q, Reasons: []vee.Reason{{Code: c, Message: string(c)}}}
}

// A meter that did not answer, whose clock is off, or that died after a
// day (its own day) or before it had history (its area's) is estimated into the balance, which is published with the
// meter estimated and its rate near the truth (2 kWh of 53 = 3.77 %); a
// stopped meter stays missing (its energy is the fault's).
func TestEstimateMissingMeters(t *testing.T) {
	const c0 = "000000000100"
	cfg := loss.Config{MinShare: loss.Decimal{Units: 50}}
	day := func(rs []loss.Result, d int) (*loss.Result, *loss.MeterResult) {
		r := &rs[d]
		mr, _ := r.Meter(c0)
		return r, mr
	}
	for _, c := range []struct {
		name  string
		set   func(f *estimateField)
		d     int
		want  loss.Status
		how   string
		rate  string
		flags []anomaly.Flag
	}{
		{"no answer", func(f *estimateField) { f.hold(c0, 6, nil) }, 6, loss.StatusEstimated, "its median day over the last 5 days", "3.77", nil},
		{"clock off", func(f *estimateField) { f.hold(c0, 6, heldBy(vee.Suspect, vee.CodeClockError)) }, 6, loss.StatusEstimated, "held for its clock only", "3.77", nil},
		{"dead after a day", func(f *estimateField) {
			for b := 2; b <= eDays; b++ {
				f.hold(c0, b, nil)
			}
		}, 1, loss.StatusEstimated, "its mean day over the only 1 days", "3.77", nil},
		{"dead before history", func(f *estimateField) {
			for b := 1; b <= eDays; b++ {
				f.hold(c0, b, nil)
			}
		}, 0, loss.StatusEstimated, "the median day of the 4 meters of its area", "5.66", nil},
		{"stopped", func(f *estimateField) { f.hold(c0, 6, heldBy(vee.Suspect, vee.CodeZeroWithCurrent)) }, 6, loss.StatusMissing, "", "", nil},
		{"jump", func(f *estimateField) {
			for b := 6; b <= eDays; b++ {
				f.reads[c0][b] += 12600
			}
		}, 5, loss.StatusEstimated, "its register jumped that day", "3.77",
			[]anomaly.Flag{{Kind: anomaly.RegisterJump, Meter: c0, Area: "A", Start: eDay0.AddDate(0, 0, 5), End: eDay0.AddDate(0, 0, 5)}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newEstimateField()
			c.set(f)
			rs, vals := f.balances()
			r0, m0 := day(rs, c.d)
			if c.flags == nil && m0.Status != loss.StatusMissing || c.flags != nil && m0.Status != loss.StatusRead {
				t.Fatalf("before: %s %s", m0.Status, m0.Reason)
			}
			out := estimate(rs, vals, c.flags, cfg)
			r, mr := day(out, c.d)
			if mr.Status != c.want || !strings.Contains(mr.Estimate, c.how) {
				t.Fatalf("%s (%s), want %s (%s); reasons %q", mr.Status, mr.Estimate, c.want, c.how, r.Reasons)
			}
			if c.want == loss.StatusMissing {
				if r.Rate != r0.Rate {
					t.Errorf("rate %s, was %s", r.Rate, r0.Rate)
				}
				return
			}
			if r.Rate.String() != c.rate || r.Missing != 0 || r.Estimated != 1 {
				t.Errorf("rate %s (was %s), want %s; missing %d estimated %d", r.Rate, r0.Rate, c.rate, r.Missing, r.Estimated)
			}
		})
	}
}
