package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/api"
	"github.com/headend/headend/api/audit"
	archivepkg "github.com/headend/headend/archive"
	"github.com/headend/headend/collector"
	"github.com/headend/headend/collector/health"
	"github.com/headend/headend/collector/metrics"
	"github.com/headend/headend/collector/poll"
	"github.com/headend/headend/collector/schedule"
	"github.com/headend/headend/daemon/config"
	"github.com/headend/headend/meter"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
)

func newServeCmd() *cobra.Command {
	var cfgPath, follow string
	var report time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the collector: read every meter of the archive on schedule",
		Long: `Run the collector daemon. It opens every channel of the archive (serial
ports, concentrators it dials, concentrators that dial in, MQTT gateways,
Modbus), reads every meter on its schedules with one transaction in flight
per bus, and logs each area's collection rate. GET /status on the HTTP
address reports rates, channels and buses.

--follow makes the collector run on a metersim's clock (its simulated time
and speed), so that a demo shows days of reads in minutes.`,
		Example: `  headend serve --config configs/headend.yaml
  headend serve --config configs/headend.yaml --follow http://127.0.0.1:8090`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			started := time.Now()
			cfg, err := config.Load(cfgPath, cmd.Flags())
			if err != nil {
				return err
			}
			log := newLogger(cmd.ErrOrStderr(), cfg.Log)
			slog.SetDefault(log) // the configuration watcher logs through it
			// the listeners first: an address in use fails before anything
			// is opened
			ln, err := bindListeners(cfg)
			if err != nil {
				return err
			}
			if ln != nil {
				defer ln.Close()
			}
			ctx, cancel := context.WithCancelCause(cmd.Context())
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
			var running sync.WaitGroup // what uses the store: waited for before it closes
			m := metrics.New()
			opts := collector.Options{Logger: log, Health: health.New(nil), Breakers: &poll.Breakers{}, ObserveTransaction: m.ObserveTransaction}
			if follow != "" {
				clk, err := followClock(follow)
				if err != nil {
					return err
				}
				opts.Clock = clk
				log.Info("following the simulator's clock", "url", follow, "now", clk.Now().Format(time.DateTime), "speed", clk.Speed)
			}
			clk := opts.Clock
			if clk == nil {
				clk = schedule.RealClock{}
			}
			stg, err := openStorage(ctx, cfg, clk, log)
			if err != nil {
				return err
			}
			defer stg.Close()
			// on any return: stop what uses the store, then close it
			ctx, stopRun := context.WithCancelCause(ctx)
			defer running.Wait()
			defer stopRun(context.Canceled)
			stg.run(ctx, clk, cfg.Collector.Location(), log)
			opts.Sink = observed(m, stg.persist.Accept)
			acfg := analysis.DefaultConfig()
			acfg.Anomaly.ClockTolerance = cfg.Analysis.ClockTolerance
			an := analysis.New(stg.store, stg.results, cfg.Archive.Index(), analysis.Options{Config: acfg, Location: cfg.Collector.Location(),
				History: cfg.Analysis.History, Settle: cfg.Analysis.Settle, Logger: log.With("component", "analysis"),
				Observe: func(q vee.Quality, n int) { m.VEE(string(q), n) }, Balanced: m.Loss})
			sink := opts.Sink // a day's freezes in: the analysis runs once they stop coming
			opts.Sink = func(rs []meter.Read) { sink(rs); an.Notify(rs) }
			reanalyse := make(chan struct{}, 1)
			running.Add(1)
			go func() {
				defer running.Done()
				an.Serve(ctx, clk, cfg.Analysis.Every, reanalyse)
			}()
			if err := startPublish(ctx, cfg, stg, log, &running); err != nil {
				return err
			}
			log.Info("store", "backend", stg.desc, "outbox", cfg.Store.Outbox.Dir, "sync", cfg.Store.Outbox.Sync)
			var current atomic.Pointer[collector.Collector]
			var archive atomic.Pointer[archivepkg.Index] // the archive the API answers from
			if ln != nil {
				toks, err := apiTokens(cfg, log)
				if err != nil {
					ln.Close()
					return err
				}
				archive.Store(cfg.Archive.Index())
				alog, err := openAudit(cfg, log)
				if err != nil {
					ln.Close()
					return err
				}
				defer alog.Close()
				targets, err := loadTargets(cfg.Analysis.Targets, cfg.Collector.Location())
				if err != nil {
					ln.Close()
					return err
				}
				h := audit.Writes(alog)(apiHandler(statusHandler(&current, stg, m), toks, an, stg, alog, &current, &archive, cfg.Collector.Location(), clk, log, func() {
					select {
					case reanalyse <- struct{}{}:
					default:
					}
				}, cfg.HTTP.TileURL, targets))
				hc := cfg.HTTP
				srv := api.NewServer(h, api.ServerOptions{ReadHeaderTimeout: hc.ReadHeaderTimeout, ReadTimeout: hc.ReadTimeout,
					WriteTimeout: hc.WriteTimeout, IdleTimeout: hc.IdleTimeout, Logger: log.With("component", "http")})
				pl := api.LimitPerClient(ln, hc.MaxConnsPerClient, log.With("component", "http"))
				m.Registry().MustRegister(
					prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "headend_api_unauthenticated_total",
						Help: "API requests refused for a missing or unknown token (not in the audit log)"},
						func() float64 { return float64(toks.Refused()) }),
					prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "headend_http_connections_refused_total",
						Help: "connections closed at once: the client held http.max_conns_per_client already"},
						func() float64 { return float64(pl.Refused()) }))
				if err := serveHTTP(srv, pl, cfg.HTTP.TLS); err != nil { // HTTPS with http.tls (ops.go)
					ln.Close()
					return err
				}
				defer srv.Close()
				log.Info("http", "address", ln.Addr().String(), "tls", cfg.HTTP.TLS.Enabled())
			}
			// reloads: SIGHUP or a change of the file or its CSVs; only a
			// configuration that loads is handed on
			reloads := make(chan *config.Config, 1)
			go config.Watch(ctx, cfgPath, cmd.Flags(), func(nc *config.Config) {
				select {
				case reloads <- nc:
				default:
					<-reloads
					reloads <- nc
				}
			})
			go reportRates(ctx, log, &current, stg, report)
			for {
				c, err := collector.New(cfg, opts)
				if err != nil {
					return err
				}
				current.Store(c)
				done := make(chan error, 1)
				go func() { done <- c.Run(ctx) }()
				select {
				case err := <-done:
					if err != nil && !errors.Is(err, context.Canceled) {
						return err
					}
					return nil
				case nc := <-reloads:
					log.Info("configuration reloaded: reads in flight finish, then the collector restarts on it", "meters", len(nc.Archive.Meters))
					if nc.Store.String() != cfg.Store.String() || nc.Store.Outbox != cfg.Store.Outbox {
						log.Warn("store settings changed: they take effect at the next restart", "running", cfg.Store.String())
					}
					an.SetArchive(nc.Archive.Index())
					archive.Store(nc.Archive.Index())
					c.Drain()
					if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
						return err
					}
					cfg = nc
				}
			}
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "configs/headend.yaml", "configuration file")
	cmd.Flags().StringVar(&follow, "follow", "", "run on the clock of the metersim at this URL (demo)")
	cmd.Flags().DurationVar(&report, "report", 10*time.Second, "how often to log the collection rates (real time)")
	config.RegisterFlags(cmd.Flags())
	return cmd
}

