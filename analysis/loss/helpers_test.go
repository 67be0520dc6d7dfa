package loss

import (
	"fmt"
	"testing"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

var zone = time.FixedZone("CST", 8*3600)

var day1 = time.Date(2025, 6, 1, 0, 0, 0, 0, zone)

func dec(t testing.TB, s string) Decimal {
	t.Helper()
	d, err := dlt645.ParseDecimal(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func archiveMeter(addr, area string, role archive.Role, ct int) archive.Meter {
	return archive.Meter{Address: addr, Edition: archive.Edition2007, Area: area, Role: role, CT: ct, PT: 1}
}

// reads builds the four boundary reads of a meter over [at, at+1 day):
// forward start, forward end, reverse start, reverse end.
func reads(t testing.TB, addr string, at time.Time, fs, fe, rs, re string) []Reading {
	t.Helper()
	mk := func(reg Register, tm time.Time, v string) Reading {
		return Reading{Key: meter.Key{Meter: addr, Class: meter.Daily, Quantity: string(reg) + " active energy total", Time: tm},
			Register: reg, Value: dec(t, v), Quality: meter.Valid}
	}
	end := at.AddDate(0, 0, 1)
	return []Reading{mk(Forward, at, fs), mk(Forward, end, fe), mk(Reverse, at, rs), mk(Reverse, end, re)}
}

func eqDec(t testing.TB, what string, got Decimal, want string) {
	t.Helper()
	if got.String() != want {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

func customers(area string, n int) []archive.Meter {
	var ms []archive.Meter
	for i := range n {
		ms = append(ms, archiveMeter(fmt.Sprintf("%06d%06d", 900+len(area), i+1), area, archive.RoleCustomer, 1))
	}
	return ms
}
