package loss

import (
	"strings"
	"testing"

	"github.com/headend/headend/archive"
)

// A meter that did not answer is estimated into the balance rather than
// left out: area meter 110 kWh, two customers read at 50 and 40 and the
// third missing make a loss of 20 kWh (18.18 %, high) with the third
// meter's energy in it; estimated at 10 kWh, the loss is 10 kWh (9.09 %),
// the meter is estimated and the balance says how. A jumped read is
// replaced the same way.
func TestSubstituteMissingMeter(t *testing.T) {
	a := archive.Archive{Areas: []archive.Area{{ID: "A1", Feeder: "F1"}}}
	a.Meters = []archive.Meter{archiveMeter("000000000001", "A1", archive.RoleArea, 1),
		archiveMeter("000000000011", "A1", archive.RoleCustomer, 1), archiveMeter("000000000012", "A1", archive.RoleCustomer, 1), archiveMeter("000000000013", "A1", archive.RoleCustomer, 1)}
	ix := a.Index()
	var rs []Reading
	rs = append(rs, reads(t, "000000000001", day1, "1000", "1110", "0", "0")...)
	rs = append(rs, reads(t, "000000000011", day1, "100", "150", "0", "0")...)
	rs = append(rs, reads(t, "000000000012", day1, "100", "140", "0", "0")...)
	r := Compute(ix, "A1", Day(day1), NewSet(rs), Config{MinShare: Decimal{Units: 50}})
	if r.Missing != 1 || !r.HasRate {
		t.Fatalf("before: missing %d rate %v %s", r.Missing, r.HasRate, r.Rate)
	}
	eqDec(t, "loss before", r.Loss, "20")
	s := Substitute(r, "000000000013", dec(t, "10.00"), "its median day over 14 days", Config{MinShare: Decimal{Units: 50}})
	eqDec(t, "sales", s.Sales, "100.00")
	eqDec(t, "loss", s.Loss, "10.00")
	eqDec(t, "rate", s.Rate, "9.09")
	if s.Missing != 0 || s.Estimated != 1 || s.Read != 2 || s.Class != Qualified {
		t.Errorf("missing %d estimated %d read %d class %s", s.Missing, s.Estimated, s.Read, s.Class)
	}
	mr, _ := s.Meter("000000000013")
	if mr.Status != StatusEstimated || mr.Estimate == "" || mr.Issue != "" {
		t.Errorf("meter %+v", mr)
	}
	all := strings.Join(s.Reasons, "|")
	if strings.Contains(all, "missing") || !strings.Contains(all, "1 customer meters estimated: 000000000013") ||
		!strings.Contains(all, "meter 000000000013 estimated at 10.00 kWh: its median day") || strings.Contains(all, "18.18") {
		t.Errorf("reasons %q", s.Reasons)
	}
	if len(s.Used()) != 12 {
		t.Errorf("used %d reads", len(s.Used()))
	}
	if rm, _ := r.Meter("000000000013"); rm.Status != StatusMissing {
		t.Errorf("r modified")
	}
	// a read meter's wrong difference replaced: 50 → 12 kWh
	j := Substitute(s, "000000000011", dec(t, "12.00"), "register jump", Config{})
	eqDec(t, "sales after the jump", j.Sales, "62.00")
	eqDec(t, "loss after the jump", j.Loss, "48.00")
	if j.Read != 1 || j.Estimated != 2 || !strings.Contains(j.Reasons[len(j.Reasons)-1], "(its reads gave 50)") {
		t.Errorf("read %d estimated %d reasons %q", j.Read, j.Estimated, j.Reasons)
	}
	if d, _ := Sub(j.Supply, j.Sales); Cmp(d, j.Loss) != 0 {
		t.Errorf("loss %s ≠ supply %s − sales %s", j.Loss, j.Supply, j.Sales)
	}
	// not a customer meter: as it was
	if x := Substitute(r, "000000000001", dec(t, "5"), "", Config{}); x.Loss != r.Loss {
		t.Errorf("area meter substituted")
	}
}