// bindListeners binds http.listen, and tries collector.dialin_listen
// when a channel dials in (the collector binds it itself), so that an
// address in use is an error before the store is opened. The HTTP
// listener is nil without http.listen.
func bindListeners(cfg *config.Config) (net.Listener, error) {
	if a := cfg.Collector.DialInListen; a != "" && slices.ContainsFunc(cfg.Archive.Channels, func(ch archivepkg.Channel) bool { return ch.Kind == archivepkg.KindDialIn }) {
		where := ""
		if _, ok := os.LookupEnv(config.EnvName("collector.dialin_listen")); ok {
			where = " (" + config.EnvName("collector.dialin_listen") + ")"
		}
		l, err := net.Listen("tcp", a)
		if err != nil {
			return nil, fmt.Errorf("collector.dialin_listen%s %s: %w", where, a, err)
		}
		l.Close()
	}
	if cfg.HTTP.Listen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		where := ""
		if _, ok := os.LookupEnv(config.EnvName("http.listen")); ok {
			where = " (" + config.EnvName("http.listen") + ")"
		}
		return nil, fmt.Errorf("http.listen%s %s: %w", where, cfg.HTTP.Listen, err)
	}
	return ln, nil
}

// stopOnSignal cancels ctx with the signal as its cause on SIGINT or
// SIGTERM, from when it returns until ctx ends.
func stopOnSignal(ctx context.Context, cancel context.CancelCauseFunc) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		defer signal.Stop(sigs)
		select {
		case s := <-sigs:
			cancel(fmt.Errorf("%s", s))
		case <-ctx.Done():
		}
	}()
}

