package influx

import (
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// wantRecord is what the rec field of r must decode to.
func wantRecord(r *meter.Read) record {
	var fr string
	if r.Frame.Request != nil || r.Frame.Reply != nil {
		var parts []string
		for _, p := range append([][]byte{r.Frame.Request}, r.Frame.Reply...) {
			parts = append(parts, hex.EncodeToString(p))
		}
		fr = strings.Join(parts, "|")
	}
	return record{Units: r.Value.Units, Scale: r.Value.Scale, Status: string(r.Status), Channel: r.Channel, DI: uint32(r.DI),
		Edition: uint8(r.Edition), Text: strings.ToValidUTF8(r.Text, "\uFFFD"), Unit: r.Unit, Err: r.Err,
		MeterTime: nanos(r.MeterTime), ReadAt: nanos(r.ReadAt), Tries: r.Frame.Tries, Frames: fr}
}

// recField returns the rec field of a line with line protocol's string
// escapes undone.
func recField(t testing.TB, line string) string {
	t.Helper()
	i := strings.Index(line, `,rec="`)
	j := strings.LastIndex(line, `" `)
	if i < 0 || j < i {
		t.Fatalf("no rec field in %q", line)
	}
	return strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(line[i+len(`,rec="`) : j])
}

func oddRead() meter.Read {
	return meter.Read{
		Meter: "000000000001", Area: "A 1", Channel: `ch "1" \ x`, Class: meter.Interval, DI: 0x0201FF00, Edition: dlt645.DLT1997,
		Quantity: `phase A, "x"=y`, Value: dlt645.Decimal{Units: -1 << 63, Scale: 18},
		Text: "he said \"hi\" \\ bye\n\t\x00 电能表 \xff", Unit: "kWh", Err: `timeout "3"`,
		MeterTime: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), ReadAt: time.Date(2026, 11, 22, 0, 0, 7, 5, time.UTC),
		Status: meter.OK, Frame: meter.FrameRef{Request: []byte{0x68, 0x11}, Reply: [][]byte{{0x68, 0x91}, {}}, Tries: 3},
	}
}

// Line protocol escapes tag and string values, so that a quantity with a
// space or a comma and a text with quotes write as one point.
func TestLineEscapes(t *testing.T) {
	r := oddRead()
	got := string(appendRead(nil, &r))
	want := `reads,meter=000000000001,area=A\ 1,class=interval,quantity=phase\ A\,\ "x"\=y value=-9.223372036854776,units=-9223372036854775808i,scale=18i,status="ok",rec="`
	if !strings.HasPrefix(got, want) {
		t.Fatalf("line\n%s\nwant prefix\n%s", got, want)
	}
	if !strings.HasSuffix(got, " 1795305600000000000\n") || strings.Count(got, "\n") != 1 {
		t.Fatalf("line %q: want one line ending in the meter's time", got)
	}
}

// The rec field is the JSON encoding/json would read back exactly.
func TestRecordJSON(t *testing.T) {
	for _, r := range []meter.Read{oddRead(), {Meter: "m", Quantity: "q", ReadAt: time.Unix(1, 0)},
		{Frame: meter.FrameRef{Request: []byte{}}}, {Frame: meter.FrameRef{Reply: [][]byte{nil}}}} {
		line := string(appendRead(nil, &r))
		var got record
		if err := json.Unmarshal([]byte(recField(t, line)), &got); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if want := wantRecord(&r); !reflect.DeepEqual(got, want) {
			t.Errorf("rec of %q:\n got %+v\nwant %+v", line, got, want)
		}
	}
}

func TestPastRetention(t *testing.T) {
	for _, c := range []struct {
		status  int
		msg     string
		dropped int
		ok      bool
	}{
		{400, "partial write: points beyond retention policy dropped=3", 3, true},
		{422, "failure writing points to database: partial write: points beyond retention policy dropped=1", 1, true},
		{500, "partial write: points beyond retention policy dropped=3", 0, false},
		{400, `partial write: field type conflict: input field "value" on measurement "reads" is type integer, already exists as type float dropped=1`, 0, false},
		{400, "partial write: points beyond retention policy dropped=3 and more", 0, false},
		{400, "unable to parse 'x': partial write: points beyond retention policy dropped=3", 0, false},
		{404, `database not found: "x"`, 0, false},
	} {
		n, ok := pastRetention(c.status, c.msg)
		if n != c.dropped || ok != c.ok {
			t.Errorf("pastRetention(%d, %q) = %d, %v; want %d, %v", c.status, c.msg, n, ok, c.dropped, c.ok)
		}
	}
}

func TestFluxString(t *testing.T) {
	got := fluxString("a\"b\\c\n${x}")
	if want := `"a\"b\\c\n\${x}"`; got != want {
		t.Fatalf("fluxString = %s, want %s", got, want)
	}
}
