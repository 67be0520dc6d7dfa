package collector

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/collector/ledger"
	"github.com/headend/headend/meter"
)

// A meter that answers the freeze time and the forward registers but has
// no reverse register (ERR "no requested data") still holds its freeze:
// the ledger is written, so backfill does not read it again at every start.
func TestFreezeHeldWhenTheMeterRefusesOneDI(t *testing.T) {
	l, err := ledger.Open(filepath.Join(t.TempDir(), "daily-freezes.ledger"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := &Collector{ledger: l, idx: (&archive.Archive{}).Index()}
	loc := time.FixedZone("+08:00", 8*3600)
	day := time.Date(2025, 5, 2, 0, 0, 0, 0, loc)
	freeze := func(reverse, forward meter.Status) []meter.Read {
		return []meter.Read{
			{Meter: "000001000001", Class: meter.Daily, DI: 0x05060001, Status: meter.OK, Text: "2025-05-02T00:00", MeterTime: day},
			{Meter: "000001000001", Class: meter.Daily, DI: 0x05060101, Status: forward, MeterTime: day},
			{Meter: "000001000001", Class: meter.Daily, DI: 0x05060201, Status: reverse, MeterTime: day},
		}
	}
	c.heldFreeze(freeze(meter.NoData, meter.OK))
	if !l.Has("000001000001", day) {
		t.Fatal("freeze with a refused reverse register not held")
	}
	c.heldFreeze([]meter.Read{{Meter: "000001000002", Class: meter.Daily, DI: 0x05060001, Status: meter.OK, MeterTime: day},
		{Meter: "000001000002", Class: meter.Daily, DI: 0x05060101, Status: meter.Refused, MeterTime: day}})
	if !l.Has("000001000002", day) {
		t.Fatal("freeze with a refused forward register not held")
	}
	// a read that failed leaves the freeze to be read again
	c.heldFreeze([]meter.Read{{Meter: "000001000003", Class: meter.Daily, DI: 0x05060001, Status: meter.OK, MeterTime: day},
		{Meter: "000001000003", Class: meter.Daily, DI: 0x05060101, Status: meter.Failed}})
	if l.Has("000001000003", day) {
		t.Fatal("freeze with a failed read held")
	}
}
