package influx

import (
	"encoding/json"
	"testing"

	"github.com/headend/headend/collector/read"
)

func recordJSON(t *testing.T, r *read.Read) string {
	t.Helper()
	b, err := json.Marshal(recordOf(r))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Line protocol escapes tag and string values, so that a quantity with a
// space or a comma and a text with quotes write as one point.
func TestLineEscapes(t *testing.T) {
	r := read.Read{Meter: "000000000001", Area: "A 1", Class: read.Interval, Quantity: `phase A, "x"=y`, Text: `he said "hi" \ bye`, Status: read.OK}
	r.ReadAt = r.ReadAt.AddDate(2026, 0, 0)
	got := string(appendRead(nil, &r))
	want := `reads,meter=000000000001,area=A\ 1,class=interval,quantity=phase\ A\,\ "x"\=y value=0,status="ok",rec=`
	if len(got) < len(want) || got[:len(want)] != want {
		t.Fatalf("line\n%s\nwant prefix\n%s", got, want)
	}
}
