package archive_test

import (
	"bytes"
	"errors"
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/archive"
	"github.com/headend/headend/protocol/dlt645"
)

func intp(n int) *int { return &n }

// small is a valid archive: two areas, one over serial, one over Modbus.
func small() *archive.Archive {
	return &archive.Archive{
		Areas: []archive.Area{{ID: "A1", Name: "one", Feeder: "F1", CapacityKVA: 315}, {ID: "A2"}},
		Concentrators: []archive.Concentrator{
			{ID: "C1", Area: "A1", Channels: []string{"ch1", "ch2"}},
			{ID: "C2", Area: "A2", Channels: []string{"mb"}},
		},
		Channels: []archive.Channel{
			{ID: "ch1", Kind: archive.KindSerial, Device: "/dev/ttyUSB0"},
			{ID: "ch2", Kind: archive.KindDialIn, DialInID: "C1"},
			{ID: "mb", Kind: archive.KindModbusTCP, Address: "127.0.0.1:502", Retries: intp(0)},
		},
		Meters: []archive.Meter{
			{Address: "000001000000", Edition: "2007", Channel: "ch1", Area: "A1", Role: "area", CT: 80, PT: 1},
			{Address: "000001000001", Edition: "1997", Channel: "ch1", Area: "A1", Role: "customer", CT: 1, PT: 1, Customer: "K1"},
			{Address: "000001000002", Channel: "ch2", Area: "A1", Role: "pv", CT: 1, PT: 1},
			{Address: "000002000000", Edition: "modbus", Unit: 1, Channel: "mb", Area: "A2", Role: "area", CT: 40, PT: 100},
			{Address: "000002000001", Edition: "modbus", Unit: 2, Channel: "mb", Area: "A2", CT: 1, PT: 1},
		},
	}
}

func TestValidateGood(t *testing.T) {
	a := small()
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	a.ApplyDefaults()
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	c := a.Channels[0]
	if c.Baud != 2400 || c.Parity != "E" || c.DataBits != 8 || c.StopBits != 1 || c.Timeout != 2*time.Second ||
		c.Gap != 50*time.Millisecond || c.RetryCount() != 2 {
		t.Errorf("serial defaults: %+v", c)
	}
	if a.Channels[2].RetryCount() != 0 || a.Channels[2].Baud != 0 {
		t.Errorf("modbus-tcp: %+v", a.Channels[2])
	}
	if a.Meters[4].Role != archive.RoleCustomer || a.Meters[2].Edition != archive.Edition2007 {
		t.Errorf("meter defaults: %+v %+v", a.Meters[4], a.Meters[2])
	}
	if m := a.Meters[3].Ratio(); m != 4000 || a.Meters[3].BillingMultiplier() != 4000 {
		t.Errorf("multiplier %d", m)
	}
}

func TestValidateErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(a *archive.Archive)
		want []string
	}{
		{"duplicate meter", func(a *archive.Archive) { a.Meters[2].Address = "000001000001" },
			[]string{"meters[2] (000001000001): address: duplicate meter address 000001000001, also meters[1]"}},
		{"missing channel", func(a *archive.Archive) { a.Meters[1].Channel = "nope" },
			[]string{`meters[1] (000001000001): channel: channel "nope" does not exist`}},
		{"no channel", func(a *archive.Archive) { a.Meters[1].Channel = "" },
			[]string{`meters[1] (000001000001): channel: must be set`}},
		{"missing area", func(a *archive.Archive) { a.Meters[1].Area = "A9" },
			[]string{`meters[1] (000001000001): area: area "A9" does not exist`}},
		{"zero ct", func(a *archive.Archive) { a.Meters[1].CT = 0 }, []string{"meters[1] (000001000001): ct: 0: must be 1..100000"}},
		{"negative pt", func(a *archive.Archive) { a.Meters[1].PT = -5 }, []string{"meters[1] (000001000001): pt: -5: must be 1..100000"}},
		{"two area meters", func(a *archive.Archive) { a.Meters[1].Role = "area" },
			[]string{"areas[0] (A1): 2 area meters (000001000000, 000001000001), want one"}},
		{"bad address", func(a *archive.Archive) { a.Meters[1].Address = "00000100000X" },
			[]string{`meters[1] (00000100000X): address: bad address "00000100000X": character 11 is not a decimal digit`}},
		{"short address", func(a *archive.Archive) { a.Meters[1].Address = "1000001" },
			[]string{`meters[1] (1000001): address: "1000001" is not a 12-digit address`}},
		{"broadcast address", func(a *archive.Archive) { a.Meters[1].Address = "999999999999" },
			[]string{`address: "999999999999" is a broadcast or wildcard address`}},
		{"unknown edition", func(a *archive.Archive) { a.Meters[1].Edition = "2020" },
			[]string{`meters[1] (000001000001): edition: unknown edition "2020" (want 2007, 1997 or modbus)`}},
		{"unknown role", func(a *archive.Archive) { a.Meters[1].Role = "boss" },
			[]string{`meters[1] (000001000001): role: unknown role "boss"`}},
		{"modbus without unit", func(a *archive.Archive) { a.Meters[4].Unit = 0 },
			[]string{"meters[4] (000002000001): unit: 0 is not a Modbus unit id 1..247"}},
		{"duplicate unit", func(a *archive.Archive) { a.Meters[4].Unit = 1 },
			[]string{"meters[4] (000002000001): unit: unit 1 on channel mb is also meter 000002000000"}},
		{"645 meter on modbus", func(a *archive.Archive) { a.Meters[4].Edition, a.Meters[4].Unit = "2007", 0 },
			[]string{"meters[4] (000002000001): channel: a DL/T 645 meter on modbus-tcp channel mb"}},
		{"modbus meter on serial", func(a *archive.Archive) { a.Meters[1].Edition, a.Meters[1].Unit = "modbus", 3 },
			[]string{"meters[1] (000001000001): channel: a Modbus meter on serial channel ch1"}},
		{"serial without device", func(a *archive.Archive) { a.Channels[0].Device = "" },
			[]string{"channels[0] (ch1): device: must be set for kind serial"}},
		{"tcp without address", func(a *archive.Archive) { a.Channels[2].Address = "" },
			[]string{"channels[2] (mb): address: must be set for kind modbus-tcp"}},
		{"tcp bad address", func(a *archive.Archive) { a.Channels[2].Address = "localhost" },
			[]string{`channels[2] (mb): address: "localhost" is not host:port`}},
		{"tcp port out of range", func(a *archive.Archive) { a.Channels[2].Address = "127.0.0.1:70000" },
			[]string{`channels[2] (mb): address: "127.0.0.1:70000": port 70000 is not a number 1..65535`}},
		{"tcp port zero", func(a *archive.Archive) { a.Channels[2].Address = "127.0.0.1:0" },
			[]string{`channels[2] (mb): address: "127.0.0.1:0": port 0 is not a number 1..65535`}},
		{"baud not standard", func(a *archive.Archive) { a.Channels[0].Baud = 12 },
			[]string{"channels[0] (ch1): baud: 12: not a standard rate (300, 600, 1200, 2400"}},
		{"mqtt broker port out of range", func(a *archive.Archive) {
			a.Channels[1] = archive.Channel{ID: "ch2", Kind: "mqtt", Broker: "tcp://127.0.0.1:70000", Gateway: "G"}
		}, []string{`channels[1] (ch2): broker: "tcp://127.0.0.1:70000": port 70000 is not a number 1..65535`}},
		{"gdw3761 bad terminal, mode, heartbeat", func(a *archive.Archive) {
			a.Channels[1] = archive.Channel{ID: "ch2", Kind: "gdw3761", Terminal: "44x1 0001", Mode: "push", Heartbeat: -1}
		}, []string{`channels[1] (ch2): terminal: gdw3761: value out of range: terminal address "44x1 0001": area code is not 4 decimal digits`,
			`channels[1] (ch2): mode: "push": want forward, current or frozen`, "channels[1] (ch2): heartbeat: -1ns: must be >= 0"}},
		{"gdw3761 frozen without point", func(a *archive.Archive) {
			a.Channels[1] = archive.Channel{ID: "ch2", Kind: "gdw3761", Terminal: "4401 0001", Mode: "frozen"}
		}, []string{"meters[2] (000001000002): point: must be set: channel ch2 reads its terminal's frozen data by measuring point"}},
		{"gdw3761 duplicate point, point on serial", func(a *archive.Archive) {
			a.Channels[1] = archive.Channel{ID: "ch2", Kind: "gdw3761", Terminal: "4401 0001", Mode: "current"}
			for i := range a.Meters {
				a.Meters[i].Point = 7
			}
			a.Meters[1].Channel = "ch2"
		}, []string{"point: point 7 on channel ch2 is also meter", "meters[0] (000001000000): point: 7: a measuring point only means something on a gdw3761 channel, not serial channel ch1"}},
		{"dialin without id", func(a *archive.Archive) { a.Channels[1].DialInID = "" },
			[]string{"channels[1] (ch2): dialin_id: must be set for kind dialin"}},
		{"mqtt without broker or gateway", func(a *archive.Archive) { a.Channels[1] = archive.Channel{ID: "ch2", Kind: "mqtt"} },
			[]string{"channels[1] (ch2): broker: must be set for kind mqtt", "channels[1] (ch2): gateway: must be set for kind mqtt"}},
		{"mqtt bad broker", func(a *archive.Archive) {
			a.Channels[1] = archive.Channel{ID: "ch2", Kind: "mqtt", Broker: "embedded", Gateway: "G"}
		}, []string{`channels[1] (ch2): broker: "embedded" is not a broker URL`}},
		{"unknown kind", func(a *archive.Archive) { a.Channels[1].Kind = "pigeon" },
			[]string{`channels[1] (ch2): kind: "pigeon" is not one of dialin, gdw3761, modbus-rtu, modbus-rtu-over-tcp, modbus-tcp, mqtt, serial, tcp`}},
		{"modbus rtu over tcp without address, serial settings", func(a *archive.Archive) {
			a.Channels[2].Kind, a.Channels[2].Address, a.Channels[2].Baud = archive.KindModbusRTUOverTCP, "", 9600
		}, []string{"channels[2] (mb): address: must be set for kind modbus-rtu-over-tcp",
			"channels[2] (mb): device: serial settings on a modbus-rtu-over-tcp channel"}},
		{"modbus rtu with 7 data bits", func(a *archive.Archive) {
			a.Channels[2] = archive.Channel{ID: "mb", Kind: archive.KindModbusRTU, Device: "/dev/ttyUSB1", DataBits: 7}
		}, []string{"channels[2] (mb): data_bits: 7: Modbus RTU has 8 data bits"}},
		{"bad serial settings", func(a *archive.Archive) {
			c := &a.Channels[0]
			c.Baud, c.Parity, c.DataBits, c.StopBits, c.Timeout, c.Gap, c.Retries = -1, "X", 9, 3, -1, -1, intp(-1)
		}, []string{"channels[0] (ch1): baud: -1: not a standard rate", `parity: "X": must be E, N or O`,
			"data_bits: 9: must be 7 or 8", "stop_bits: 3: must be 1 or 2", "timeout: -1ns: must be > 0",
			"gap: -1ns: must be >= 0", "retries: -1: must be 0..10"}},
		{"duplicate channel", func(a *archive.Archive) { a.Channels[1].ID = "ch1" },
			[]string{"channels[1] (ch1): id: duplicate channel ch1, also channels[0]"}},
		{"concentrator unknown channel and area", func(a *archive.Archive) {
			a.Concentrators[1].Channels = append(a.Concentrators[1].Channels, "zz", "ch1")
			a.Concentrators[1].Area = "Q"
		}, []string{`concentrators[1] (C2): area: area "Q" does not exist`,
			`concentrators[1] (C2): channels[1]: channel "zz" does not exist`,
			"concentrators[1] (C2): channels[2]: channel ch1 already belongs to concentrator C1"}},
		{"duplicate area", func(a *archive.Archive) { a.Areas[1].ID = "A1" },
			[]string{"areas[1] (A1): id: duplicate area A1, also areas[0]"}},
		{"source named", func(a *archive.Archive) { a.Meters[1].Source = "x.csv:7"; a.Meters[1].CT = 0 },
			[]string{"x.csv:7 (000001000001): ct: 0: must be 1..100000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := small()
			tc.edit(a)
			err := a.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nlacks %q", err, w)
				}
			}
			var fe *archive.FieldError
			if !errors.As(err, &fe) {
				t.Errorf("not a FieldError: %T", err)
			}
		})
	}
}

