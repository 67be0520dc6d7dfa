package proctest

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestStartLogStop(t *testing.T) {
	dir := t.TempDir()
	p := Start(t, dir, "echo", Options{}, "/bin/sh", "-c", "echo hello; exec sleep 60")
	if p.Pid() <= 0 {
		t.Fatalf("pid %d", p.Pid())
	}
	p.Stop(t, syscall.SIGKILL)
	select {
	case <-p.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	if p.Err() == nil {
		t.Error("a SIGKILLed process exited without an error")
	}
	b, err := os.ReadFile(filepath.Join(dir, "echo.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "=== /bin/sh -c echo hello; exec sleep 60\n") || !strings.Contains(string(b), "hello\n") {
		t.Errorf("log: %q", b)
	}
}

func TestFreePorts(t *testing.T) {
	ports := FreePorts(t, 3)
	seen := map[string]bool{}
	for _, p := range ports {
		if seen[p] || !strings.HasPrefix(p, "127.0.0.1:") {
			t.Errorf("ports %v", ports)
		}
		seen[p] = true
	}
}
