package fieldops

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestReviewScan(t *testing.T) {
	yes := true
	res := &ScanResult{Channel: "ch1", Probed: 10, Found: []Found{{Address: "000001000000", InArchive: &yes}, {Address: "000001000009"}}, Missing: []string{"000001000003"}}
	s := ReviewScan("", ScanRequest{From: "1000000", To: "1000009"}, res, time.Date(2025, 5, 10, 0, 0, 0, 0, time.UTC))
	if s.Channel != "ch1" || s.From != "000001000000" || s.To != "000001000009" || len(s.Found) != 2 || s.Missing[0] != "000001000003" {
		t.Errorf("scan %+v", s)
	}
	b, _ := json.Marshal(s)
	if !strings.Contains(string(b), `"found":["000001000000","000001000009"]`) {
		t.Errorf("json %s", b)
	}
}
