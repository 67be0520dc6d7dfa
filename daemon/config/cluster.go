package config

import (
	"github.com/headend/headend/cluster"
	"github.com/headend/headend/store/jetstream"
)

// Cluster is the section cluster of serve --cluster: the etcd membership
// that shares the channels out (cluster.Config, docs/cluster.md) and,
// in cluster.nats, the NATS JetStream stream the nodes' outboxes deliver
// their reads to (store/jetstream). Package cluster knows nothing of the
// stream; the daemon wires both.
type Cluster struct {
	cluster.Config `yaml:",inline"`
	// NATS is the reads stream; unset (no key given), each node's outbox
	// delivers to its own store as a single node's does.
	NATS jetstream.Settings `yaml:"nats"`
}

// Check reports each bad key to bad, named as in the file.
func (c Cluster) Check(bad func(key, format string, args ...any)) {
	c.Config.Check(bad)
	if !c.NATS.Enabled() {
		return
	}
	if !c.Enabled() {
		bad("cluster.nats", "needs cluster.etcd: the stream carries the reads of a cluster's nodes (serve --cluster)")
	}
	if c.Node != "" {
		if err := jetstream.CheckNode(c.Node); err != nil {
			bad("cluster.node", "%v: it names the node's subject in cluster.nats", err)
		}
	}
	c.NATS.Check(bad)
}
