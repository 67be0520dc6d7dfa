package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTerminalCounts(t *testing.T) {
	m := New()
	scrape := func() string {
		srv := httptest.NewServer(m.Handler())
		defer srv.Close()
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if out := scrape(); strings.Contains(out, "headend_terminals_online") {
		t.Fatal("terminal series without a listener")
	}
	m.Terminals(func() (TerminalCounts, bool) {
		return TerminalCounts{Online: 3, Logins: 5, Refused: 2, Heartbeats: 40, BadFrames: 1}, true
	})
	out := scrape()
	for _, w := range []string{"headend_terminals_online 3", "headend_terminal_logins_total 5", "headend_terminal_refused_total 2",
		"headend_terminal_heartbeats_total 40", "headend_terminal_bad_frames_total 1"} {
		if !strings.Contains(out, w) {
			t.Errorf("no %s in\n%s", w, grepLines(out, "headend_terminal"))
		}
	}
}
