package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/headend/headend/sim/scenario"
)

func runCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRoot(&out, &errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// --check prints each scenario's areas and meters, as the scenario
// file has them.
func TestCheckEveryScenario(t *testing.T) {
	for _, name := range []string{"tiny.yaml", "demo.yaml", "large.yaml", "gdw-demo.yaml"} {
		path := filepath.Join("../../testdata/scenarios", name)
		sc, err := scenario.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		meters := 0
		for _, a := range sc.Config.Areas {
			meters += 1 + len(a.Customers)
		}
		prefix := fmt.Sprintf("%s: %d areas, %d meters", name, len(sc.Config.Areas), meters)
		out, _, err := runCmd(t, "--check", "--scenario", path)
		if err != nil || !strings.HasPrefix(out, prefix) {
			t.Errorf("%s: %q, %v; want %q", name, out, err, prefix)
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
