// Package publish pushes the validated register values to billing systems
// over MQTT: every new or revised value of the results store's change
// feed, once each, as a JSON billing.Change on a topic per area and meter
// (QoS 1). The feed position (a Cursor: a file by default, etcd in a
// cluster) is saved after the broker has acknowledged a batch, so a
// restart resumes where it stopped: a value is delivered at least once,
// and its seq and version let a subscriber drop a repeat.
package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/headend/headend/api/billing"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/results"
)

// Options configure a Publisher.
type Options struct {
	// Topic is the topic template: {area} and {meter} are replaced.
	// Default "headend/billing/{area}/{meter}".
	Topic string
	// Cursor keeps the seq of the last value the broker acknowledged;
	// nil: a FileCursor on CursorFile.
	Cursor     Cursor
	CursorFile string // the cursor's file when Cursor is nil
	// Holds, when set, is asked before each batch whether the publisher
	// may send it (in a cluster: the node still owns the feed); false
	// stops it with ErrFenced.
	Holds    func() bool
	Location *time.Location
	Batch    int           // values per batch (default 500)
	Timeout  time.Duration // how long to wait for the broker's acknowledgement (default 10 s)
	Logger   *slog.Logger
}

// Cursor is where the publisher keeps its position in the feed.
type Cursor interface {
	// Load returns the seq saved last, 0 when none was.
	Load(ctx context.Context) (int64, error)
	// Save keeps seq; an error wrapping ErrFenced means the publisher
	// must stop (another one sends the feed now).
	Save(ctx context.Context, seq int64) error
}

// ErrFenced is why a publisher that may no longer send the feed stopped.
var ErrFenced = errors.New("publish: no longer the feed's publisher")

// Publisher publishes the change feed.
type Publisher struct {
	res    store.Results
	client paho.Client
	opts   Options
	cursor int64
	sent   int64
}

// New returns a Publisher over a connected client, starting after the
// cursor's seq (0 when there is none).
func New(ctx context.Context, res store.Results, client paho.Client, opts Options) (*Publisher, error) {
	if opts.Topic == "" {
		opts.Topic = "headend/billing/{area}/{meter}"
	}
	if opts.Batch <= 0 {
		opts.Batch = 500
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Cursor == nil {
		if opts.CursorFile == "" {
			return nil, errors.New("publish: no cursor (Options.Cursor or CursorFile)")
		}
		opts.Cursor = FileCursor(opts.CursorFile)
	}
	p := &Publisher{res: res, client: client, opts: opts}
	var err error
	if p.cursor, err = opts.Cursor.Load(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// Cursor is the seq of the last value acknowledged.
func (p *Publisher) Cursor() int64 { return p.cursor }

// Topic is the topic of a value of meter in area.
func (p *Publisher) Topic(area, meter string) string {
	if area == "" {
		area = "-"
	}
	return strings.NewReplacer("{area}", area, "{meter}", meter).Replace(p.opts.Topic)
}

// Once publishes what the feed holds after the cursor, batch by batch,
// and returns how many values it published. When ctx ends it stops after
// the batch in flight, whose cursor it still saves.
func (p *Publisher) Once(ctx context.Context) (int, error) {
	n := 0
	for ctx.Err() == nil {
		if p.opts.Holds != nil && !p.opts.Holds() {
			return n, fmt.Errorf("%w (at seq %d)", ErrFenced, p.cursor)
		}
		recs, err := p.res.Since(ctx, p.cursor, []string{results.KindValue}, p.opts.Batch)
		if err != nil || len(recs) == 0 {
			return n, err
		}
		var toks []paho.Token
		for _, rec := range recs {
			c, ok := billing.ChangeOf(rec, p.opts.Location)
			if !ok {
				continue
			}
			b, _ := json.Marshal(c)
			toks = append(toks, p.client.Publish(p.Topic(rec.Area, c.Meter), 1, false, b))
		}
		for _, t := range toks {
			if !t.WaitTimeout(p.opts.Timeout) {
				return n, fmt.Errorf("publish: no acknowledgement from the broker within %s (from seq %d)", p.opts.Timeout, p.cursor)
			}
			if err := t.Error(); err != nil {
				return n, fmt.Errorf("publish: from seq %d: %w", p.cursor, err)
			}
		}
		last := recs[len(recs)-1].Seq
		if err := p.opts.Cursor.Save(context.WithoutCancel(ctx), last); err != nil {
			return n, fmt.Errorf("publish: saving the cursor at seq %d: %w", last, err)
		}
		p.cursor = last
		n += len(toks)
		p.sent += int64(len(toks))
		if len(recs) < p.opts.Batch {
			return n, nil
		}
	}
	return n, nil
}

// Run publishes every interval until ctx ends (nil) or the publisher is
// fenced (an error wrapping ErrFenced). Any other failure is logged and
// retried at the next interval.
func (p *Publisher) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := p.Once(ctx)
		switch {
		case errors.Is(err, ErrFenced):
			return err
		case err != nil && ctx.Err() == nil:
			p.opts.Logger.Warn("billing publish: will retry", "err", err, "cursor", p.cursor)
		case n > 0:
			p.opts.Logger.Info("billing publish", "values", n, "cursor", p.cursor)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
