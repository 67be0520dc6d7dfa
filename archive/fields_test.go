package archive_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store/results"
	"go.yaml.in/yaml/v3"
)

func TestParseDate(t *testing.T) {
	for in, want := range map[string]archive.Date{
		"2025-06-10": {2025, 6, 10}, "2025/6/1": {2025, 6, 1}, "2025.06.10": {2025, 6, 10}, "20250610": {2025, 6, 10},
		" 2024-02-29 ": {2024, 2, 29}, "": {},
	} {
		got, err := archive.ParseDate(in)
		if err != nil || got != want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"2025-02-29", "2025-13-01", "2025-00-10", "1800-01-01", "2025-06", "2025-06-10-1", "../2025x",
		"2025-6-10 10:00", "abcdefgh", "2025--10", "+2025-06-10", "2025-006-10"} {
		if d, err := archive.ParseDate(in); err == nil {
			t.Errorf("ParseDate(%q) = %v, want an error", in, d)
		}
	}
}

func TestDateArithmetic(t *testing.T) {
	d := archive.Date{Year: 2025, Month: 8, Day: 31}
	for n, want := range map[int]archive.Date{6: {2026, 2, 28}, 1: {2025, 9, 30}, -6: {2025, 2, 28}, -8: {2024, 12, 31}, 18: {2027, 2, 28}, 0: d} {
		if got := d.AddMonths(n); got != want {
			t.Errorf("%v + %d months = %v, want %v", d, n, got, want)
		}
	}
	if (archive.Date{2024, 2, 29}).AddMonths(12) != (archive.Date{2025, 2, 28}) {
		t.Error("leap day + 12 months")
	}
	a, b := archive.Date{2025, 6, 10}, archive.Date{2025, 7, 1}
	if a.DaysUntil(b) != 21 || b.DaysUntil(a) != -21 || !a.Before(b) || b.Before(a) || a.Compare(a) != 0 {
		t.Error("compare", a.DaysUntil(b))
	}
	cst := time.FixedZone("CST", 8*3600)
	if got := archive.DateOf(time.Date(2025, 6, 10, 23, 59, 0, 0, cst)); got != a {
		t.Error("DateOf", got)
	}
	if !a.In(cst).Equal(time.Date(2025, 6, 10, 0, 0, 0, 0, cst)) {
		t.Error("In")
	}
	if (archive.Date{}).String() != "" || a.String() != "2025-06-10" || !(archive.Date{}).IsZero() {
		t.Error("String")
	}
}

// The new fields come in from YAML (the configuration's inline archive)
// and go out as JSON, dates as YYYY-MM-DD.
func TestFieldsYAML(t *testing.T) {
	const in = `
areas:
  - {id: A1, suspended_since: 2025-03-01, lat: 30.59, lon: 114.3, capacity_kva: 315}
concentrators:
  - {id: C1, area: A1, channels: [ch1], lat: 30.5901, lon: 114.3002}
meters:
  - {address: "000001000000", channel: ch1, area: A1, role: area, ct: 80, pt: 1, multiplier: 60,
     verified_on: 2019-07-01, verify_months: 72, rotation_due: "2026/1/1", accuracy: out_of_tolerance,
     ct_verified_on: 2020-01-15, ct_verify_months: 120}
exchanges:
  - {area: A1, old_meter: "000001000009", new_meter: "000001000010", date: "2025-06-10T10:30:00+08:00",
     removal_reading: "1234.56", install_reading: "0.00"}
`
	var a archive.Archive
	if err := yaml.Unmarshal([]byte(in), &a); err != nil {
		t.Fatal(err)
	}
	ar, m, e := a.Areas[0], a.Meters[0], a.Exchanges[0]
	if ar.SuspendedSince != (archive.Date{2025, 3, 1}) || ar.Lat != 30.59 || a.Concentrators[0].Lon != 114.3002 {
		t.Errorf("area %+v", ar)
	}
	if m.Multiplier != 60 || m.Ratio() != 80 || m.BillingMultiplier() != 60 || m.VerifyDue() != (archive.Date{2025, 7, 1}) ||
		m.RotationDue != (archive.Date{2026, 1, 1}) || m.Tolerance != archive.OutOfTolerance || m.CTVerifyDue() != (archive.Date{2030, 1, 15}) {
		t.Errorf("meter %+v", m)
	}
	if !e.Date.Equal(time.Date(2025, 6, 10, 2, 30, 0, 0, time.UTC)) || e.RemovalReading.String() != "1234.56" || e.NewMeter != "000001000010" {
		t.Errorf("exchange %+v", e)
	}
	b, _ := json.Marshal(m)
	if !strings.Contains(string(b), `"VerifiedOn":"2019-07-01"`) || !strings.Contains(string(b), `"RotationDue":"2026-01-01"`) {
		t.Errorf("json %s", b)
	}
	var bad archive.Archive
	if err := yaml.Unmarshal([]byte("areas: [{id: A, suspended_since: 2025-02-30}]"), &bad); err == nil ||
		!strings.Contains(err.Error(), "February 2025 has no day 30") {
		t.Errorf("bad date: %v", err)
	}
}

