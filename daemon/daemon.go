// Package daemon is headend serve: what starts, in which order, and what
// a configuration reload changes. [Run] opens the store and its outbox
// (store.go), the analysis (analysis.go), the billing publisher
// (publish.go), the HTTP API (http.go, api.go, ops.go) and the collector
// (collect.go), under --cluster after joining the cluster (cluster.go;
// the analysis by area, areas.go; field operations forwarded, route.go),
// and applies every reload section by section (reload.go,
// docs/reload.md): each section is applied, or the reload is refused as
// a whole, naming the section that needs a restart.
package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/headend/headend/api/auth"
	archivepkg "github.com/headend/headend/archive"
	"github.com/headend/headend/collector"
	"github.com/headend/headend/collector/health"
	"github.com/headend/headend/collector/metrics"
	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/meter"
	"github.com/spf13/pflag"
)

// Options adjust Run beyond the configuration.
type Options struct {
	// Clock is what the collector and the analysis run on (serve
	// --follow: a metersim's); nil: the real clock.
	Clock schedule.Clock
	// Log is where the log goes; nil: os.Stderr.
	Log io.Writer
	// Report is how often the collection rates are logged (real time);
	// 0: never.
	Report time.Duration
	// Flags are the command-line flags over the file, applied again at
	// each reload; nil: none.
	Flags *pflag.FlagSet
	// Signals trigger a reload; nil: SIGHUP.
	Signals <-chan os.Signal
	// Settle is how quiet the files must be after a change before the
	// reload; 0: 200ms.
	Settle time.Duration
	// Cluster joins the cluster of the configuration's cluster section
	// and polls only the channels this node owns (serve --cluster,
	// cluster.go); false: a single node polling every channel.
	Cluster bool

	crash    bool               // tests: stop without leaving the cluster, as a crash would
	accepted func([]meter.Read) // tests: each batch once the outbox took it
}

// daemon is one Run: what a reload may change.
type daemon struct {
	opts    Options
	level   *slog.LevelVar // log.level, applied on reload
	log     *slog.Logger
	clk     schedule.Clock
	m       *metrics.Metrics
	stg     *storage
	running sync.WaitGroup // what uses the store: waited for before it closes

	cfg       *config.Config // in force; the Run goroutine's alone
	current   atomic.Pointer[collector.Collector]
	archive   atomic.Pointer[archivepkg.Index] // the archive the API answers from
	an        *analysisRun
	pub       *publisher
	toks      *auth.Tokens // nil without http.listen
	reanalyse chan struct{}
	cl        *clusterRun // nil without --cluster
	areas     *areaShare  // the analysis's share of the areas; nil without --cluster
}

// Run runs the daemon on cfg (loaded from cfg.File) until ctx ends or
// SIGINT or SIGTERM, reloading on SIGHUP and when the file or a file it
// names changes. It returns nil on a stop, else why it could not start
// or go on.
func Run(ctx context.Context, cfg *config.Config, opts Options) (err error) {
	started := time.Now()
	w := opts.Log
	if w == nil {
		w = os.Stderr
	}
	d := &daemon{opts: opts, level: new(slog.LevelVar), cfg: cfg, reanalyse: make(chan struct{}, 1)}
	d.level.Set(logLevel(cfg.Log.Level))
	log := newLogger(w, cfg.Log, d.level)
	d.log = log
	slog.SetDefault(log) // the configuration watcher logs through it
	// the listeners first: an address in use fails before anything is
	// opened
	ln, err := bindListeners(cfg)
	if err != nil {
		return err
	}
	if ln != nil {
		defer ln.Close()
	}
	if opts.Cluster {
		if d.cl, err = joinCluster(ctx, cfg, log, advertiseURL(cfg, ln)); err != nil {
			return err
		}
		defer d.cl.close(!opts.crash) // on an early return; after the collector stopped otherwise
	} else if cfg.Cluster.Enabled() {
		log.Info("cluster section ignored: a single node without serve --cluster", "etcd", cfg.Cluster.Etcd)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stopOnSignal(ctx, cancel)
	stopCtx := ctx
	defer func() {
		// a stop is told from a crash by this line
		attrs := []any{"uptime", time.Since(started).Round(time.Millisecond).String()}
		if c := context.Cause(stopCtx); c != nil && !errors.Is(c, context.Canceled) {
			attrs = append(attrs, "signal", c.Error())
		}
		if err != nil {
			log.Error("stopped", append(attrs, "err", err)...)
		} else {
			log.Info("stopped", attrs...)
		}
	}()
	d.m = metrics.New()
	d.m.ChannelLags(func() map[string]metrics.ChannelLag { return channelLags(d.current.Load()) })
	d.m.Terminals(func() (metrics.TerminalCounts, bool) { return terminalCounts(d.current.Load()) })
	d.clk = opts.Clock
	if d.clk == nil {
		d.clk = schedule.RealClock{}
	}
	if opts.Clock != nil {
		if sc, ok := opts.Clock.(schedule.ScaledClock); ok {
			log.Info("following the simulator's clock", "now", sc.Now().Format(time.DateTime), "speed", sc.Speed)
		}
	}
	d.stg, err = openStorageFor(ctx, cfg, d.clk, log, streamNode(cfg, d.cl))
	if err != nil {
		return err
	}
	if d.stg.stream != nil {
		d.stg.stream.register(d.m.Registry())
	}
	defer d.stg.Close()
	defer d.stg.flush(log) // after the collector stopped, before the store closes
	// on any return: stop what uses the store, then close it
	ctx, stopRun := context.WithCancelCause(ctx)
	defer d.running.Wait()
	defer stopRun(context.Canceled)
	d.stg.run(ctx, d.clk, cfg.Collector.Location(), log)
	d.archive.Store(cfg.Archive.Index())
	if d.an, err = d.startAnalysis(ctx, cfg); err != nil {
		return err
	}
	if d.pub, err = d.startPublish(ctx, cfg); err != nil {
		return err
	}
	log.Info("store", "backend", d.stg.desc, "outbox", cfg.Store.Outbox.Dir, "sync", cfg.Store.Outbox.Sync, "results", d.stg.resDesc)
	if ln != nil {
		stop, err := d.startHTTP(ctx, cfg, ln)
		if err != nil {
			ln.Close()
			return err
		}
		defer stop()
	}
	reloads := d.watch(ctx)
	go reportRates(ctx, log, &d.current, d.stg, opts.Report)
	err = d.collect(ctx, reloads)
	if d.cl != nil {
		if !opts.crash {
			d.pub.Stop() // its batch in flight saved while the node owns the feed
		}
		d.cl.close(!opts.crash) // the collector stopped: hand its channels on now
	}
	return err
}

// collectorOptions are the collector's options of this run: the rates,
// breakers and metrics outlive a collector.
func (d *daemon) collectorOptions() collector.Options {
	opts := collector.Options{Logger: d.log, Health: health.New(nil), Breakers: &poll.Breakers{},
		ObserveTransaction: d.m.ObserveTransaction, Clock: d.opts.Clock}
	if d.cl != nil {
		opts.Ownership = d.cl
		opts.Links = d.cl
		d.cl.watchLinks(&d.current)
	}
	sink := observed(d.m, d.stg.persist.Accept)
	// a day's freezes in: the analysis runs once they stop coming
	opts.Sink = func(rs []meter.Read) {
		sink(rs)
		d.an.get().Notify(rs)
		if d.opts.accepted != nil {
			d.opts.accepted(rs)
		}
	}
	return opts
}
