// Package failover holds the cluster's end-to-end test (issue 19): three
// real `headend serve --cluster` processes share the simulated field of
// the large scenario (its 20 transparent TCP concentrators, and 40 of its
// 80 Q/GDW 1376.1 terminals, which dial the nodes through a TCP front,
// internal/tcpfront) through a real etcd, send their reads through a real
// three-server NATS JetStream cluster into a real InfluxDB, analyse their
// areas into one real PostgreSQL and push billing's change feed to an MQTT
// broker; the test kills a node and a NATS server with SIGKILL, restarts
// them, and counts at the simulator every meter's requests in every
// schedule slot:
//
//	go test -run TestClusterFailover -v ./sim/failover/
//
// It fails on a meter not read in a slot, a meter read twice in a slot, a
// read answered but not stored, a read stored twice, a fail-over that
// took longer than one schedule interval, a meter whose daily freeze was
// answered with no value in billing's feed, a value in the feed twice, or
// a seq of the feed the broker never delivered. HEADEND_FAILOVER_TERMINALS
// sets how many terminal areas the field has (0..80). Without etcd,
// nats-server, influxd or PostgreSQL it skips (fails under
// HEADEND_REQUIRE_ALL). It is skipped with -short and under the race
// detector (real processes, timed faults); make unit runs it.
//
// BenchmarkClusterNodes (bench_test.go) runs the same parts with 1, 2
// and 3 nodes, the field read as fast as it goes, and reports the reads
// stored per second, the nodes' CPU and, from 2 nodes, the time a
// SIGKILLed node's channels take to be owned and polled again
// (BENCHMARKS.md, "A cluster of 1, 2 and 3 nodes"):
//
//	go test -run '^$' -bench ClusterNodes -benchtime 1x ./sim/failover/
//
// The process helpers are internal/proctest's, shared with sim/faults.
package failover
