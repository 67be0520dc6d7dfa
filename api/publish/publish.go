// Package publish pushes the validated register values to billing systems
// over MQTT: every new or revised value of the results store's change
// feed, once each, as a JSON billing.Change on a topic per area and meter
// (QoS 1). The feed position is kept in a file after the broker has
// acknowledged a batch, so a restart resumes where it stopped: a value is
// delivered at least once, and its seq and version let a subscriber drop
// a repeat.
package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/api/billing"
	"github.com/headend/headend/store"
)

// Options configure a Publisher.
type Options struct {
	// Topic is the topic template: {area} and {meter} are replaced.
	// Default "headend/billing/{area}/{meter}".
	Topic string
	// CursorFile keeps the seq of the last value the broker acknowledged.
	CursorFile string
	Location   *time.Location
	Batch      int           // values per batch (default 500)
	Timeout    time.Duration // how long to wait for the broker's acknowledgement (default 10 s)
	Logger     *slog.Logger
}

// Publisher publishes the change feed.
type Publisher struct {
	res    store.Results
	client paho.Client
	opts   Options
	cursor int64
	sent   int64
}

// New returns a Publisher over a connected client, starting after the
// cursor in opts.CursorFile (0 when there is none).
func New(res store.Results, client paho.Client, opts Options) (*Publisher, error) {
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
	if opts.CursorFile == "" {
		return nil, errors.New("publish: no cursor file")
	}
	p := &Publisher{res: res, client: client, opts: opts}
	b, err := os.ReadFile(opts.CursorFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("publish: cursor %s: %w", opts.CursorFile, err)
	default:
		if p.cursor, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err != nil || p.cursor < 0 {
			return nil, fmt.Errorf("publish: cursor %s: %q is not a seq", opts.CursorFile, b)
		}
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
// and returns how many values it published.
func (p *Publisher) Once(ctx context.Context) (int, error) {
	n := 0
	for {
		recs, err := p.res.Since(ctx, p.cursor, []string{analysis.KindValue}, p.opts.Batch)
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
		if err := p.save(last); err != nil {
			return n, err
		}
		p.cursor = last
		n += len(toks)
		p.sent += int64(len(toks))
		if len(recs) < p.opts.Batch {
			return n, nil
		}
	}
}

func (p *Publisher) save(seq int64) error {
	tmp := p.opts.CursorFile + ".tmp"
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		return fmt.Errorf("publish: cursor: %w", err)
	}
	f, err := os.Create(tmp)
	if err == nil {
		_, err = fmt.Fprintf(f, "%d\n", seq)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(tmp, p.opts.CursorFile)
	}
	if err != nil {
		return fmt.Errorf("publish: cursor %s: %w", p.opts.CursorFile, err)
	}
	return nil
}

// Run publishes every interval until ctx ends. A failure is logged and
// retried at the next interval.
func (p *Publisher) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := p.Once(ctx); err != nil && ctx.Err() == nil {
			p.opts.Logger.Warn("billing publish: will retry", "err", err, "cursor", p.cursor)
		} else if n > 0 {
			p.opts.Logger.Info("billing publish", "values", n, "cursor", p.cursor)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
