// Package testenv is how the project's tests meet a missing part of their
// environment (a pseudo-terminal, loopback, root for a tmpfs, a server
// binary, Chromium): they skip with the reason, except when
// HEADEND_REQUIRE_ALL=1 (set by .ci/run), where a skip would hide a test
// that never ran, and they fail instead.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// RequireAll reports whether every part must be there
// (HEADEND_REQUIRE_ALL=1, or CI=true as in .ci/run).
func RequireAll() bool {
	return os.Getenv("HEADEND_REQUIRE_ALL") == "1" || os.Getenv("CI") == "true"
}

// Skip skips t for a missing part of the environment, or fails it when
// RequireAll.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if RequireAll() {
		t.Fatal(msg + " (HEADEND_REQUIRE_ALL: every part of the test environment must be there)")
	}
	t.Skip(msg)
}

// NeedRoot skips (or fails, see Skip) a test that mounts filesystems or
// otherwise needs root.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "%s needs root", why)
	}
}
