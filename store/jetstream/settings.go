package jetstream

import (
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"time"
)

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

// Enabled reports whether any key of the section is set: a node with
// cluster.nats publishes its reads to the stream (with urls unset, to the
// default server).
func (s Settings) Enabled() bool { return !reflect.ValueOf(s).IsZero() }

// Check reports each bad key to bad, named as in the file
// (cluster.nats.stream).
func (s Settings) Check(bad func(key, format string, args ...any)) {
	const p = "cluster.nats."
	for i, u := range s.URLs {
		pu, err := url.Parse(u)
		if err != nil || pu.Host == "" || !slices.Contains([]string{"nats", "tls", "ws", "wss"}, pu.Scheme) {
			bad(fmt.Sprintf(p+"urls[%d]", i), "%q is not a nats://host:port (tls://, ws://, wss://) URL", u)
		}
	}
	for _, c := range []struct{ key, what, v string }{
		{"stream", "stream", s.Stream}, {"subject", "subject", s.Subject}, {"durable", "durable", s.Durable},
	} {
		if err := checkName(c.what, c.v); c.v != "" && err != nil {
			bad(p+c.key, "%v", err)
		}
	}
	if s.Replicas < 0 || s.Replicas > 5 {
		bad(p+"replicas", "%d: want 1 to 5 (0: the default, 3)", s.Replicas)
	}
	for _, c := range []struct {
		key string
		v   int64
	}{{"max_bytes", s.MaxBytes}, {"duplicates", int64(s.Duplicates)}, {"message_reads", int64(s.MessageReads)},
		{"ack_wait", int64(s.AckWait)}, {"fetch", int64(s.Fetch)}} {
		if c.v < 0 {
			bad(p+c.key, "is negative (0: the default)")
		}
	}
	if s.AckWait > 0 && s.AckWait < time.Second {
		bad(p+"ack_wait", "%s: at least 1s (a writer marks what it holds in progress every third of it)", s.AckWait)
	}
}

// CheckNode reports whether node can name a node in the stream's
// subjects and message ids.
func CheckNode(node string) error { return checkName("node", node) }
