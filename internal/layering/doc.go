// Package layering checks that the module's folders import one way only:
// protocol ← meter ← archive ← store ← collector ← analysis ← fieldops ← api
// ← daemon ← cmd (README, "Layout"). sim/ is the simulated field: it may
// import protocol and meter, and only test helpers and cmd/metersim import it.
//
// It holds only its test: `go test ./internal/layering/`.
package layering
