package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRoot(&out, &errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestCheckEveryScenario(t *testing.T) {
	want := map[string]string{
		"tiny.yaml":  "tiny.yaml: 2 areas, 10 meters",
		"demo.yaml":  "demo.yaml: 5 areas, 331 meters",
		"large.yaml": "large.yaml: 100 areas, 20100 meters",
	}
	for name, prefix := range want {
		out, _, err := runCmd(t, "--check", "--scenario", filepath.Join("../../testdata/scenarios", name))
		if err != nil || !strings.HasPrefix(out, prefix) {
			t.Errorf("%s: %q, %v", name, out, err)
		}
	}
}

func TestBadScenarioIsRefusedByName(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("name: bad\nseed: 1\nstart: 2025-01-01T00:00:00+08:00\nareas:\n  - id: A\n    ct_ratio: 0\n"), 0o644)
	_, _, err := runCmd(t, "--check", "--scenario", bad)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml") || !strings.Contains(err.Error(), "ct_ratio") {
		t.Fatalf("err %v", err)
	}
	if _, _, err := runCmd(t, "--scenario", "/nonexistent.yaml"); err == nil {
		t.Fatal("a missing scenario file was accepted")
	}
}

func TestHelpExplainsAccessPaths(t *testing.T) {
	out, _, err := runCmd(t, "--help")
	if err != nil || !strings.Contains(out, "pseudo-terminal") || !strings.Contains(out, "/truth") {
		t.Fatalf("%v\n%s", err, out)
	}
}