func TestValidateFields(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(a *archive.Archive)
		want string
	}{
		{"lat", func(a *archive.Archive) { a.Meters[1].Lat = 91 }, "meters[1] (000001000001): lat: 91: must be -90..90"},
		{"lon", func(a *archive.Archive) { a.Areas[0].Lon = -181 }, "areas[0] (A1): lon: -181: must be -180..180"},
		{"concentrator lat", func(a *archive.Archive) { a.Concentrators[0].Lat = -100 }, "concentrators[0] (C1): lat: -100"},
		{"multiplier", func(a *archive.Archive) { a.Meters[0].Multiplier = -1 }, "meters[0] (000001000000): multiplier: -1: must be 1.."},
		{"verify months", func(a *archive.Archive) { a.Meters[0].VerifyMonths = 601 }, "verify_months: 601: must be 1..600"},
		{"accuracy", func(a *archive.Archive) { a.Meters[0].Tolerance = "meh" }, `accuracy: unknown accuracy "meh"`},
		{"date", func(a *archive.Archive) { a.Meters[0].RotationDue = archive.Date{2025, 2, 29} }, "rotation_due: February 2025 has no day 29"},
		{"suspended", func(a *archive.Archive) { a.Areas[1].SuspendedSince = archive.Date{2025, 4, 31} }, "areas[1] (A2): suspended_since: April 2025 has no day 31"},
		{"exchange area", func(a *archive.Archive) { a.Exchanges[0].Area = "Q" }, `exchanges[0] (000001000009): area: area "Q" does not exist`},
		{"exchange same", func(a *archive.Archive) { a.Exchanges[0].NewMeter = "000001000009" }, "new_meter: the same meter as old_meter"},
		{"exchange address", func(a *archive.Archive) { a.Exchanges[0].OldMeter = "12" }, `exchanges[0] (12): old_meter: "12" is not a 12-digit address`},
		{"exchange date", func(a *archive.Archive) { a.Exchanges[0].Date = time.Time{} }, "date: must be set"},
		{"exchange reading", func(a *archive.Archive) { a.Exchanges[0].RemovalReading = dlt645.Decimal{Units: -5} }, "removal_reading: -5: must be a reading ≥ 0"},
		{"exchange new meter elsewhere", func(a *archive.Archive) { a.Exchanges[0].NewMeter = "000002000001" },
			"new_meter: meter 000002000001 is in area A2, not A1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := small()
			a.Exchanges = []archive.Exchange{{Area: "A1", OldMeter: "000001000009", NewMeter: "000001000001",
				Date: time.Date(2025, 6, 10, 10, 0, 0, 0, time.UTC), RemovalReading: dlt645.Decimal{Units: 100, Scale: 2}}}
			if err := a.Validate(); err != nil {
				t.Fatalf("before the edit: %v", err)
			}
			tc.edit(a)
			err := a.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n%v\nlacks %q", err, tc.want)
			}
		})
	}
}

// full is a meter with every optional field set.
func full() archive.Meter {
	return archive.Meter{Address: "000001000000", Edition: "2007", Channel: "ch1", Area: "A1", Role: "area", CT: 80, PT: 1,
		Lat: 30.123456789, Lon: -0.5, Multiplier: 60, VerifiedOn: archive.Date{2019, 7, 1}, VerifyMonths: 72,
		RotationDue: archive.Date{2026, 1, 1}, Tolerance: archive.AccuracyOK, CTVerifiedOn: archive.Date{2020, 1, 15}, CTVerifyMonths: 120}
}

func TestCSVOptionalColumns(t *testing.T) {
	var buf bytes.Buffer
	ms := []archive.Meter{full(), {Address: "000001000001", Edition: "2007", Channel: "ch1", Area: "A1", Role: "customer", CT: 1, PT: 1}}
	if err := archive.WriteMetersCSV(&buf, ms); err != nil {
		t.Fatal(err)
	}
	if want := "000001000001,2007,,ch1,A1,customer,,,1,1,,,,,,,,,,\n"; !strings.Contains(buf.String(), want) {
		t.Errorf("empty optional cells: %q lacks %q", buf.String(), want)
	}
	got, err := archive.ReadMetersCSV(&buf, "m.csv")
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		got[i].Source = ""
	}
	if !reflect.DeepEqual(got, ms) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, ms)
	}
	// aliases and spreadsheet dates
	in := "address,channel,area,Latitude,Longitude,stored multiplier,verification date,verify_months,accuracy\n" +
		"1000000,ch1,A1,30.5,114.25,60,2019/7/1,72,超差\n"
	got, err = archive.ReadMetersCSV(strings.NewReader(in), "u.csv")
	if err != nil {
		t.Fatal(err)
	}
	if m := got[0]; m.Lat != 30.5 || m.Lon != 114.25 || m.Multiplier != 60 || m.VerifiedOn != (archive.Date{2019, 7, 1}) || m.Tolerance != archive.OutOfTolerance {
		t.Errorf("aliases: %+v", m)
	}
}

