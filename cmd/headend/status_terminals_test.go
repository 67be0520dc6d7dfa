package main

import (
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/collector/terminal"
	"github.com/headend/headend/fieldops"
)

func TestStatusListsTerminals(t *testing.T) {
	hb := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	st := &fieldops.Status{Now: hb, Terminals: []terminal.Status{
		{ID: "4401 0001", Online: true, Since: hb.Add(-time.Hour), LastHeartbeat: hb, Clock: hb.Add(-30 * time.Second), FramesIn: 12, FramesOut: 11, BadFrames: 2},
		{ID: "4401 0002", Err: "terminal: silent past its heartbeats"},
	}}
	var b strings.Builder
	printStatus(&b, st, nil, false)
	out := b.String()
	for _, want := range []string{"TERMINAL", "4401 0001  yes", "09:59:30 (-30s)", "12/11", "4401 0002  no (terminal: silent past its heartbeats)"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
}
