package influx

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api"
)

// FuzzParseRead: whatever the server hands back in the rec field never
// panics the parser, and what it accepts writes the same rec again.
func FuzzParseRead(f *testing.F) {
	r := oddRead()
	f.Add("000000000001", "forward active energy total", recField(f, string(appendRead(nil, &r))))
	f.Add("000000000001", "forward active energy total", `{"u":99999999,"s":2,"st":"ok","fr":"68aa|6811","tr":1,"ra":1}`)
	f.Add("", "", `{"u":-5,"s":19}`)
	f.Add("m", "q", `{"fr":"zz|"}`)
	f.Fuzz(func(t *testing.T, meter, quantity, rec string) {
		got, err := parseRead(row{"meter": meter, "quantity": quantity, "rec": rec, "_time": time.Unix(0, 1)})
		if err != nil {
			return
		}
		if got.Value.Scale > 18 {
			t.Fatalf("scale %d accepted", got.Value.Scale)
		}
		again := recField(t, string(appendRead(nil, &got)))
		back, err := parseRead(row{"meter": meter, "quantity": quantity, "rec": again})
		if err != nil {
			t.Fatalf("a parsed read does not parse again: %v\n%s", err, again)
		}
		if w, g := wantRecord(&got), wantRecord(&back); !reflect.DeepEqual(w, g) {
			t.Fatalf("round trip changed the read:\n%+v\n%+v", w, g)
		}
	})
}

// FuzzQueryResult: a query's annotated CSV, whatever it holds, never
// panics the client's parser, collect or parseRead.
func FuzzQueryResult(f *testing.F) {
	f.Add(`#datatype,string,long,dateTime:RFC3339,string,string,string,string,string,string
#group,false,false,false,false,true,true,true,true,true
#default,_result,,,,,,,,
,result,table,_time,_value,_field,meter,area,class,quantity
,,0,2026-11-22T00:00:00Z,"{""u"":5,""s"":1,""st"":""ok""}",rec,000000000001,A,daily,forward active energy total
`)
	f.Add(`#datatype,string,long,long
#group,false,false,false
#default,_result,,
,result,table,_value
,,0,42
`)
	f.Add(`#datatype,string,string
#group,true,true
#default,,
,error,reference
,query failed,897
`)
	f.Fuzz(func(t *testing.T, csv string) {
		rows, err := collect(api.NewQueryTableResult(io.NopCloser(strings.NewReader(csv))))
		if err != nil {
			return
		}
		for _, r := range rows {
			parseRead(r)
			parseAggregate(r, time.UTC)
		}
	})
}

// FuzzTagValue: every string survives a tag, and its line-protocol form
// ends neither in a backslash nor with a newline inside.
func FuzzTagValue(f *testing.F) {
	for _, s := range []string{"", `a\`, `\x5c`, "a\nb", `a\,b`, "电能表"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := fromTag(tagValue(s)); got != s {
			t.Fatalf("fromTag(tagValue(%q)) = %q", s, got)
		}
		lp := string(appendTag(nil, "k", s))
		if strings.HasSuffix(lp, `\`) || strings.ContainsAny(lp, "\n\r") {
			t.Fatalf("tag %q written as %q", s, lp)
		}
	})
}

// FuzzRecord: what the fast rec parser accepts, encoding/json reads the
// same.
func FuzzRecord(f *testing.F) {
	r := oddRead()
	f.Add(recField(f, string(appendRead(nil, &r))))
	f.Add(`{"u":-5,"s":2,"st":"ok","di":65536,"fr":"68|"}`)
	f.Add(`{"u":01}`)
	f.Add(`{"u":1,"s":0,"tr":1,"fh":"0123456789abcdef"}`)
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := fastRecord(s)
		if !ok {
			return
		}
		var slow record
		if err := json.Unmarshal([]byte(s), &slow); err != nil {
			t.Fatalf("fast parser accepts %q, encoding/json does not: %v", s, err)
		}
		if fast != slow {
			t.Fatalf("%q: fast %+v, encoding/json %+v", s, fast, slow)
		}
	})
}

// FuzzFrameSet: the fields of a frames point and a rec's fh never panic
// their parsers, and frames accepted encode back to what decodes the same.
func FuzzFrameSet(f *testing.F) {
	f.Add("fefe6811|6891", "68.6891,.6c696e6b", int64(2), "0123456789abcdef")
	f.Add("", "", int64(0), "")
	f.Add("zz", "a.b", int64(-1), "xyz")
	f.Fuzz(func(t *testing.T, fr, ex string, dr int64, fh string) {
		at := time.Unix(1743523230, 0)
		if k, err := frameSetAt("m", fh, at, at); err == nil && (k.at < at.UnixNano() || k.at >= at.UnixNano()+1e9) {
			t.Fatalf("frame set %q at %d, outside the second of %v", fh, k.at, at)
		}
		got, err := parseFrameSet(row{"fr": fr, "ex": ex, "dr": dr})
		if err != nil {
			return
		}
		again, err := parseFrameSet(row{"fr": string(appendFramesHex(nil, &got)), "ex": string(appendEarlierHex(nil, got.Earlier)), "dr": int64(got.Dropped)})
		if err != nil {
			t.Fatalf("re-encoded frames do not parse: %v", err)
		}
		if fmt.Sprintf("%X %X %X %d", again.Request, again.Reply, again.Earlier, again.Dropped) != fmt.Sprintf("%X %X %X %d", got.Request, got.Reply, got.Earlier, got.Dropped) {
			t.Fatalf("round trip changed the frames: %+v, %+v", got, again)
		}
	})
}
