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
	c := &Collector{ledger: l}
	c.idxp.Store((&archive.Archive{}).Index())
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

// The ledger and the load-profile marks are written after the sink took
// the reads (the outbox made them durable), never before: a head-end
// killed between the two must read the freeze and the records again,
// not hold them in its ledger with the reads gone.
func TestHeldOnlyOnceHandedOver(t *testing.T) {
	dir := t.TempDir()
	l, err := ledger.Open(filepath.Join(dir, "daily-freezes.ledger"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	k, err := ledger.OpenMarks(filepath.Join(dir, "load-profile.marks"))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	day := time.Date(2025, 5, 2, 0, 0, 0, 0, time.UTC) // the configuration's location
	rec := day.Add(15 * time.Minute)
	var atSink []string
	c, err := New(&Config{Archive: &archive.Archive{}}, Options{Sink: func(rs []meter.Read) {
		if _, ok := k.Latest("000001000001"); rs[0].Class == meter.Interval && ok {
			atSink = append(atSink, "the record was marked when the sink got it")
		}
		if rs[0].Class == meter.Daily && l.Has("000001000001", day) {
			atSink = append(atSink, "the freeze was in the ledger when the sink got it")
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	c.ledger, c.marks = l, k
	c.sink([]meter.Read{
		{Meter: "000001000001", Class: meter.Daily, DI: 0x05060001, Quantity: "time", Status: meter.OK, Text: "2025-05-02T00:00"},
		{Meter: "000001000001", Class: meter.Daily, DI: 0x05060101, Quantity: "forward active energy total", Status: meter.OK},
	})
	c.sink([]meter.Read{
		{Meter: "000001000001", Class: meter.Interval, DI: 0x06000001, Quantity: "record time", Status: meter.OK, Text: "2025-05-02T00:15"},
	})
	for _, s := range atSink {
		t.Error(s)
	}
	if !l.Has("000001000001", day) {
		t.Error("the freeze is not in the ledger after the sink took it")
	}
	if at, _ := k.Latest("000001000001"); !at.Equal(rec) {
		t.Errorf("the record marked %v, want %v", at, rec)
	}
}
