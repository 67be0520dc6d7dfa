package analysistest

import "testing"

// Heavy skips a test that simulates weeks of a fleet when the race
// detector is on (it makes them ten times slower, and they exercise no
// concurrency the other tests do not) or with -short. `make unit` runs
// them in a second pass without the race detector.
func Heavy(t testing.TB) {
	t.Helper()
	if raceOn {
		t.Skip("simulation-heavy: run without the race detector (make unit's second pass)")
	}
	if testing.Short() {
		t.Skip("simulation-heavy: not with -short")
	}
}
