package review

import (
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// The fixture: area A1 (100 kVA) behind concentrator K1 on bus ch1,
// its area meter AM (CT 20) and customers C1..C3; area A2 behind K2 on
// bus ch2 with its area meter and one customer.
const (
	AM = "000001000000"
	C1 = "000001000001"
	C2 = "000001000002"
	C3 = "000001000003"
	BM = "000002000000"
	B1 = "000002000001"
)

func fixture() *archive.Archive {
	return &archive.Archive{
		Areas: []archive.Area{{ID: "A1", CapacityKVA: 100}, {ID: "A2"}},
		Concentrators: []archive.Concentrator{{ID: "K1", Area: "A1", Channels: []string{"ch1"}},
			{ID: "K2", Area: "A2", Channels: []string{"ch2"}}},
		Channels: []archive.Channel{{ID: "ch1", Kind: archive.KindTCP, Address: "127.0.0.1:1"}, {ID: "ch2", Kind: archive.KindTCP, Address: "127.0.0.1:2"}},
		Meters: []archive.Meter{
			{Address: AM, Channel: "ch1", Area: "A1", Role: archive.RoleArea, CT: 20, PT: 1},
			{Address: C1, Channel: "ch1", Area: "A1", Role: archive.RoleCustomer, CT: 1, PT: 1},
			{Address: C2, Channel: "ch1", Area: "A1", Role: archive.RoleCustomer, CT: 1, PT: 1},
			{Address: C3, Channel: "ch1", Area: "A1", Role: archive.RoleCustomer, CT: 1, PT: 1},
			{Address: BM, Channel: "ch2", Area: "A2", Role: archive.RoleArea, CT: 1, PT: 1},
			{Address: B1, Channel: "ch2", Area: "A2", Role: archive.RoleCustomer, CT: 1, PT: 1},
		},
	}
}

// d is 00:00 of a June 2025 day in CST, or of another month with d(m, day).
func d(day int) time.Time { return time.Date(2025, 6, day, 0, 0, 0, 0, CST) }

func dm(month time.Month, day int) time.Time { return time.Date(2025, month, day, 0, 0, 0, 0, CST) }

func decimal(t testing.TB, s string) dlt645.Decimal {
	t.Helper()
	v, err := dlt645.ParseDecimal(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// dailyValues is a meter's daily forward values from the freeze of first on,
// one a day, valid.
func dailyValues(t testing.TB, meterID string, first time.Time, values ...string) []vee.Value {
	t.Helper()
	var out []vee.Value
	for i, s := range values {
		if s == "" {
			continue // a day without a value
		}
		out = append(out, vee.Value{Key: vee.Key{Meter: meterID, Class: meter.Daily, Quantity: Forward, Time: first.AddDate(0, 0, i)},
			Unit: "kWh", Value: decimal(t, s), Quality: vee.Valid})
	}
	return out
}

// cumulative turns daily consumptions into register readings from start.
func cumulative(t testing.TB, start string, deltas ...string) []string {
	t.Helper()
	r := rat(decimal(t, start))
	out := []string{show(r, 2)}
	for _, s := range deltas {
		r = r.Add(r, rat(decimal(t, s)))
		out = append(out, show(r, 2))
	}
	return out
}

// okRead is an OK daily read of a meter's forward register, with a frame.
func okRead(meterID string, at time.Time, value string) meter.Read {
	v, _ := dlt645.ParseDecimal(value)
	return meter.Read{Meter: meterID, Class: meter.Daily, Quantity: Forward, Unit: "kWh", Value: v, MeterTime: midnight(at, CST), ReadAt: at,
		Status: meter.OK, Frame: meter.FrameRef{Request: []byte{0x68}, Reply: [][]byte{{0x68, 0x16}}}}
}

func only(fs []Finding, rule Rule) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

// want checks that fs holds exactly one finding of rule on meter and
// returns it.
func want(t testing.TB, fs []Finding, rule Rule, meter string) Finding {
	t.Helper()
	var got []Finding
	for _, f := range only(fs, rule) {
		if f.Meter == meter {
			got = append(got, f)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d %s findings on %q, want 1; all: %s", len(got), rule, meter, dump(fs))
	}
	return got[0]
}

func none(t testing.TB, fs []Finding, rule Rule) {
	t.Helper()
	if got := only(fs, rule); len(got) > 0 {
		t.Fatalf("unexpected %s: %s", rule, dump(got))
	}
}

func dump(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("\n  " + string(f.Rule) + " " + f.Area + " " + f.Meter + " " + f.Day + ": " + f.Summary)
	}
	return b.String()
}

// evidence returns the value of the first evidence whose What contains what.
func evidence(t testing.TB, f Finding, what string) Evidence {
	t.Helper()
	for _, e := range f.Evidence {
		if strings.Contains(e.What, what) {
			return e
		}
	}
	t.Fatalf("no evidence %q in %+v", what, f.Evidence)
	return Evidence{}
}

func review(in *Input, mut ...func(*Config)) Report {
	cfg := DefaultConfig()
	for _, f := range mut {
		f(&cfg)
	}
	return Review(in, cfg)
}

func check(in *Input, mut ...func(*Config)) []Finding {
	cfg := DefaultConfig()
	for _, f := range mut {
		f(&cfg)
	}
	return CheckArchive(in, cfg)
}
