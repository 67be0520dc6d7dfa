package jetstream

import "time"

// Settings is the configuration section cluster.nats: what a node needs
// to publish its reads to the stream and, when it runs a storage writer,
// to consume them. Zero fields take the defaults of Options.
//
//	cluster:
//	  nats:
//	    urls: [nats://10.0.0.1:4222, nats://10.0.0.2:4222, nats://10.0.0.3:4222]
//	    stream: HEADEND_READS
//	    subject: headend.reads
//	    replicas: 3
//	    max_bytes: 1073741824
//	    duplicates: 10m
//	    message_reads: 1000
//	    writer: true
//	    durable: storage
//	    ack_wait: 30s
//	    fetch: 8
type Settings struct {
	URLs         []string      `yaml:"urls" help:"NATS servers' client URLs (default nats://127.0.0.1:4222)"`
	Stream       string        `yaml:"stream" help:"stream the nodes' reads go to (default HEADEND_READS)"`
	Subject      string        `yaml:"subject" help:"prefix of each node's subject, <subject>.<node> (default headend.reads)"`
	Replicas     int           `yaml:"replicas" help:"servers holding each message (default 3)"`
	MaxBytes     int64         `yaml:"max_bytes" help:"bound of the stream; when full, reads wait in the nodes' outboxes (default 1GiB)"`
	Duplicates   time.Duration `yaml:"duplicates" help:"window in which a batch published again is dropped as a duplicate (default 10m)"`
	MessageReads int           `yaml:"message_reads" help:"most reads in one message (default 1000)"`
	Writer       bool          `yaml:"writer" help:"this node also runs a storage writer, consuming the stream into its store"`
	Durable      string        `yaml:"durable" help:"the writers' shared durable consumer (default storage)"`
	AckWait      time.Duration `yaml:"ack_wait" help:"how long a writer may hold a message before it is redelivered (default 30s)"`
	Fetch        int           `yaml:"fetch" help:"messages a writer takes and stores in one write (default 8)"`
}

// Options returns the options of node (its name in subjects and message
// ids; "" is the host name).
func (s Settings) Options(node string) Options {
	return Options{
		URLs: s.URLs, Stream: s.Stream, Subject: s.Subject, Node: node,
		Replicas: s.Replicas, MaxBytes: s.MaxBytes, Duplicates: s.Duplicates,
		MessageReads: s.MessageReads, Durable: s.Durable, AckWait: s.AckWait, Fetch: s.Fetch,
	}
}
