// Package influx is the production store: reads in InfluxDB, through the
// 2.x HTTP API (/api/v2/write and Flux on /api/v2/query) that InfluxDB 2.x
// and InfluxDB 1.8 with flux-enabled both serve. store/README.md has the
// schema, the buckets and their retention, and example Flux.
//
// Write turns reads into line protocol, one point per store.Key, splits
// them into batches of Options.BatchSize points and sends up to
// Options.MaxInFlight batches at once (a Write waits for a slot, so a slow
// database slows the writers). It returns nil only when the database
// confirmed every batch, so the outbox in front of it acknowledges only
// what is stored. A refusal whose only reason is points older than the
// bucket's retention is not a failure: those points are past retention.
// Any other refusal is an error naming the URL, the bucket, the batch and
// the server's message.
//
// Each retention kind (store.KindOf) has its own bucket, whose retention
// the database applies; Setup makes them on InfluxDB 1.8. Query builds
// Flux and reads the points back exactly. Downsample computes daily
// aggregates in the head-end and writes them to the aggregates bucket.
package influx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"

	"github.com/headend/headend/store"
)

// Buckets name where each kind of data goes. On InfluxDB 1.8 a bucket is
// "database/retention-policy".
type Buckets struct {
	Raw        string // interval, instantaneous, clock and on-demand reads
	Registers  string // daily and monthly register reads
	Aggregates string // daily aggregates of raw reads
}

// DefaultBuckets are the buckets Setup makes for the database "headend",
// used for any bucket Options leaves empty.
var DefaultBuckets = Buckets{Raw: "headend/raw", Registers: "headend/registers", Aggregates: "headend/aggregates"}

// Options configure a Store. URL is required.
type Options struct {
	URL   string
	Token string // 2.x: an API token; 1.8: "user:password", or empty without auth. Never logged.
	Org   string // 2.x organisation (1.8 ignores it)
	Buckets
	BatchSize   int           // points per HTTP write; default 5000
	MaxInFlight int           // concurrent write requests across the Store; default 4
	Timeout     time.Duration // per request; default 30s
	// Retention is what the buckets were made with (see Setup). The
	// database drops expired data a whole shard at a time, up to a shard
	// duration late; with Retention set, Query never returns a read past
	// it and Write leaves such reads out. Zero: the database's alone.
	Retention store.Retention
	Now       func() time.Time // the clock Retention counts from; default time.Now
	Location  *time.Location   // where days begin, for aggregates; default time.Local
	Logger    *slog.Logger     // default: discard
}

// Store keeps reads in InfluxDB. It is safe for concurrent use.
type Store struct {
	opts     Options
	client   influxdb2.Client // Flux queries
	http     *http.Client     // writes
	writeURL map[string]string
	loc      *time.Location
	log      *slog.Logger
	sem      chan struct{} // a slot per write request in flight
}

// Open connects to the database and checks that it answers /ping. It does
// not create buckets: see Setup.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.URL == "" {
		return nil, errors.New("influx: no URL")
	}
	opts.URL = strings.TrimSuffix(opts.URL, "/")
	for _, b := range []struct{ b, def *string }{
		{&opts.Raw, &DefaultBuckets.Raw}, {&opts.Registers, &DefaultBuckets.Registers}, {&opts.Aggregates, &DefaultBuckets.Aggregates},
	} {
		if *b.b == "" {
			*b.b = *b.def
		}
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
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	loc := opts.Location
	if loc == nil {
		loc = time.Local
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = opts.MaxInFlight + 2
	hc := &http.Client{Transport: tr} // writes: Timeout per request, by context
	qc := &http.Client{Transport: tr, Timeout: opts.Timeout}
	co := influxdb2.DefaultOptions().SetHTTPClient(qc).SetMaxRetries(0)
	c := influxdb2.NewClientWithOptions(opts.URL, opts.Token, co)
	if ok, err := c.Ping(ctx); !ok || err != nil {
		c.Close()
		if err == nil {
			err = errors.New("ping failed")
		}
		return nil, fmt.Errorf("influx %s: not answering: %w", opts.URL, err)
	}
	s := &Store{opts: opts, client: c, http: hc, writeURL: map[string]string{}, loc: loc,
		log: opts.Logger, sem: make(chan struct{}, opts.MaxInFlight)}
	for _, b := range []string{opts.Raw, opts.Registers, opts.Aggregates} {
		s.writeURL[b] = opts.URL + "/api/v2/write?" + url.Values{"org": {opts.Org}, "bucket": {b}, "precision": {"ns"}}.Encode()
	}
	s.log.Info("InfluxDB store open", "url", opts.URL, "raw", opts.Raw, "registers", opts.Registers,
		"aggregates", opts.Aggregates, "batch", opts.BatchSize, "in_flight", opts.MaxInFlight)
	return s, nil
}

// Close releases the client. Write and Query return before it is called.
func (s *Store) Close() error {
	s.client.Close()
	s.http.CloseIdleConnections()
	return nil
}

// bucketOf is the bucket of a kind of reads.
func (s *Store) bucketOf(k store.Kind) string {
	if k == store.Registers {
		return s.opts.Registers
	}
	return s.opts.Raw
}

// retention is how long reads of kind k are kept; 0 is forever.
func (s *Store) retention(k store.Kind) time.Duration {
	if k == store.Registers {
		return s.opts.Retention.Registers
	}
	return s.opts.Retention.Raw
}
