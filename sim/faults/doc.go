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
// the moments of the kills (default 14); HEADEND_FAULTS (e.g. "disk,kill")
// picks the faults; HEADEND_FAULTS_KEEP=dir keeps the logs and a copy of
// the data dir there. It is skipped with -short and under the race
// detector; make unit runs it (about 3 minutes), and make faults alone.
package faults
