// Package faults holds the fault-injection test of the whole system
// (issue 14): real headend and metersim processes run the demo fleet
// through a full disk, a host clock a month ahead, SIGKILLs and every
// link's far end stopped and restarted, and the reads the simulator
// answered are counted against the reads in the store:
//
//	go test -run TestFaults -v ./sim/faults/
//
// It needs root (it mounts a tmpfs for the data dir); without root it
// skips, or fails when HEADEND_REQUIRE_ALL=1 (internal/testenv). HEADEND_FAULTS_SEED picks
// the moments of the kills (default 14). It is skipped with -short.
package faults
