// Package jetstream carries reads between head-end nodes and storage over a
// replicated NATS JetStream stream: a Publisher is the store.Store a node's
// outbox delivers to, a Writer takes the stream's messages into the real
// store (SQLite, InfluxDB) with acknowledgements.
//
// # The path
//
//	collector → outbox (local disk) → Publisher → stream (R3) → Writer(s) → store.Store
//
// The outbox acknowledges a batch only when Publisher.Write returned nil,
// and Write returns nil only once JetStream answered every message with a
// PubAck, which a replicated stream sends when a quorum of its servers
// (2 of 3) holds the message. A Writer acknowledges a message only after
// the store's Write returned nil. So a read the node accepted is, at every
// moment, in its outbox, on a quorum of the stream's servers or in the
// store: a dead node, a dead NATS server or a dead writer loses nothing.
//
// # No doubles
//
// Delivery is at least once on both legs, and both legs are made
// idempotent. Each message carries a Nats-Msg-Id derived from its content
// (the node and a hash of its encoded reads), so a batch the outbox sends
// again after a lost PubAck is dropped by the stream's duplicate window.
// A batch sent again after the window (or regrouped after the node's
// restart, so that its bytes differ) and a message redelivered to a
// writer that died before its ack are written to the store a second time,
// where store.Store.Write replaces each point with the same one by its
// store.Key: a redelivery never doubles a point.
//
// # The stream
//
// One stream (Options.Stream) takes every node's subject
// (Options.Subject + "." + node). Its retention is work-queue with
// discard-new: a message is deleted once a writer acknowledged it, and a
// stream full to Options.MaxBytes refuses new messages, so the
// publishers' Write fails and the reads wait in the nodes' outboxes
// (which slow the polling when they fill). Limits retention would keep
// acknowledged messages until an age or size limit and, with
// discard-old, drop unconsumed ones when writers lag: a loss; interest
// retention drops what arrives while no consumer exists. Work-queue
// allows one consumer per subject, so every writer binds the one durable
// consumer (Options.Durable) and the messages are shared out among them.
// A second sink (InfluxDB beside SQLite) takes a second stream.
package jetstream

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/headend/headend/store/outbox"
)

// Options configure the stream, the Publisher and the Writer; zero fields
// take the defaults. In the configuration file they are the section
// cluster.nats (see Settings).
type Options struct {
	// URLs are the NATS servers' client URLs; default nats://127.0.0.1:4222.
	URLs []string
	// Stream is the stream's name; default "HEADEND_READS".
	Stream string
	// Subject is the prefix of the node subjects; default
	// "headend.reads". The stream takes Subject + ".>".
	Subject string
	// Node names this node in its subject and in its messages' ids;
	// default the host name.
	Node string
	// Replicas is the stream's replication factor; default 3.
	Replicas int
	// MaxBytes bounds the stream (per replica); default 1 GiB. A full
	// stream refuses new messages (the outboxes keep them).
	MaxBytes int64
	// Duplicates is the stream's duplicate window; default 10 minutes.
	Duplicates time.Duration
	// MessageReads is the most reads one message holds; default 1000.
	// A batch encoding past the server's max payload is split further.
	MessageReads int
	// Timeout bounds a PubAck and each JetStream API request; default 10 s.
	Timeout time.Duration

	// Durable is the writers' shared consumer; default "storage".
	Durable string
	// AckWait is how long a delivered message may stay unacknowledged
	// before it is redelivered (a writer died); default 30 s.
	AckWait time.Duration
	// Fetch is how many messages a writer takes at once and writes to
	// the store in one Write; default 8.
	Fetch int
	// FetchWait is the longest a fetch waits for messages; default 1 s.
	FetchWait time.Duration
	// Backoff returns the delay of a message's redelivery after its
	// write failed for the attempt'th time; default outbox.DefaultBackoff.
	Backoff func(attempt int) time.Duration
}

// Defaults.
const (
	DefaultStream  = "HEADEND_READS"
	DefaultSubject = "headend.reads"
	DefaultDurable = "storage"
)

func (o Options) withDefaults() Options {
	if len(o.URLs) == 0 {
		o.URLs = []string{nats.DefaultURL}
	}
	if o.Stream == "" {
		o.Stream = DefaultStream
	}
	if o.Subject == "" {
		o.Subject = DefaultSubject
	}
	if o.Node == "" {
		o.Node, _ = os.Hostname()
		if o.Node == "" {
			o.Node = "node"
		}
	}
	if o.Replicas <= 0 {
		o.Replicas = 3
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 30
	}
	if o.Duplicates <= 0 {
		o.Duplicates = 10 * time.Minute
	}
	if o.MessageReads <= 0 {
		o.MessageReads = 1000
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Durable == "" {
		o.Durable = DefaultDurable
	}
	if o.AckWait <= 0 {
		o.AckWait = 30 * time.Second
	}
	if o.Fetch <= 0 {
		o.Fetch = 8
	}
	if o.FetchWait <= 0 {
		o.FetchWait = time.Second
	}
	if o.Backoff == nil {
		o.Backoff = outbox.DefaultBackoff
	}
	return o
}

// check refuses names NATS would refuse, saying which.
func (o Options) check() error {
	for _, c := range []struct{ what, v string }{
		{"stream", o.Stream}, {"durable", o.Durable}, {"node", o.Node}, {"subject", o.Subject},
	} {
		if err := checkName(c.what, c.v); err != nil {
			return fmt.Errorf("jetstream: %w", err)
		}
	}
	return nil
}

// checkName says why v cannot be the name of what (stream, durable, node,
// subject).
func checkName(what, v string) error {
	bad := map[string]string{"stream": " \t.*>/\\", "durable": " \t.*>/\\", "node": " \t.*>", "subject": " \t*>"}[what]
	if i := strings.IndexAny(v, bad); i >= 0 {
		return fmt.Errorf("%s name %q: %q not allowed", what, v, v[i])
	}
	if what == "subject" && (strings.HasPrefix(v, ".") || strings.HasSuffix(v, ".") || strings.Contains(v, "..")) {
		return fmt.Errorf("subject %q: empty token", v)
	}
	return nil
}

// subject returns the node's subject.
func (o Options) subject() string { return o.Subject + "." + o.Node }

// Dial connects to o.URLs, named after the node, and keeps the
// connection (reconnecting for as long as the process runs, and trying
// again when no server answers at first): the connection a Publisher and
// a Writer share. It fails only for URLs it cannot use.
func Dial(o Options) (*nats.Conn, error) {
	o = o.withDefaults()
	nc, err := nats.Connect(strings.Join(o.URLs, ","),
		nats.Name("headend "+o.Node),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(true))
	if err != nil {
		return nil, fmt.Errorf("jetstream: connect %s: %w", strings.Join(o.URLs, ","), err)
	}
	return nc, nil
}

// ErrNoQuery is returned by Publisher.Query: the stream carries reads to
// storage; queries go to the store the writers fill.
var ErrNoQuery = errors.New("jetstream: the publisher carries reads to storage; query the store its writers fill")