// TestValidateAll checks that several problems come back at once.
func TestValidateAll(t *testing.T) {
	a := small()
	a.Meters[1].CT = 0
	a.Meters[2].Channel = "x"
	a.Channels[0].Device = ""
	err := a.Validate()
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 3 {
		t.Errorf("%d errors, want 3:\n%v", n, err)
	}
}

func TestIndex(t *testing.T) {
	a := small()
	ix := a.Index()
	if m, ok := ix.Meter("000001000001"); !ok || m.Customer != "K1" {
		t.Errorf("Meter: %v %v", m, ok)
	}
	if m, ok := ix.Meter("1000001"); !ok || m.Address != "000001000001" {
		t.Errorf("short Meter: %v %v", m, ok)
	}
	if _, ok := ix.Meter("000009000000"); ok {
		t.Error("found a missing meter")
	}
	if m, ok := ix.MeterAt(dlt645.MustParseAddress("000002000001")); !ok || m.Unit != 2 {
		t.Errorf("MeterAt: %v", m)
	}
	if ms := ix.MetersOnChannel("ch1"); len(ms) != 2 || ms[0].Address != "000001000000" {
		t.Errorf("on ch1: %v", ms)
	}
	if m, ok := ix.AreaMeter("A2"); !ok || m.Address != "000002000000" {
		t.Errorf("area meter: %v", m)
	}
	if cs := ix.Customers("A1"); len(cs) != 2 || cs[1].Role != archive.RolePV {
		t.Errorf("customers: %v", cs)
	}
	if len(ix.MetersInArea("A1")) != 3 {
		t.Error("MetersInArea")
	}
	if c, ok := ix.ConcentratorOf("ch2"); !ok || c.ID != "C1" {
		t.Errorf("ConcentratorOf: %v", c)
	}
	if ar, ok := ix.Area("A1"); !ok || ar.CapacityKVA != 315 {
		t.Error("Area")
	}
	if ch, ok := ix.Channel("mb"); !ok || ch.Kind != archive.KindModbusTCP {
		t.Error("Channel")
	}
	if c, ok := ix.Concentrator("C2"); !ok || c.Area != "A2" {
		t.Error("Concentrator")
	}
	// pointers into the archive
	m, _ := ix.Meter("000001000001")
	m.CustomerName = "Li"
	if a.Meters[1].CustomerName != "Li" {
		t.Error("index does not point into the archive")
	}
}

