// Package influx is the production store: reads in InfluxDB through
// influxdb-client-go/v2 (the 2.x write and Flux query API, which InfluxDB
// 2.x and 1.8 with flux-enabled both serve). See store/README.md for the
// schema.
//
// Write turns reads into line protocol, splits them into batches of
// Options.BatchSize points and sends up to Options.MaxInFlight batches at
// once; it returns when the database confirmed every batch, so the outbox
// in front of it acknowledges only what is stored. A batch refused
// because its points are older than the bucket's retention is taken as
// stored (they are past retention); any other refusal is an error naming
// the bucket, the batch and the server's message.
//
// Each retention kind (store.KindOf) has its own bucket, whose retention
// the database applies; Setup creates them on InfluxDB 1.8. Downsample
// computes daily aggregates in the head-end and writes them to the
// aggregates bucket.
package influx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"

	"github.com/headend/headend/collector/read"
	"github.com/headend/headend/store"
)

// Buckets name where each kind of data goes. On InfluxDB 1.8 a bucket is
// "database/retention-policy".
type Buckets struct {
	Raw        string // interval, instantaneous, clock and on-demand reads
	Registers  string // daily and monthly register reads
	Aggregates string // daily aggregates of raw reads
}

// Options configure a Store. URL and Buckets are required.
type Options struct {
	URL   string
	Token string // 2.x: an API token; 1.8: "user:password", or empty without auth
	Org   string // 2.x organisation (1.8 ignores it)
	Buckets
	BatchSize   int           // points per HTTP write; default 5000
	MaxInFlight int           // concurrent write requests; default 4
	Timeout     time.Duration // per request; default 30s
	Location    *time.Location
	Logger      *slog.Logger
}

// Store keeps reads in InfluxDB.
type Store struct {
	opts   Options
	client influxdb2.Client
	loc    *time.Location
	sem    chan struct{}

	mu     sync.Mutex
	writer map[string]api.WriteAPIBlocking
}

// Open connects to the database and checks that it answers.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.URL == "" {
		return nil, errors.New("influx: no URL")
	}
	if opts.Raw == "" || opts.Registers == "" || opts.Aggregates == "" {
		return nil, fmt.Errorf("influx %s: buckets %+v: every kind needs a bucket", opts.URL, opts.Buckets)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 5000
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 4
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	loc := opts.Location
	if loc == nil {
		loc = time.Local
	}
	co := influxdb2.DefaultOptions().SetHTTPRequestTimeout(uint(max(1, opts.Timeout/time.Second))).SetMaxRetries(0)
	c := influxdb2.NewClientWithOptions(opts.URL, opts.Token, co)
	if ok, err := c.Ping(ctx); !ok || err != nil {
		c.Close()
		return nil, fmt.Errorf("influx %s: not answering: %v", opts.URL, err)
	}
	return &Store{opts: opts, client: c, loc: loc,
		sem: make(chan struct{}, opts.MaxInFlight), writer: map[string]api.WriteAPIBlocking{}}, nil
}

// Close releases the client.
func (s *Store) Close() error {
	s.client.Close()
	return nil
}

func (s *Store) bucket(c read.Class) string {
	if store.KindOf(c) == store.Registers {
		return s.opts.Registers
	}
	return s.opts.Raw
}

func (s *Store) writeAPI(bucket string) api.WriteAPIBlocking {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.writer[bucket]
	if !ok {
		w = s.client.WriteAPIBlocking(s.opts.Org, bucket)
		s.writer[bucket] = w
	}
	return w
}

// Write stores reads; see the package comment. A batch with a read that
// store.Check refuses is refused whole, naming the read's index.
func (s *Store) Write(ctx context.Context, reads []read.Read) error {
	for i := range reads {
		if err := store.Check(&reads[i]); err != nil {
			return fmt.Errorf("influx: write: read %d (meter %q, quantity %q): %w", i, reads[i].Meter, reads[i].Quantity, err)
		}
	}
	byBucket := map[string][]string{}
	var b []byte
	for i := range reads {
		r := &reads[i]
		b = appendRead(b[:0], r)
		bk := s.bucket(r.Class)
		byBucket[bk] = append(byBucket[bk], string(b))
	}
	return s.send(ctx, byBucket)
}

// send writes lines per bucket in batches, MaxInFlight at once.
func (s *Store) send(ctx context.Context, byBucket map[string][]string) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for bk, lines := range byBucket {
		w := s.writeAPI(bk)
		for n, lo := 0, 0; lo < len(lines); n, lo = n+1, lo+s.opts.BatchSize {
			part := lines[lo:min(lo+s.opts.BatchSize, len(lines))]
			select {
			case s.sem <- struct{}{}:
			case <-ctx.Done():
				wg.Wait()
				return ctx.Err()
			}
			wg.Go(func() {
				defer func() { <-s.sem }()
				err := w.WriteRecord(ctx, part...)
				if err != nil && !expired(err) {
					mu.Lock()
					errs = append(errs, fmt.Errorf("influx %s bucket %s: batch %d (%d points): %w", s.opts.URL, bk, n, len(part), err))
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// expired reports a refusal of points older than the bucket's retention:
// they are past it, which is what retention means, not a failure.
func expired(err error) bool {
	m := err.Error()
	return strings.Contains(m, "beyond retention policy") || strings.Contains(m, "outside retention")
}
