package jetstream

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Lag is the consumer's progress as the stream's servers see it: the
// figures for /status and the metrics.
type Lag struct {
	Stream      string `json:"stream"`
	Consumer    string `json:"consumer"`
	Pending     uint64 `json:"pending"`     // messages in the stream not yet delivered to any writer
	AckPending  int    `json:"ack_pending"` // delivered, not yet acknowledged
	Redelivered int    `json:"redelivered"` // of those, delivered more than once
	AckFloor    uint64 `json:"ack_floor"`   // stream sequence below which every message is acknowledged
	Delivered   uint64 `json:"delivered"`   // stream sequence of the last message delivered
	Messages    uint64 `json:"messages"`    // messages the stream holds (work queue: not yet acknowledged)
	Bytes       uint64 `json:"bytes"`
	LastSeq     uint64 `json:"last_seq"` // stream sequence of the last message published
}

// Lag asks the stream's servers for the consumer's progress.
func (w *Writer) Lag(ctx context.Context) (Lag, error) {
	s, c, err := w.bind(ctx)
	if err != nil {
		return Lag{}, err
	}
	return lag(ctx, s, c, w.o)
}

// StreamLag asks the stream's servers for the writers' progress, from any
// node (one that only publishes, for its /status): the stream and the
// durable consumer of o must exist.
func StreamLag(ctx context.Context, nc *nats.Conn, o Options) (Lag, error) {
	o = o.withDefaults()
	js, err := jetstream.New(nc)
	if err != nil {
		return Lag{}, fmt.Errorf("jetstream: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	s, err := js.Stream(ctx, o.Stream)
	if err != nil {
		return Lag{}, fmt.Errorf("jetstream: stream %s: %w", o.Stream, err)
	}
	c, err := s.Consumer(ctx, o.Durable)
	if err != nil {
		return Lag{}, fmt.Errorf("jetstream: consumer %s of stream %s: %w", o.Durable, o.Stream, err)
	}
	return lag(ctx, s, c, o)
}

func lag(ctx context.Context, s jetstream.Stream, c jetstream.Consumer, o Options) (Lag, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	ci, err := c.Info(ctx)
	if err != nil {
		return Lag{}, fmt.Errorf("jetstream: consumer %s of stream %s: %w", o.Durable, o.Stream, err)
	}
	l := Lag{
		Stream: o.Stream, Consumer: o.Durable,
		Pending: ci.NumPending, AckPending: ci.NumAckPending, Redelivered: ci.NumRedelivered,
		AckFloor: ci.AckFloor.Stream, Delivered: ci.Delivered.Stream,
	}
	si, err := s.Info(ctx)
	if err != nil {
		return l, fmt.Errorf("jetstream: stream %s: %w", o.Stream, err)
	}
	l.Messages, l.Bytes, l.LastSeq = si.State.Msgs, si.State.Bytes, si.State.LastSeq
	return l, nil
}