func TestEditionRole(t *testing.T) {
	if e, _ := archive.ParseEdition("DL/T645-1997"); e != archive.Edition1997 {
		t.Error(e)
	}
	if d, ok := archive.Edition1997.DLT645(); !ok || d != dlt645.DLT1997 {
		t.Error("DLT645 1997")
	}
	if _, ok := archive.EditionModbus.DLT645(); ok {
		t.Error("modbus is DL/T 645")
	}
	if r, _ := archive.ParseRole("总表"); r != archive.RoleArea {
		t.Error(r)
	}
}

func TestCSVRoundTrip(t *testing.T) {
	a := small()
	a.ApplyDefaults()
	a.Meters[1].CustomerName = `Wang, "the baker"`
	a.Meters[2].Tariff = "居民"
	var buf bytes.Buffer
	if err := archive.WriteMetersCSV(&buf, a.Meters); err != nil {
		t.Fatal(err)
	}
	got, err := archive.ReadMetersCSV(&buf, "m.csv")
	if err != nil {
		t.Fatal(err)
	}
	if got[3].Source != "m.csv:5" {
		t.Errorf("source %q", got[3].Source)
	}
	for i := range got {
		got[i].Source = ""
	}
	if !reflect.DeepEqual(got, a.Meters) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, a.Meters)
	}
}

