package vee

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

var fuzzQuantities = []struct{ name, unit string }{
	{fwd, "kWh"}, {"reverse active energy total", "kWh"}, {"phase A current", "A"}, {"phase A voltage", "V"},
	{"power factor total", ""}, {"grid frequency", "Hz"}, {"clock error", "s"}, {"record time", ""},
	{"combined active energy total", "kWh"}, {"active power total", "kW"},
}

var fuzzClasses = []meter.Class{meter.Interval, meter.Daily, meter.Instantaneous, meter.Clock, meter.Monthly, meter.OnDemand}

var fuzzStatuses = []meter.Status{meter.OK, meter.OK, meter.OK, meter.OK, meter.OK, meter.NoData, meter.Failed, meter.Skipped}

// fuzzReads turns bytes into reads, 8 bytes each: class, quantity and
// status; time in quarter hours; receipt delay in minutes; value; scale.
// At most 128 reads, so that an input runs (and minimises) quickly.
func fuzzReads(data []byte) []meter.Read {
	var out []meter.Read
	base := time.Date(2026, 11, 2, 0, 0, 0, 0, CST)
	for len(data) >= 8 && len(out) < 128 {
		b := data[:8]
		data = data[8:]
		q := fuzzQuantities[int(b[1])%len(fuzzQuantities)]
		r := meter.Read{
			Meter:    []string{"M1", "M2"}[b[0]>>7],
			Class:    fuzzClasses[int(b[0]&0x7)%len(fuzzClasses)],
			Quantity: q.name, Unit: q.unit,
			Status: fuzzStatuses[int(b[1]>>4)%len(fuzzStatuses)],
		}
		if b[0]&0x40 != 0 {
			r.Edition = dlt645.DLT1997
		}
		steps := int16(binary.LittleEndian.Uint16(b[2:]))
		r.MeterTime = base.Add(time.Duration(steps) * 15 * time.Minute)
		if b[0]&0x20 != 0 {
			r.MeterTime = time.Time{}
		}
		r.ReadAt = base.Add(time.Duration(steps)*15*time.Minute + time.Duration(int8(b[4]))*time.Minute)
		r.Value = dlt645.Decimal{Units: int64(int32(binary.LittleEndian.Uint16(b[5:])) << (b[7] >> 5 * 4)), Scale: b[7] & 0x1F}
		if q.name == "record time" {
			r.Value, r.Text = dlt645.Decimal{}, r.MeterTime.Format("2006-01-02T15:04")
		}
		if b[0]&0x18 == 0x18 {
			r.Value.Units = -r.Value.Units
		}
		out = append(out, r)
	}
	return out
}

// FuzzValidator feeds arbitrary sequences of reads: the validator never
// panics, every read yields a value or a counted drop, and estimating and
// editing what came out does not panic either and stays exact.
func FuzzValidator(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 5, 0x10, 0x27, 2, 0, 0, 1, 0, 5, 0x20, 0x27, 2, 0, 0, 5, 0, 5, 0x40, 0x27, 2})
	f.Add([]byte{1, 0, 0, 0, 5, 0xff, 0xff, 2, 1, 0, 1, 0, 5, 0x01, 0, 2, 0x81, 0x62, 3, 0, 0, 0, 0, 0x1f})
	f.Add([]byte{0, 2, 0, 0, 0, 0x10, 0x27, 3, 0, 0, 4, 0, 5, 0x10, 0x27, 2, 0, 0, 20, 0, 5, 0x10, 0x27, 2, 3, 6, 0, 0, 0, 0x2d, 0x01, 0})
	f.Fuzz(runFuzz)
}

func runFuzz(t *testing.T, data []byte) {
	c := DefaultConfig()
	c.Versions[0].Usage.MinDays = 1
	c.Versions[0].Spike.MinRefs = 1
	v, err := NewValidator(c)
	if err != nil {
		t.Fatal(err)
	}
	var all []Value
	for _, r := range fuzzReads(data) {
		before := v.Stats()
		out := v.Validate(nil, r)
		after := v.Stats()
		dropped := after.Duplicates+after.FailedRereads > before.Duplicates+before.FailedRereads
		if len(out) == 0 && !dropped {
			t.Fatalf("read %+v: no value and no drop", r)
		}
		for _, x := range out {
			if x.Meter != r.Meter && x.Version < 2 {
				t.Fatalf("value of %s for a read of %s", x.Meter, r.Meter)
			}
			if x.Version < 1 || x.Quality == "" || len(x.Sources) == 0 {
				t.Fatalf("bad value %+v", x)
			}
		}
		all = append(all, out...)
	}
	s := v.Stats()
	if s.Values != s.Reads-s.Duplicates-s.FailedRereads+s.Placeholders+s.Revisions || int64(len(all)) != s.Values {
		t.Fatalf("accounting: %+v, %d values", s, len(all))
	}
	series := map[seriesKey]map[string][]Value{}
	for _, x := range all {
		if x.Class != meter.Interval && x.Class != meter.Daily || classify(x.Class, x.Quantity, x.Unit) != kindRegister {
			continue
		}
		k := seriesKey{x.Class, x.Quantity}
		if series[k] == nil {
			series[k] = map[string][]Value{}
		}
		series[k][x.Meter] = append(series[k][x.Meter], x)
	}
	for _, byMeter := range series {
		for _, vals := range byMeter {
			est, _, err := Estimate(c, vals, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range est {
				if negative(e.Delta) && e.Quality.Estimated() {
					t.Fatalf("negative estimate %+v", e)
				}
			}
			v.Accept(nil, est...)
			if len(vals) > 0 {
				if ed, _, err := Edit(vals[0], dlt645.Decimal{Units: 12345, Scale: 2}, "fuzz", "fuzz", time.Unix(1, 0)); err == nil {
					v.Accept(nil, ed)
				}
			}
		}
	}
}