func TestCSVOptionalErrors(t *testing.T) {
	const hdr = "address,channel,area,lat,lon,multiplier,verified_on,verify_months,rotation_due,accuracy\n"
	for _, tc := range []struct {
		name, row, want string
	}{
		{"lat text", "000001000001,c,A,north,,,,,,", `m.csv:2:4: lat: "north" is not a number of degrees`},
		{"lat range", "000001000001,c,A,95,,,,,,", `m.csv:2:4: lat: 95: must be -90..90`},
		{"lon NaN", "000001000001,c,A,,NaN,,,,,", `m.csv:2:5: lon: "NaN" is not a number of degrees`},
		{"multiplier", "000001000001,c,A,,,x,,,,", `m.csv:2:6: multiplier: "x" is not an integer`},
		{"date", "000001000001,c,A,,,,2025-02-30,,,", `m.csv:2:7: verified_on: "2025-02-30": February 2025 has no day 30`},
		{"months", "000001000001,c,A,,,,,-3,,", `m.csv:2:8: verify_months: -3: must be 1..600`},
		{"rotation", "000001000001,c,A,,,,,,next year,", `m.csv:2:9: rotation_due: "next year" is not a date`},
		{"accuracy", "000001000001,c,A,,,,,,,so-so", `m.csv:2:10: accuracy: unknown accuracy "so-so"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := archive.ReadMetersCSV(strings.NewReader(hdr+tc.row+"\n"), "m.csv")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n%v\nlacks %q", err, tc.want)
			}
		})
	}
}

func TestExchangesCSV(t *testing.T) {
	cst := time.FixedZone("", 8*3600)
	exs := []archive.Exchange{{Area: "D02", OldMeter: "000002000007", NewMeter: "000002900007", Date: time.Date(2025, 6, 10, 10, 30, 0, 0, cst),
		RemovalReading: dlt645.Decimal{Units: 25037, Scale: 2}, InstallReading: dlt645.Decimal{Units: 0, Scale: 2}}}
	var buf bytes.Buffer
	if err := archive.WriteExchangesCSV(&buf, exs); err != nil {
		t.Fatal(err)
	}
	got, err := archive.ReadExchangesCSV(&buf, "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Source != "x.csv:2" || !got[0].Date.Equal(exs[0].Date) || got[0].RemovalReading != exs[0].RemovalReading {
		t.Errorf("round trip %+v", got)
	}
	in := "Area,old_meter,new_meter,date,removal_reading,install_reading\n" +
		"D02,2000007,2900007,2025-06-10 10:30+08:00,250.37,0\n"
	if got, err := archive.ReadExchangesCSV(strings.NewReader(in), "x.csv"); err != nil || got[0].OldMeter != "000002000007" ||
		!got[0].Date.Equal(exs[0].Date) {
		t.Errorf("tolerant: %+v %v", got, err)
	}
	const hdr = "area,old_meter,new_meter,date,removal_reading,install_reading\n"
	for _, tc := range []struct{ name, in, want string }{
		{"no zone", hdr + "D02,000002000007,000002900007,2025-06-10 10:30,1,0\n", `x.csv:2:4: date: "2025-06-10 10:30" is not a time with its zone`},
		{"reading", hdr + "D02,000002000007,000002900007,2025-06-10T10:30:00+08:00,lots,0\n", `x.csv:2:5: removal_reading: "lots" is not a reading`},
		{"negative", hdr + "D02,000002000007,000002900007,2025-06-10T10:30:00+08:00,1,-2\n", `x.csv:2:6: install_reading: -2: must be a reading ≥ 0`},
		{"address", hdr + "D02,x,000002900007,2025-06-10T10:30:00+08:00,1,0\n", `x.csv:2:2: old_meter:`},
		{"same", hdr + "D02,000002000007,000002000007,2025-06-10T10:30:00+08:00,1,0\n", `x.csv:2:3: new_meter: the same meter as old_meter`},
		{"missing column", "area,old_meter\n", "x.csv:1: header has no new_meter column"},
		{"unknown column", hdr[:len(hdr)-1] + ",colour\n", `x.csv:1:7: unknown column "colour"`},
		{"empty", "", "x.csv: empty file"},
		{"cells", hdr + "D02\n", "x.csv:2: 1 cells, the header has 6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := archive.ReadExchangesCSV(strings.NewReader(tc.in), "x.csv")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n%v\nlacks %q", err, tc.want)
			}
		})
	}
}

func TestDiffAndChangeLog(t *testing.T) {
	before := small()
	after := small()
	after.Meters[1].CT, after.Meters[1].Multiplier = 5, 5
	after.Meters = append(after.Meters[:2], after.Meters[3:]...) // 000001000002 removed
	after.Meters = append(after.Meters, archive.Meter{Address: "000001000003", Channel: "ch1", Area: "A1", CT: 1, PT: 1})
	after.Meters[0].Source = "elsewhere.csv:9" // not a change
	chs := archive.Diff(before, after)
	var got []string
	for _, c := range chs {
		got = append(got, c.What+" "+c.ID+" "+c.Op+" "+strings.Join(c.Fields, "+"))
	}
	want := []string{"meter 000001000001 changed ct+multiplier", "meter 000001000003 added ", "meter 000001000002 removed "}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("diff %q, want %q", got, want)
	}

	rs, err := results.Open(filepath.Join(t.TempDir(), "r.db"), results.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	at := time.Date(2025, 6, 10, 9, 0, 0, 0, time.UTC)
	log := &archive.ChangeLog{Results: rs, Now: func() time.Time { return at }}
	ctx := context.Background()
	if _, err := log.Log(ctx, "", "test", before, after); err == nil {
		t.Error("no who")
	}
	if chs, err := log.Log(ctx, "wang", "headend archive import m.csv", before, before); err != nil || len(chs) != 0 {
		t.Errorf("no change: %v %v", chs, err)
	}
	if _, err := log.Log(ctx, "wang", "headend archive import m.csv", before, after); err != nil {
		t.Fatal(err)
	}
	es, err := log.Changes(ctx, "A1", time.Time{}, time.Time{})
	if err != nil || len(es) != 3 {
		t.Fatalf("changes %v %v", es, err)
	}
	e := es[0]
	if e.Who != "wang" || !e.At.Equal(at) || e.Source != "headend archive import m.csv" || e.Op != "changed" {
		t.Errorf("entry %+v", e)
	}
	b, _ := json.Marshal(e)
	for _, w := range []string{`"before":{"Address":"000001000001"`, `"CT":1,`, `"after":{"Address":"000001000001"`, `"CT":5,`, `"fields":["ct","multiplier"]`} {
		if !strings.Contains(string(b), w) {
			t.Errorf("%s lacks %s", b, w)
		}
	}
	if es, _ := log.Changes(ctx, "A1", at.Add(time.Second), time.Time{}); len(es) != 0 {
		t.Errorf("from: %v", es)
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2025-06-10", "2025/6/1", "20250610", "2025.02.29", "", "9999-12-31", "1900-1-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := archive.ParseDate(s)
		if err != nil {
			return
		}
		again, err := archive.ParseDate(d.String())
		if err != nil || again != d {
			t.Fatalf("%q -> %v -> %v %v", s, d, again, err)
		}
		if !d.IsZero() && archive.DateOf(d.In(time.UTC)) != d {
			t.Fatalf("%v is not a real day", d)
		}
	})
}

func FuzzReadExchangesCSV(f *testing.F) {
	f.Add("area,old_meter,new_meter,date,removal_reading,install_reading\nD02,2000007,2900007,2025-06-10 10:30+08:00,250.37,0\n")
	f.Add("\uFEFFarea,old_meter,new_meter,date,removal_reading,install_reading\r\nA,1,2,2025-06-10T10:30:00Z,1,1\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		exs, err := archive.ReadExchangesCSV(strings.NewReader(in), "f.csv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.csv") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		var out bytes.Buffer
		if err := archive.WriteExchangesCSV(&out, exs); err != nil {
			t.Fatal(err)
		}
		again, err := archive.ReadExchangesCSV(&out, "f.csv")
		if err != nil || len(again) != len(exs) {
			t.Fatalf("re-read: %v\n%q", err, out.String())
		}
		for i := range exs {
			a, b := exs[i], again[i]
			if !a.Date.Equal(b.Date) || a.Area != b.Area || a.OldMeter != b.OldMeter || a.NewMeter != b.NewMeter ||
				a.RemovalReading != b.RemovalReading || a.InstallReading != b.InstallReading {
				t.Fatalf("exchange %d: %+v, then %+v", i, a, b)
			}
		}
	})
}
