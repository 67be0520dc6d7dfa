package daemon

import (
	"context"
	"net"

	"github.com/headend/headend/api"
	"github.com/headend/headend/api/audit"
	"github.com/headend/headend/daemon/config"
	"github.com/prometheus/client_golang/prometheus"
)

// startHTTP serves the API, the dashboard and the operations endpoints on
// ln (HTTPS with http.tls); stop closes the server and the audit log.
// The tokens are swapped on reload; the rest of the http section needs a
// restart.
func (d *daemon) startHTTP(ctx context.Context, cfg *config.Config, ln net.Listener) (stop func(), err error) {
	log := d.log
	toks, err := apiTokens(cfg, log)
	if err != nil {
		return nil, err
	}
	d.toks = toks
	alog, err := openAudit(cfg, log)
	if err != nil {
		return nil, err
	}
	reanalyse := func() {
		select {
		case d.reanalyse <- struct{}{}:
		default:
		}
	}
	h := audit.Writes(alog)(apiHandler(apiDeps{
		Deps: api.Deps{Results: d.stg.results, Reads: d.stg.store, Archive: d.archive.Load,
			Location: cfg.Collector.Location(), Now: d.clk.Now, Logger: log},
		Base: statusHandler(&d.current, d.stg, d.m, d.cl), Tokens: toks, Audit: alog, Analyzer: d.an.get,
		Collector: &d.current, Clock: d.clk, Reanalyse: reanalyse, TileURL: cfg.HTTP.TileURL,
		Targets: d.an.Targets, Rules: d.an.Rules, Loss: cfg.Analysis.Loss, Route: d.route}))
	hc := cfg.HTTP
	srv := api.NewServer(h, api.ServerOptions{ReadHeaderTimeout: hc.ReadHeaderTimeout, ReadTimeout: hc.ReadTimeout,
		WriteTimeout: hc.WriteTimeout, IdleTimeout: hc.IdleTimeout, Logger: log.With("component", "http")})
	pl := api.LimitPerClient(ln, hc.MaxConnsPerClient, log.With("component", "http"))
	d.m.Registry().MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "headend_api_unauthenticated_total",
			Help: "API requests refused for a missing or unknown token (not in the audit log)"},
			func() float64 { return float64(toks.Refused()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "headend_http_connections_refused_total",
			Help: "connections closed at once: the client held http.max_conns_per_client already"},
			func() float64 { return float64(pl.Refused()) }))
	if err := serveHTTP(srv, pl, cfg.HTTP.TLS); err != nil { // HTTPS with http.tls (ops.go)
		alog.Close()
		return nil, err
	}
	log.Info("http", "address", ln.Addr().String(), "tls", cfg.HTTP.TLS.Enabled())
	return func() { srv.Close(); alog.Close() }, nil
}
