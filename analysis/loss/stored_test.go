package loss

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/meter"
)

// storedBefore is a balance as the results store held it before loss
// shared meter's Key and Quality: the key's fields in lower case and the
// estimate's quality hyphenated.
const storedBefore = `{"Area":"D01","Feeder":"F1","VoltageLevel":"10kV","Period":{"kind":"daily","Start":"2025-06-01T00:00:00Z","End":"2025-06-02T00:00:00Z"},
"Supply":"100.00","Sales":"95.00","Loss":"5.00","Rate":"5.00","HasRate":true,"AreaForward":"100.00","Export":"0","CustomerForward":"95.00","AreaReverse":"0",
"Class":"qualified","Reasons":["1 meter estimated"],"Expected":1,"Read":0,"Estimated":1,"Missing":0,"AreaMeter":null,
"Meters":[{"Meter":"000000000002","Role":"customer","Multiplier":1,"Status":"estimated","Issue":"","Reason":"",
 "Forward":{"Start":{"Key":{"meter":"000000000002","class":"daily","quantity":"forward active energy total","time":"2025-06-01T00:00:00Z"},"Register":"forward","Value":"123.45","Quality":"estimated-interpolation"},
  "End":{"Key":{"meter":"000000000002","class":"daily","quantity":"forward active energy total","time":"2025-06-02T00:00:00Z"},"Register":"forward","Value":"218.45","Quality":"estimated-profile"},
  "Register":"95.00","Rollover":false,"Energy":"95.00","OK":true},
 "Reverse":{"Start":null,"End":null,"Register":"0","Rollover":false,"Energy":"0","OK":false}}]}`

// TestStoredBeforeDecodes reads a balance stored before the shared
// vocabulary: its keys and qualities come back as meter's, so the
// estimates still count as estimates, and it is written again in meter's
// spelling.
func TestStoredBeforeDecodes(t *testing.T) {
	var r Result
	if err := json.Unmarshal([]byte(storedBefore), &r); err != nil {
		t.Fatal(err)
	}
	start, end := r.Meters[0].Forward.Start, r.Meters[0].Forward.End
	want := meter.Key{Meter: "000000000002", Class: meter.Daily, Quantity: "forward active energy total", Time: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
	if start.Key != want || !end.Key.Time.Equal(want.Time.AddDate(0, 0, 1)) {
		t.Errorf("keys %+v, %+v; want %+v and a day later", start.Key, end.Key, want)
	}
	if start.Quality != meter.EstimatedInterpolation || end.Quality != meter.EstimatedProfile || !start.Quality.Estimated() || !end.Quality.Usable() {
		t.Errorf("qualities %q, %q; want %q, %q", start.Quality, end.Quality, meter.EstimatedInterpolation, meter.EstimatedProfile)
	}
	if used := r.Used(); len(used) != 2 || used[0] != want {
		t.Errorf("Used() = %v", used)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, "estimated-") || !strings.Contains(s, `"Quality":"estimated_interpolation"`) {
		t.Errorf("written again as %s", s)
	}
	var again Result
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatal(err)
	}
	if *again.Meters[0].Forward.Start != *start || *again.Meters[0].Forward.End != *end {
		t.Errorf("round trip: %+v, want %+v", again.Meters[0].Forward, r.Meters[0].Forward)
	}
}
