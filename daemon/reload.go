package daemon

import (
	"context"
	"errors"
	"reflect"
	"strings"

	"github.com/headend/headend/api/auth"
	"github.com/headend/headend/collector"
	"github.com/headend/headend/daemon/config"
)

// section is one part of the configuration and what a reload does when
// it changed: applied while running, or the reload is refused and the
// change waits for a restart. Sections are matched in order: the first
// whose key is the key or a prefix of it is the key's policy.
type section struct {
	key     string
	of      func(*config.Config) any
	restart bool
	how     string // what a reload does (docs/reload.md)
}

// policy is the reload policy, one entry per section (docs/reload.md;
// TestReloadPolicyCoversEveryKey keeps it complete).
var policy = []section{
	{"collector.data_dir", func(c *config.Config) any { return c.Collector.DataDir }, true, "the collector's state files are open"},
	{"collector.zone", func(c *config.Config) any { return c.Collector.Zone }, true, "days, schedules and the store's days are in it"},
	{"collector.dialin_listen", func(c *config.Config) any { return c.Collector.DialInListen }, true, "concentrators are connected to it"},
	{"collector.gdw3761_listen", func(c *config.Config) any { return c.Collector.GDW3761Listen }, true, "terminals are logged in on it"},
	{"collector", collectorSection, false, "applied: the schedules and the reading plan made anew, clock limits, backfill_days; a breaker change rebuilds the buses on the same links (breaker states kept)"},
	{"archive", func(c *config.Config) any { return []any{c.Archive, c.Sources} }, false, "applied by a diff of the channels: an unchanged channel keeps its connection, its dial-in sessions, its breakers and today's clock syncs; a changed one is reopened, a removed one closed, a new one opened; meters scheduled anew"},
	{"store", func(c *config.Config) any { return c.Store }, true, "the store and the outbox are open"},
	{"results", func(c *config.Config) any { return c.Results }, true, "the results store is open"},
	{"http.tokens", func(c *config.Config) any { return c.HTTP.Tokens }, false, "applied: the token set is swapped; a token removed is refused from the next request on"},
	{"http.listen", func(c *config.Config) any { return c.HTTP.Listen }, true, "the listener is bound"},
	{"http.tls", func(c *config.Config) any { return c.HTTP.TLS }, true, "the server's certificate is loaded at start"},
	{"http.tile_url", func(c *config.Config) any { return c.HTTP.TileURL }, true, "the loss pages are built with it"},
	{"http", httpSection, true, "the server's timeouts and connection limit are in use"},
	{"log.level", func(c *config.Config) any { return c.Log.Level }, false, "applied"},
	{"log.format", func(c *config.Config) any { return c.Log.Format }, true, "the log's handler is made at start"},
	{"analysis.targets", func(c *config.Config) any { return c.Analysis.Targets }, false, "applied: the file is read again at every reload (and watched)"},
	{"analysis.loss", func(c *config.Config) any { return c.Analysis.Loss }, true, "the API's loss and management pages are built with it"},
	{"analysis", analysisSection, false, "applied: the analysis is restarted on the new settings (a run under way is cut short and run again)"},
	{"publish", func(c *config.Config) any { return c.Publish }, false, "applied: the publisher is restarted on the new settings; its cursor carries on"},
	{"audit", func(c *config.Config) any { return c.Audit }, true, "the audit log is open"},
	{"cluster", func(c *config.Config) any { return c.Cluster }, true, "the node joined etcd with it (serve --cluster)"},
}

func collectorSection(c *config.Config) any {
	cc := c.Collector
	cc.DataDir, cc.Zone, cc.DialInListen, cc.GDW3761Listen = "", "", "", ""
	return cc
}

func httpSection(c *config.Config) any {
	h := c.HTTP
	h.Tokens, h.Listen, h.TLS, h.TileURL = nil, "", config.TLS{}, ""
	return h
}

func analysisSection(c *config.Config) any {
	a := c.Analysis
	a.Targets = ""
	return a
}

// diff returns the sections that differ between old and nc: those that
// need a restart, and those applied.
func diff(old, nc *config.Config) (restart, apply []string) {
	for _, s := range policy {
		if reflect.DeepEqual(s.of(old), s.of(nc)) {
			continue
		}
		if s.restart {
			restart = append(restart, s.key)
		} else {
			apply = append(apply, s.key)
		}
	}
	return restart, apply
}

// reload applies nc to the running daemon, or refuses it whole, logging
// which section needs a restart. What can fail is tried before anything
// changes.
func (d *daemon) reload(ctx context.Context, c *collector.Collector, nc *config.Config) {
	log := d.log
	restart, apply := diff(d.cfg, nc)
	if len(restart) > 0 {
		log.Error("reload refused: "+strings.Join(restart, ", ")+" changed; restart to apply (the configuration in force stays)",
			"sections", restart)
		return
	}
	changed := func(key string) bool {
		for _, a := range apply {
			if a == key {
				return true
			}
		}
		return false
	}
	var specs []auth.TokenSpec
	if d.toks != nil && changed("http.tokens") {
		var err error
		if specs, err = apiTokenSpecs(nc, log); err == nil {
			_, err = auth.New(specs, nil)
		}
		if err != nil {
			log.Error("reload refused: http.tokens: "+err.Error(), "err", err)
			return
		}
	}
	targets, rules, err := loadRules(nc) // the targets file, read again
	if err != nil {
		log.Error("reload refused: "+err.Error(), "err", err)
		return
	}
	if changed("collector") || changed("archive") {
		if d.cl != nil {
			d.cl.setArchive(nc.Archive) // the channels shared out before the collector opens any
		}
		ch, err := c.Apply(collectorConfig(nc))
		switch {
		case errors.Is(err, collector.ErrNotRunning):
			log.Error("reload refused: the collector is not running yet (opening its channels); reload again", "err", err)
			return
		case err != nil:
			// a channel that could not be opened: the rest is applied
			log.Error("reload: collector: "+err.Error(), "err", err)
		}
		log.Info("channels", "added", ch.Added, "removed", ch.Removed, "changed", ch.Changed, "kept", ch.Kept)
	}
	d.an.take(targets, rules)
	d.archive.Store(nc.Archive.Index())
	if specs != nil {
		d.toks.Replace(specs, log)
	}
	d.level.Set(logLevel(nc.Log.Level))
	if changed("analysis") {
		d.restartAnalysis(ctx, nc)
	} else if an := d.an.get(); an != nil {
		an.SetArchive(nc.Archive.Index())
	}
	if changed("publish") {
		d.pub.Stop()
		p, err := d.startPublish(ctx, nc)
		if err != nil {
			log.Error("reload: publish: "+err.Error()+"; billing publish stopped until a reload that starts it", "err", err)
			p = &publisher{}
		}
		d.pub = p
	}
	d.cfg = nc
	log.Info("configuration applied", "sections", apply, "meters", len(nc.Archive.Meters))
}

// watch hands on the configurations that load, from SIGHUP and file
// changes, the latest only.
func (d *daemon) watch(ctx context.Context) <-chan *config.Config {
	reloads := make(chan *config.Config, 1)
	w := &config.Watcher{Path: d.cfg.File, Flags: d.opts.Flags, Signals: d.opts.Signals, Settle: d.opts.Settle, Logger: d.log,
		OnChange: func(nc *config.Config) {
			select {
			case reloads <- nc:
			default:
				select {
				case <-reloads:
				default:
				}
				reloads <- nc
			}
		}}
	go func() {
		if err := w.Run(ctx); err != nil {
			d.log.Error("configuration watch stopped: no reload until a restart", "err", err)
		}
	}()
	return reloads
}
