package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/outbox"
	"github.com/headend/headend/store/persist"
	"github.com/headend/headend/store/postgres"
	"github.com/headend/headend/store/results"
	"github.com/headend/headend/store/sqlite"
)

// storage is where the collector's reads go: the outbox on disk, the
// store behind it, and the daily upkeep (downsampling, retention).
type storage struct {
	desc    string
	store   store.Store
	outbox  *outbox.Outbox
	persist *persist.Persister
	results store.Results // what the analysis derives: values, balances, flags
	resDesc string        // where results is, for the log
	stream  *streamRun    // serve --cluster with cluster.nats: the outbox delivers to it (jetstream.go)
}

// Retention is store.retention as the read stores take it.
func Retention(c config.Retention) store.Retention {
	return store.Retention{Raw: c.Raw.Duration(), Registers: c.Registers.Duration(), Aggregates: c.Aggregates.Duration(),
		MaxShare: float64(c.MaxShare)}
}

// OpenStore opens the configured backend (headend reads opens it too).
func OpenStore(ctx context.Context, cfg *config.Config, clk schedule.Clock, log *slog.Logger) (store.Store, error) {
	s := cfg.Store
	switch s.Kind {
	case "influxdb":
		return openInflux(ctx, cfg, clk, log)
	default:
		if err := os.MkdirAll(s.Path, 0o755); err != nil {
			return nil, fmt.Errorf("store.path: %w", err)
		}
		path := filepath.Join(s.Path, "headend.db")
		st, err := sqlite.Open(path, sqlite.Options{Retention: Retention(s.Retention), Now: clk.Now, Location: cfg.Collector.Location(),
			SyncFull: s.Outbox.Sync == "every"}) // a batch that left the outbox must survive a power cut too
		if err != nil {
			return nil, fmt.Errorf("store (embedded %s): %w", path, err)
		}
		return st, nil
	}
}

// OpenResults opens the configured results store: results.db in
// store.path, or the PostgreSQL database of results.dsn.
func OpenResults(ctx context.Context, cfg *config.Config, clk schedule.Clock) (store.Results, error) {
	if cfg.Results.Kind == "postgres" {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		res, err := postgres.Open(ctx, cfg.Results.DSN, postgres.Options{Now: clk.Now})
		if err != nil {
			return nil, fmt.Errorf("results.dsn: %w", err)
		}
		return res, nil
	}
	if err := os.MkdirAll(cfg.Store.Path, 0o755); err != nil {
		return nil, fmt.Errorf("store.path: %w", err)
	}
	rpath := filepath.Join(cfg.Store.Path, "results.db")
	res, err := results.Open(rpath, results.Options{Now: clk.Now, SyncFull: cfg.Store.Outbox.Sync == "every"})
	if err != nil {
		return nil, fmt.Errorf("results (%s): %w", rpath, err)
	}
	return res, nil
}

// openStorage opens the store and the outbox in front of it. ctx bounds
// how long a bus waits for room in a full outbox.
func openStorage(ctx context.Context, cfg *config.Config, clk schedule.Clock, log *slog.Logger) (*storage, error) {
	return openStorageFor(ctx, cfg, clk, log, "")
}

// openStorageFor is openStorage for a node of a cluster with cluster.nats
// (node: its name, see streamNode): the outbox delivers to the stream,
// and a writer node fills the store from it. node "": to the store.
func openStorageFor(ctx context.Context, cfg *config.Config, clk schedule.Clock, log *slog.Logger, node string) (*storage, error) {
	st, err := OpenStore(ctx, cfg, clk, log)
	if err != nil {
		return nil, err
	}
	deliver := st
	var stream *streamRun
	if node != "" {
		if stream, err = openStream(ctx, cfg.Cluster.NATS, node, st, log); err != nil {
			st.Close()
			return nil, err
		}
		deliver = stream.pub
	}
	closeAll := func() {
		if stream != nil {
			stream.close()
		}
		st.Close()
	}
	o := cfg.Store.Outbox
	sync := map[string]outbox.SyncPolicy{"every": outbox.SyncEvery, "interval": outbox.SyncInterval, "none": outbox.SyncNone}[o.Sync]
	ob, err := outbox.Open(o.Dir, outbox.Options{Sync: sync, Interval: o.Interval, MaxBytes: int64(o.MaxBytes),
		SegmentBytes: min(16<<20, int64(o.MaxBytes)/8), Reserve: int64(o.ReserveBytes)})
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("store.outbox.dir %s: %w", o.Dir, err)
	}
	for _, cut := range ob.Recovery() {
		log.Warn("outbox recovered from a damaged record", "err", cut)
	}
	if b, n := ob.Backlog(); b > 0 {
		log.Info("outbox holds reads not yet in the store: delivering them first", "batches", b, "bytes", n)
	}
	res, err := OpenResults(ctx, cfg, clk)
	if err != nil {
		ob.Close()
		closeAll()
		return nil, err
	}
	p := persist.New(ctx, ob, deliver, persist.Options{Logger: log.With("component", "outbox"), Now: clk.Now})
	resDesc := "embedded " + filepath.Join(cfg.Store.Path, "results.db")
	if s, ok := res.(fmt.Stringer); ok {
		resDesc = "postgres " + s.String()
	}
	desc := cfg.Store.String()
	if stream != nil {
		desc = fmt.Sprintf("%s, reads through stream %s (subject %s, writer %t)", desc, stream.o.Stream, stream.pub.Subject(), stream.w != nil)
	}
	return &storage{desc: desc, store: st, outbox: ob, persist: p, results: res, resDesc: resDesc, stream: stream}, nil
}

