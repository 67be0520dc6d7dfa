package influx

import (
	"testing"
	"time"

	"github.com/headend/headend/collector/read"
	"github.com/headend/headend/protocol/dlt645"
)

// FuzzParseRead: whatever the server hands back in the rec field never
// panics the parser, and what it accepts round-trips through
// appendRead's record exactly.
func FuzzParseRead(f *testing.F) {
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
		back, err := parseRead(row{"meter": meter, "quantity": quantity, "rec": recordJSON(t, &got)})
		if err != nil {
			t.Fatalf("a parsed read does not parse again: %v", err)
		}
		if back.Value != got.Value || back.Text != got.Text || encodeFrames(back.Frame) != encodeFrames(got.Frame) ||
			!back.ReadAt.Equal(got.ReadAt) || !back.MeterTime.Equal(got.MeterTime) {
			t.Fatalf("round trip changed the read:\n%+v\n%+v", got, back)
		}
		_ = dlt645.Decimal{}
		_ = read.Read{}
	})
}
