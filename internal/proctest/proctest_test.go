package proctest

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A process's output goes after the "===" line of its log file.
func TestStartLog(t *testing.T) {
	dir := t.TempDir()
	p := Start(t, dir, "echo", Options{}, "/bin/sh", "-c", "echo hello")
	if err := p.Err(); err != nil { // waits for the exit
		t.Fatalf("exit: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "echo.log"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "=== /bin/sh -c echo hello\nhello\n" {
		t.Errorf("log: %q", b)
	}
}

// Stop ends a process with the signal and returns once it has exited.
func TestStop(t *testing.T) {
	p := Start(t, t.TempDir(), "sleep", Options{DieWithTest: true}, "/bin/sleep", "60")
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
