package jetstream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/outbox"
)

// StreamConfig returns the configuration of the reads stream: work-queue
// retention, discard-new at MaxBytes, file storage, Replicas copies, the
// duplicate window.
func StreamConfig(o Options) jetstream.StreamConfig {
	o = o.withDefaults()
	return jetstream.StreamConfig{
		Name:        o.Stream,
		Description: "head-end reads from the nodes' outboxes to the storage writers",
		Subjects:    []string{o.Subject + ".>"},
		Retention:   jetstream.WorkQueuePolicy,
		Discard:     jetstream.DiscardNew,
		MaxBytes:    o.MaxBytes,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
		Duplicates:  o.Duplicates,
	}
}

// EnsureStream creates the reads stream, or updates it to StreamConfig(o)
// (an existing stream's retention cannot change: that is an error naming
// the stream).
func EnsureStream(ctx context.Context, js jetstream.JetStream, o Options) (jetstream.Stream, error) {
	o = o.withDefaults()
	if err := o.check(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	s, err := js.CreateOrUpdateStream(ctx, StreamConfig(o))
	if err != nil {
		return nil, fmt.Errorf("jetstream: stream %s (subjects %s.>, %d replicas): %w", o.Stream, o.Subject, o.Replicas, err)
	}
	return s, nil
}

// Publisher is the store.Store a node's outbox delivers to: Write
// publishes the reads to the node's subject of the stream and returns nil
// only when JetStream stored every message on a quorum of its servers. It
// is safe for concurrent use.
type Publisher struct {
	o      Options
	js     jetstream.JetStream
	nc     *nats.Conn
	mu     sync.Mutex
	stats  PublisherStats
	closed bool
	ready  bool // the stream was created or updated
}

// PublisherStats count what a Publisher did since it was made.
type PublisherStats struct {
	Writes     int64  `json:"writes"`     // Write calls that returned nil
	Reads      int64  `json:"reads"`      // reads in them
	Messages   int64  `json:"messages"`   // messages stored (PubAcks)
	Duplicates int64  `json:"duplicates"` // of those, dropped by the stream as already held (a batch sent again)
	Failures   int64  `json:"failures"`   // Write calls that returned an error (the outbox retries them)
	LastError  string `json:"last_error"`
	LastSeq    uint64 `json:"last_seq"` // stream sequence of the last stored message
}

// NewPublisher makes a Publisher on nc (which it does not close) and
// creates or updates the stream. When the servers cannot be reached (the
// connection is still being made, no JetStream answers), that is left to
// the first Write, so that a node starts and its outbox fills while NATS
// is away; an error is returned for what the servers refuse (a stream of
// that name made otherwise, more replicas than servers) and for bad names.
func NewPublisher(ctx context.Context, nc *nats.Conn, o Options) (*Publisher, error) {
	o = o.withDefaults()
	if err := o.check(); err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(o.Timeout))
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	p := &Publisher{o: o, js: js, nc: nc}
	if err := p.ensure(ctx); err != nil && refused(err) {
		return nil, err
	}
	return p, nil
}

// ensure creates or updates the stream, once.
func (p *Publisher) ensure(ctx context.Context) error {
	p.mu.Lock()
	ready := p.ready
	p.mu.Unlock()
	if ready {
		return nil
	}
	if _, err := EnsureStream(ctx, p.js, p.o); err != nil {
		return err
	}
	p.mu.Lock()
	p.ready = true
	p.mu.Unlock()
	return nil
}

// refused reports whether err is the servers' answer, not their absence.
func refused(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api)
}

// Subject returns the subject the Publisher publishes to.
func (p *Publisher) Subject() string { return p.o.subject() }

// Write publishes reads as messages of up to Options.MessageReads reads
// (fewer when that would pass the server's max payload), each encoded as
// the outbox encodes a batch, with a Nats-Msg-Id that is the node and a
// hash of the message: the same reads give the same id, so a Write the
// outbox repeats (its first PubAck lost) is dropped by the stream's
// duplicate window. It returns nil only when every message was stored.
func (p *Publisher) Write(ctx context.Context, reads []meter.Read) error {
	if len(reads) == 0 {
		return nil
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return errors.New("jetstream: publisher closed")
	}
	var acks []*jetstream.PubAck
	err := p.ensure(ctx)
	if err == nil {
		limit := int(p.nc.MaxPayload())
		if limit <= 0 { // not connected yet
			limit = 1 << 20 // the servers' default
		}
		msgs := messages(p.o, reads, limit-1024) // room for the headers
		acks, err = p.publish(ctx, msgs)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.stats.Failures++
		p.stats.LastError = err.Error()
		return err
	}
	p.stats.Writes++
	p.stats.Reads += int64(len(reads))
	for _, a := range acks {
		p.stats.Messages++
		if a.Duplicate {
			p.stats.Duplicates++
		}
		p.stats.LastSeq = max(p.stats.LastSeq, a.Sequence)
	}
	return nil
}

// messages splits reads into encoded messages of up to o.MessageReads
// reads and limit bytes of data, each with its Nats-Msg-Id.
func messages(o Options, reads []meter.Read, limit int) []*nats.Msg {
	var out []*nats.Msg
	var add func(rs []meter.Read)
	add = func(rs []meter.Read) {
		data := outbox.EncodeBatch(rs)
		if len(data) > limit && len(rs) > 1 {
			add(rs[:len(rs)/2])
			add(rs[len(rs)/2:])
			return
		}
		// A single read past the max payload is refused by the server:
		// the outbox keeps it and retries, and the error says why.
		sum := sha256.Sum256(data)
		m := nats.NewMsg(o.subject())
		m.Data = data
		m.Header.Set(jetstream.MsgIDHeader, o.Node+"-"+hex.EncodeToString(sum[:16]))
		out = append(out, m)
	}
	for len(reads) > 0 {
		n := min(len(reads), o.MessageReads)
		add(reads[:n])
		reads = reads[n:]
	}
	return out
}

// publish sends msgs asynchronously and waits for every PubAck.
func (p *Publisher) publish(ctx context.Context, msgs []*nats.Msg) ([]*jetstream.PubAck, error) {
	futures := make([]jetstream.PubAckFuture, 0, len(msgs))
	for _, m := range msgs {
		f, err := p.js.PublishMsgAsync(m, jetstream.WithExpectStream(p.o.Stream))
		if err != nil {
			return nil, fmt.Errorf("jetstream: publish to %s: %w", m.Subject, err)
		}
		futures = append(futures, f)
	}
	timer := time.NewTimer(p.o.Timeout + time.Second) // the futures time out first
	defer timer.Stop()
	acks := make([]*jetstream.PubAck, 0, len(futures))
	var first error
	for _, f := range futures {
		select {
		case a := <-f.Ok():
			acks = append(acks, a)
		case err := <-f.Err():
			if first == nil {
				first = fmt.Errorf("jetstream: publish to %s (stream %s, id %s): %w", f.Msg().Subject, p.o.Stream, f.Msg().Header.Get(jetstream.MsgIDHeader), err)
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
			return nil, fmt.Errorf("jetstream: publish to %s: no PubAck within %s", p.o.subject(), p.o.Timeout)
		}
	}
	return acks, first
}

// Query is not served: it returns ErrNoQuery.
func (p *Publisher) Query(context.Context, store.Query) ([]meter.Read, error) {
	return nil, ErrNoQuery
}

// Stats returns the counters since NewPublisher.
func (p *Publisher) Stats() PublisherStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Close stops the Publisher (later Writes fail); the connection stays
// open for its owner.
func (p *Publisher) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	return nil
}

var _ store.Store = (*Publisher)(nil)
