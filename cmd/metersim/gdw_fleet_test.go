package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/headend/headend/collector/terminal"
)

// metersim gdw-fleet logs its terminals in to a real 376.1 listener and
// says so, with its counters when it stops.
func TestGDWFleetLogsIn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := terminal.Listen(ctx, ln, terminal.Config{Known: func(id string) (time.Duration, bool) { return time.Minute, strings.HasPrefix(id, "4401 ") }})
	defer l.Close()
	out, _, err := runCmd(t, "gdw-fleet", "--headend", ln.Addr().String(), "--terminals", "5", "--for", "1s")
	if err != nil || !strings.Contains(out, "5 terminals logged in to "+ln.Addr().String()) || !strings.Contains(out, "logins 5,") {
		t.Fatalf("%v\n%s", err, out)
	}
	if st := l.Stats(); st.Logins != 5 || st.Refused != 0 {
		t.Errorf("listener %+v, want 5 logins", st)
	}
	if _, _, err := runCmd(t, "gdw-fleet", "--terminals", "5"); err == nil || !strings.Contains(err.Error(), "--headend: required") {
		t.Errorf("no --headend: %v", err)
	}
}