func TestCSVTolerant(t *testing.T) {
	in := "\uFEFFCT_Ratio, Area ,Address,channel,Role,Edition\r\n" +
		"80,A1,1000000,ch1,总表,\r\n" +
		"\r\n" +
		" 1 ,A1, 000001000001 ,ch1,,1997\r\n"
	got, err := archive.ReadMetersCSV(strings.NewReader(in), "u.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []archive.Meter{
		{Address: "000001000000", Edition: "2007", Channel: "ch1", Area: "A1", Role: "area", CT: 80, PT: 1, Source: "u.csv:2"},
		{Address: "000001000001", Edition: "1997", Channel: "ch1", Area: "A1", Role: "customer", CT: 1, PT: 1, Source: "u.csv:4"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestCSVErrors(t *testing.T) {
	const hdr = "address,edition,channel,area,role,customer,ct,pt\n"
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"empty", "", []string{"m.csv: empty file, want a header row"}},
		{"unknown column", "address,channel,area,colour\n", []string{`m.csv:1:4: unknown column "colour"`}},
		{"missing column", "address,area\n", []string{"m.csv:1: header has no channel column"}},
		{"repeated column", "address,channel,area,ct_ratio,ct\n", []string{"m.csv:1:5: column ct repeats column 4"}},
		{"bad ct", hdr + "000001000001,2007,c,A,customer,K,x,1\n", []string{`m.csv:2:7: ct: "x" is not an integer`}},
		{"zero pt", hdr + "000001000001,2007,c,A,customer,K,1,0\n", []string{`m.csv:2:8: pt: 0: must be 1..100000`}},
		{"bad address", hdr + "00000100000X,2007,c,A,customer,K,1,1\n", []string{`m.csv:2:1: address: bad address`}},
		{"bad edition", hdr + "000001000001,2020,c,A,customer,K,1,1\n", []string{`m.csv:2:2: edition: unknown edition "2020"`}},
		{"bad role", hdr + "000001000001,2007,c,A,boss,K,1,1\n", []string{`m.csv:2:5: role: unknown role "boss"`}},
		{"no channel", hdr + "000001000001,2007,,A,customer,K,1,1\n", []string{`m.csv:2:3: channel: must be set`}},
		{"cell count", hdr + "000001000001,2007\n", []string{`m.csv:2: 2 cells, the header has 8`}},
		{"bare quote", hdr + "0000010\"00001,2007,c,A,customer,K,1,1\n", []string{`m.csv:2:8: bare " in non-quoted-field`}},
		{"several", hdr + "000001000001,2007,c,A,customer,K,0,1\n000001000002,2007,c,A,customer,K,1,0\n",
			[]string{"m.csv:2:7: ct", "m.csv:3:8: pt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := archive.ReadMetersCSV(strings.NewReader(tc.in), "m.csv")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nlacks %q", err, w)
				}
			}
		})
	}
}

func FuzzReadMetersCSV(f *testing.F) {
	var buf bytes.Buffer
	archive.WriteMetersCSV(&buf, small().Meters)
	f.Add(buf.String())
	f.Add("\uFEFFaddress,channel,area\r\n1,c,a\r\n")
	f.Add("address,channel,area,customer_name\n000001000001,c,a,\"x\ny\"\n")
	f.Add("address,channel,area,unit,edition\n1,c,a,5,modbus\n")
	f.Add("address,channel,area,lat,lon,multiplier,verified_on,verify_months,rotation_due,accuracy\n1,c,a,30.5,-0,60,2019/7/1,72,20260101,ok\n")
	f.Fuzz(func(t *testing.T, in string) {
		ms, err := archive.ReadMetersCSV(strings.NewReader(in), "f.csv")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.csv:") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		var out bytes.Buffer
		if err := archive.WriteMetersCSV(&out, ms); err != nil {
			t.Fatal(err)
		}
		again, err := archive.ReadMetersCSV(&out, "f.csv")
		if err != nil {
			t.Fatalf("re-read: %v\n%q", err, out.String())
		}
		if len(again) != len(ms) {
			t.Fatalf("%d meters, then %d", len(ms), len(again))
		}
		for i := range ms {
			ms[i].Source, again[i].Source = "", ""
			if ms[i] != again[i] {
				t.Fatalf("meter %d: %+v, then %+v", i, ms[i], again[i])
			}
		}
	})
}

// FuzzCheckHostPort checks that an address CheckHostPort accepts splits
// into a host and a port in range.
func FuzzCheckHostPort(f *testing.F) {
	for _, s := range []string{"127.0.0.1:502", ":0", "[::1]:65535", "h:70000", "h:", "h:-1", "h:+1", "localhost"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, listen bool) {
		if archive.CheckHostPort(s, listen) != nil {
			return
		}
		_, p, err := net.SplitHostPort(s)
		n, perr := strconv.Atoi(p)
		if err != nil || perr != nil || strings.Trim(p, "0123456789") != "" || n > 65535 || n < 0 || (!listen && n == 0) {
			t.Fatalf("accepted %q (listen %v)", s, listen)
		}
	})
}
