package anomaly

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/headend/headend/meter"
)

// TestStoredFlagDecodes reads a flag as the results store held it before
// its reads were meter.Keys (the key's fields in lower case) and as it is
// written now: both give the same reads.
func TestStoredFlagDecodes(t *testing.T) {
	want := meter.Key{Meter: "000000000002", Class: meter.Daily, Quantity: "forward active energy total", Time: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}
	before := `{"Kind":"stopped","Meter":"000000000002","Area":"D01","Start":"2025-06-01T00:00:00Z","End":"2025-06-03T00:00:00Z","Confidence":0.8,
		"Reads":[{"meter":"000000000002","class":"daily","quantity":"forward active energy total","time":"2025-06-01T00:00:00Z"}]}`
	now, err := json.Marshal(Flag{Kind: Stopped, Reads: []meter.Key{want}})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{before, string(now)} {
		var f Flag
		if err := json.Unmarshal([]byte(body), &f); err != nil {
			t.Fatal(err)
		}
		if len(f.Reads) != 1 || f.Reads[0] != want {
			t.Errorf("%s: reads %+v, want %+v", body, f.Reads, want)
		}
	}
}
