package daemon

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/headend/headend/analysis"
	"github.com/headend/headend/analysis/assess"
	"github.com/headend/headend/analysis/review"
	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/daemon/config"
	"go.yaml.in/yaml/v3"
)

// analysisRun is the analysis in force: a reload that changes the
// analysis section stops it (after the run under way) and starts one on
// the new settings; the loss targets and the review rules are swapped.
type analysisRun struct {
	cur     atomic.Pointer[analysis.Analyzer]
	targets atomic.Pointer[assess.Targets]
	rules   atomic.Pointer[review.Config]
	stop    func() // stops Serve and waits for it
}

func (r *analysisRun) get() *analysis.Analyzer { return r.cur.Load() }

// Targets are the loss-rate targets in force (analysis.targets).
func (r *analysisRun) Targets() assess.Targets {
	if t := r.targets.Load(); t != nil {
		return *t
	}
	return nil
}

// Rules are the review rules in force (analysis.review).
func (r *analysisRun) Rules() *review.Config { return r.rules.Load() }

// analysisConfig is the analysis's settings of cfg: analysis.vee,
// analysis.loss and analysis.anomaly (its clock tolerance is
// analysis.clock_tolerance).
func analysisConfig(cfg *config.Config) analysis.Config {
	a := cfg.Analysis
	acfg := analysis.Config{VEE: a.VEE, Loss: a.Loss, Anomaly: a.Anomaly}
	acfg.Anomaly.ClockTolerance = a.ClockTolerance
	return acfg
}

// startAnalysis runs the analysis of cfg until ctx ends.
func (d *daemon) startAnalysis(ctx context.Context, cfg *config.Config) (*analysisRun, error) {
	r := &analysisRun{}
	if err := r.swap(cfg); err != nil {
		return nil, err
	}
	d.shareAreas(ctx)
	d.serveAnalysis(ctx, r, cfg)
	return r, nil
}

// swap loads the targets and takes the review rules of cfg.
func (r *analysisRun) swap(cfg *config.Config) error {
	t, rules, err := loadRules(cfg)
	if err != nil {
		return err
	}
	r.take(t, rules)
	return nil
}

// loadRules reads the targets file and decodes the review rules of cfg.
func loadRules(cfg *config.Config) (assess.Targets, *review.Config, error) {
	t, err := loadTargets(cfg.Analysis.Targets, cfg.Collector.Location())
	if err != nil {
		return nil, nil, err
	}
	rules, err := reviewConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	return t, rules, nil
}

// take makes t and rules the ones in force.
func (r *analysisRun) take(t assess.Targets, rules *review.Config) {
	r.targets.Store(&t)
	r.rules.Store(rules)
}

func (d *daemon) serveAnalysis(ctx context.Context, r *analysisRun, cfg *config.Config) {
	opts := analysis.Options{Config: analysisConfig(cfg),
		Location: cfg.Collector.Location(), History: cfg.Analysis.History, Settle: cfg.Analysis.Settle,
		Logger: d.log.With("component", "analysis"), Observe: func(q vee.Quality, n int) { d.m.VEE(string(q), n) }, Balanced: d.m.Loss}
	if d.areas != nil {
		opts.Areas = d.areas
	}
	an := analysis.New(d.stg.store, d.stg.results, d.archive.Load(), opts)
	r.cur.Store(an)
	r.stop = d.spawn(ctx, func(ctx context.Context) { an.Serve(ctx, d.clk, cfg.Analysis.Every, d.reanalyse) })
}

// restart stops the analysis (its run under way is cut short; the next
// runs it again) and starts it on cfg.
func (d *daemon) restartAnalysis(ctx context.Context, cfg *config.Config) {
	d.an.stop()
	d.serveAnalysis(ctx, d.an, cfg)
}

// reviewConfig is the review rules of cfg: analysis.review over
// review.DefaultConfig, in the collector's zone.
func reviewConfig(cfg *config.Config) (*review.Config, error) {
	c, err := decodeReview(cfg.Analysis.Review)
	if err != nil {
		return nil, fmt.Errorf("analysis.review: %w", err)
	}
	c.Location = cfg.Collector.Location()
	return &c, nil
}

// decodeReview decodes analysis.review as written over the defaults,
// refusing unknown keys, and validates it.
func decodeReview(text string) (review.Config, error) {
	c := review.DefaultConfig()
	if strings.TrimSpace(text) != "" {
		dec := yaml.NewDecoder(strings.NewReader(text))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return c, err
		}
	}
	return c, c.Validate()
}

// Load reports a bad analysis.review at its line, at start and at every
// reload.
func init() {
	config.ReviewCheck = func(text string) error { _, err := decodeReview(text); return err }
}

// spawn runs f until ctx ends or the returned stop is called, which
// cancels f's context and waits for it; the daemon waits for it too
// (running).
func (d *daemon) spawn(ctx context.Context, f func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	d.running.Add(1)
	go func() {
		defer d.running.Done()
		defer close(done)
		f(ctx)
	}()
	return func() { cancel(); <-done }
}
