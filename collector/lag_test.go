package collector

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/collector/poll"
)

// /status shows per channel whether its line keeps up with its
// schedules, in snake_case keys beside the channel's other fields.
func TestChannelStatusShowsLag(t *testing.T) {
	cs := ChannelStatus{ID: "C0105-1", Lag: poll.Lag{QueueDepth: 75, QueueDepthPeak: 80, SlotsMissed: 12, LagSeconds: 5400,
		Lagging: true, LaggingSince: time.Date(2025, 6, 1, 1, 5, 0, 0, time.UTC)}}
	b, err := json.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"queue_depth":75`, `"queue_depth_peak":80`, `"slots_missed":12`, `"lag_seconds":5400`,
		`"lagging":true`, `"lagging_since":"2025-06-01T01:05:00Z"`} {
		if !strings.Contains(string(b), w) {
			t.Errorf("no %s in %s", w, b)
		}
	}
}
