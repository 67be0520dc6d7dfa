package daemon

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/influx"
)

// openInflux opens the InfluxDB backend: store.bucket for register reads,
// store.bucket_raw and store.bucket_aggregates (default: store.bucket) for
// the others. The buckets' retention is the database's (see store/README.md);
// store.retention must say the same, so that queries stop returning a read
// at its retention rather than when its shard is dropped.
func openInflux(ctx context.Context, cfg *config.Config, clk schedule.Clock, log *slog.Logger) (store.Store, error) {
	s := cfg.Store
	b := influx.Buckets{Raw: s.BucketRaw, Registers: s.Bucket, Aggregates: s.BucketAggregates}
	if b.Raw == "" {
		b.Raw = s.Bucket
	}
	if b.Aggregates == "" {
		b.Aggregates = s.Bucket
	}
	st, err := influx.Open(ctx, influx.Options{URL: s.URL, Token: s.Token, Org: s.Org, Buckets: b,
		Retention: Retention(s.Retention), Now: clk.Now, Location: cfg.Collector.Location(), Logger: log.With("store", "influxdb")})
	if err != nil {
		return nil, fmt.Errorf("store (%s): %w", s, err)
	}
	return st, nil
}