// run delivers the outbox to the store and does the daily upkeep until
// ctx ends.
func (s *storage) run(ctx context.Context, clk schedule.Clock, loc *time.Location, log *slog.Logger) {
	go func() {
		if err := s.persist.Run(ctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, outbox.ErrClosed) {
			log.Error("outbox delivery stopped: reads stay on disk until restart", "err", err)
		}
	}()
	go s.upkeep(ctx, clk, loc, log)
	if s.stream != nil {
		s.stream.start()
	}
}

// upkeep downsamples each finished day's raw reads into daily aggregates
// and applies the retention, every day at 02:00 (once the day's interval
// reads have been collected) and at start for the day before.
func (s *storage) upkeep(ctx context.Context, clk schedule.Clock, loc *time.Location, log *slog.Logger) {
	ds, _ := s.store.(store.Downsampler)
	pr, _ := s.store.(interface {
		Prune(context.Context) (store.Pruned, error)
	})
	for {
		now := clk.Now().In(loc)
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
		if ds != nil {
			from := today.AddDate(0, 0, -2)
			if err := ds.Downsample(ctx, from, today); err != nil && ctx.Err() == nil {
				log.Warn("downsampling", "from", from.Format(time.DateOnly), "to", today.Format(time.DateOnly), "err", err)
			}
		}
		if pr != nil {
			prune(ctx, pr.Prune, clk.Now(), log)
		}
		next := today.Add(26 * time.Hour) // 02:00 tomorrow (a 23 or 25 hour day is close enough)
		select {
		case <-ctx.Done():
			return
		case <-clk.After(next.Sub(clk.Now())):
		}
	}
}

// prune runs one retention pass and logs what it did: a removal at WARN
// with its counts and cut-offs, a refusal (more than
// store.retention.max_share) at ERROR with what it would have removed.
func prune(ctx context.Context, pass func(context.Context) (store.Pruned, error), now time.Time, log *slog.Logger) {
	p, err := pass(ctx)
	if ctx.Err() != nil {
		return
	}
	attrs := []any{"reads", p.Reads, "stored_reads", p.StoredReads, "aggregates", p.Aggregates, "stored_aggregates", p.StoredAggregates}
	for _, c := range []struct {
		key string
		t   time.Time
	}{{"raw_cutoff", p.RawCutoff}, {"registers_cutoff", p.RegistersCutoff}, {"aggregates_cutoff", p.AggregatesCutoff}} {
		if !c.t.IsZero() {
			attrs = append(attrs, c.key, c.t.Format(time.RFC3339))
		}
	}
	attrs = append(attrs, "clock", now.Format(time.RFC3339))
	switch {
	case errors.Is(err, store.ErrPruneRefused):
		log.Error("retention: refused, nothing removed: the pass would remove more of the store than store.retention.max_share allows "+
			"(check the clock and the retention; raise max_share, up to 1, to allow it)", append(attrs, "err", err)...)
	case err != nil:
		log.Warn("retention", append(attrs, "err", err)...)
	case p.Reads > 0 || p.Aggregates > 0:
		log.Warn("retention: removed reads past their retention", attrs...)
	}
}

// Close closes the outbox (what is in it stays on disk), then the stream
// (its writer stops after its write in flight) and the store.
func (s *storage) Close() error {
	err := s.outbox.Close()
	if s.stream != nil {
		err = errors.Join(err, s.stream.close())
	}
	return errors.Join(err, s.store.Close(), s.results.Close())
}

// storageStatus is the store's part of /status.
type storageStatus struct {
	Store string `json:"store"`
	persist.Status
}

func (s *storage) status() storageStatus {
	return storageStatus{Store: s.desc, Status: s.persist.Status()}
}

// flush delivers the reads handed on last, still in the outbox, into the
// store before it closes (a clean stop; 10 s at most). What is left stays
// on disk for the next start.
func (s *storage) flush(log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.persist.Flush(ctx); err != nil {
		b, n := s.outbox.Backlog()
		log.Warn("outbox not delivered before stopping: its reads stay on disk for the next start", "batches", b, "bytes", n, "err", err)
	}
}
