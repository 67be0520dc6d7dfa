package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/headend/headend/collector"
	"github.com/headend/headend/collector/health"
	"github.com/headend/headend/collector/metrics"
	"github.com/headend/headend/daemon/config"
)

// collect runs the collector until ctx ends or it fails, applying each
// reload that comes (reload.go).
func (d *daemon) collect(ctx context.Context, reloads <-chan *config.Config) error {
	c, err := collector.New(collectorConfig(d.cfg), d.collectorOptions())
	if err != nil {
		return err
	}
	d.current.Store(c)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	for {
		select {
		case err := <-done:
			if err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		case nc := <-reloads:
			d.reload(ctx, c, nc)
		}
	}
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
			log.Info("collection rate", "area", a, "now", st.Clock.Now.Format("2006-01-02 15:04"), "rates", strings.Join(parts, ", "))
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

// status is GET /status: the collector's health and the store's, and
// the cluster's under serve --cluster.
type status struct {
	collector.Status
	Storage storageStatus  `json:"storage"`
	Cluster *clusterStatus `json:"cluster,omitempty"`
}

func statusHandler(current *atomic.Pointer[collector.Collector], stg *storage, m *metrics.Metrics, cl *clusterRun) http.Handler {
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
		st := status{Status: c.Status(), Storage: stg.status()}
		if cl != nil {
			st.Cluster = cl.status(r.Context())
			if stg.stream != nil {
				st.Cluster.Stream = stg.stream.status()
			}
		}
		enc.Encode(st)
	})
	mountOps(mux, current, stg, m) // /healthz, /readyz, /metrics (ops.go)
	return mux
}

// collectorConfig is what the collector is built from in cfg.
func collectorConfig(cfg *config.Config) *collector.Config {
	return &collector.Config{Collector: cfg.Collector, Archive: cfg.Archive}
}

// channelLags is whether each channel keeps up with its schedules, for
// the metrics.
func channelLags(c *collector.Collector) map[string]metrics.ChannelLag {
	if c == nil {
		return nil
	}
	out := map[string]metrics.ChannelLag{}
	for _, ch := range c.Status().Channels {
		out[ch.ID] = metrics.ChannelLag{SlotsMissed: ch.SlotsMissed, Lag: time.Duration(ch.LagSeconds * float64(time.Second)), Lagging: ch.Lagging}
	}
	return out
}