func newLogger(w interface{ Write([]byte) (int, error) }, c config.Log) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// followClock reads a metersim's simulated time and speed.
func followClock(url string) (schedule.ScaledClock, error) {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(strings.TrimSuffix(url, "/") + "/healthz")
	if err != nil {
		return schedule.ScaledClock{}, fmt.Errorf("--follow: %w", err)
	}
	defer resp.Body.Close()
	var h struct {
		Time  time.Time `json:"simulated_time"`
		Speed float64   `json:"speed"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil || h.Speed <= 0 {
		return schedule.ScaledClock{}, fmt.Errorf("--follow %s: not a metersim /healthz (%v)", url, err)
	}
	return schedule.ScaledClock{Start: h.Time, RealStart: time.Now(), Speed: h.Speed}, nil
}

// reportRates logs every area's collection rate per class, one line an area.
func reportRates(ctx context.Context, log *slog.Logger, current *atomic.Pointer[collector.Collector], stg *storage, every time.Duration) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c := current.Load()
		if c == nil {
			continue
		}
		byArea := map[string][]health.Rate{}
		for _, r := range c.Health().Rates() {
			byArea[r.Area] = append(byArea[r.Area], r)
		}
		areas := make([]string, 0, len(byArea))
		for a := range byArea {
			areas = append(areas, a)
		}
		sort.Strings(areas)
		st := c.Status()
		for _, a := range areas {
			var parts []string
			for _, r := range byArea[a] {
				parts = append(parts, fmt.Sprintf("%s %d/%d (%.1f%%)", r.Class, r.Collected, r.Expected, r.Percent))
			}
			log.Info("collection rate", "area", a, "now", st.Now.Format("2006-01-02 15:04"), "rates", strings.Join(parts, ", "))
		}
		ss := stg.status()
		attrs := []any{"accepted_reads", ss.Accepted, "backlog_batches", ss.BacklogBatches, "backlog_bytes", ss.BacklogBytes}
		if ss.StoreError != "" {
			attrs = append(attrs, "store_error", ss.StoreError)
		}
		if ss.Full {
			log.Warn("outbox full: polling held back", attrs...)
		} else {
			log.Info("store", attrs...)
		}
	}
}

// status is GET /status: the collector's health and the store's.
type status struct {
	collector.Status
	Storage storageStatus `json:"storage"`
}

func statusHandler(current *atomic.Pointer[collector.Collector], stg *storage, m *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		c := current.Load()
		if c == nil {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		enc.Encode(status{Status: c.Status(), Storage: stg.status()})
	})
	mountOps(mux, current, stg, m) // /healthz, /readyz, /metrics (ops.go)
	return mux
}
