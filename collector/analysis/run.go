package analysis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/headend/headend/collector/archive"
	"github.com/headend/headend/collector/read"
	"github.com/headend/headend/collector/vee"
	"github.com/headend/headend/store"
)

// Options configure an Analyzer.
type Options struct {
	Config   Config
	Location *time.Location // where days begin; nil: China Standard Time
	// History is how many days before today a run reads (default 35);
	// Settle how many of the last of them it stores (default 14): older
	// figures stay as they were stored.
	History, Settle int
	Logger          *slog.Logger
	// Observe, if set, is told the values of each quality a run made;
	// Balanced, the number of balances it computed.
	Observe  func(q vee.Quality, n int)
	Balanced func(n int)
}

// Analyzer runs the analysis over a read store into a results store.
type Analyzer struct {
	reads   store.Store
	results store.Results
	opts    Options

	mu      sync.Mutex
	archive *archive.Index
	last    Summary
}

// Summary says what one run did.
type Summary struct {
	Today    time.Time `json:"today"`
	Ran      time.Time `json:"ran"`
	Took     string    `json:"took"`
	Reads    int       `json:"reads"`
	Values   int       `json:"values"`
	Balances int       `json:"balances"`
	Flags    int       `json:"flags"`
	Stored   int       `json:"stored"` // records stored (new or revised)
	Revised  int       `json:"revised"`
	Err      string    `json:"error,omitempty"`
}

// New returns an Analyzer.
func New(reads store.Store, results store.Results, ix *archive.Index, opts Options) *Analyzer {
	if opts.Location == nil {
		opts.Location = time.FixedZone("CST", 8*3600)
	}
	if opts.History <= 0 {
		opts.History = 35
	}
	if opts.Settle <= 0 || opts.Settle > opts.History {
		opts.Settle = min(14, opts.History)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Config.VEE.Versions == nil {
		opts.Config = DefaultConfig()
	}
	opts.Config.VEE.Location = opts.Location
	return &Analyzer{reads: reads, results: results, archive: ix, opts: opts}
}

// SetArchive replaces the archive (after a configuration reload).
func (a *Analyzer) SetArchive(ix *archive.Index) {
	a.mu.Lock()
	a.archive = ix
	a.mu.Unlock()
}

// Last returns the summary of the last run.
func (a *Analyzer) Last() Summary {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

// instantQuantities are the instantaneous reads the flags use.
var instantQuantities = []string{
	"phase A voltage", "phase B voltage", "phase C voltage",
	"phase A current", "phase B current", "phase C current",
}

// Run analyses the window ending on the day of now and stores what
// changed.
func (a *Analyzer) Run(ctx context.Context, now time.Time) (Summary, error) {
	began := time.Now()
	a.mu.Lock()
	ix := a.archive
	a.mu.Unlock()
	loc := a.opts.Location
	n := now.In(loc)
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
	from := today.AddDate(0, 0, -a.opts.History)
	sum := Summary{Today: today, Ran: now}
	in := Input{Archive: ix}
	for d := from; d.Before(today); d = d.AddDate(0, 0, 1) {
		in.Days = append(in.Days, d)
	}
	var err error
	q := func(class read.Class, quantity string, f, t time.Time) []read.Read {
		if err != nil {
			return nil
		}
		var rs []read.Read
		rs, err = a.reads.Query(ctx, store.Query{Class: class, Quantity: quantity, From: f, To: t})
		return rs
	}
	end := today.Add(a.opts.Config.Loss.Tolerance + time.Hour)
	in.Registers = append(q(read.Daily, "", from, end), q(read.Monthly, "", from, end)...)
	in.Instant = q(read.Clock, "", from, today.AddDate(0, 0, 1))
	for _, qn := range instantQuantities {
		in.Instant = append(in.Instant, sample(q(read.Instantaneous, qn, today.AddDate(0, 0, -3), today.AddDate(0, 0, 1)), 3*time.Hour)...)
	}
	if err == nil {
		var cs []store.Record
		cs, err = a.results.Current(ctx, store.RecordQuery{Kind: KindCorrection, From: from, To: end})
		in.Edits = EditsOf(cs)
		// a fault that began before the window still covers its days
		if err == nil {
			if cs, err = a.results.Current(ctx, store.RecordQuery{Kind: KindCorrection, To: end}); err == nil {
				in.Faults = FaultsOf(cs)
			}
		}
	}
	if err != nil {
		return a.done(sum, fmt.Errorf("analysis: reading the store: %w", err))
	}
	// days before the first register read are before the head-end began
	// (or before retention): not days of meters that did not answer
	if len(in.Registers) > 0 {
		first := stamp(&in.Registers[0])
		for i := range in.Registers {
			if t := stamp(&in.Registers[i]); t.Before(first) {
				first = t
			}
		}
		f := first.In(loc)
		first = time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, loc)
		for len(in.Days) > 0 && in.Days[0].Before(first) {
			in.Days = in.Days[1:]
		}
	} else {
		in.Days = nil
	}
	sum.Reads = len(in.Registers) + len(in.Instant)
	out, err := Compute(in, a.opts.Config)
	if err != nil {
		return a.done(sum, fmt.Errorf("analysis: %w", err))
	}
	if a.opts.Observe != nil {
		for q, n := range out.Qualities {
			a.opts.Observe(q, n)
		}
	}
	if a.opts.Balanced != nil {
		a.opts.Balanced(len(out.Loss))
	}
	settle := today.AddDate(0, 0, -a.opts.Settle)
	area := func(m string) string {
		if mt, ok := ix.Meter(m); ok {
			return mt.Area
		}
		return ""
	}
	var vals, bal, flags, theft []store.Record
	for i := range out.Values {
		if v := &out.Values[i]; !v.Time.Before(settle) {
			vals = append(vals, valueRecord(*v, area(v.Meter)))
		}
	}
	for i := range out.Loss {
		if r := &out.Loss[i]; !r.Period.Start.Before(settle) {
			bal = append(bal, lossRecord(r))
		}
	}
	// every flag the window holds, the latest episode of each condition
	byKey := map[string]int{}
	for i := range out.Report.Flags {
		f := &out.Report.Flags[i]
		r := flagRecord(f)
		if j, ok := byKey[r.Key]; ok {
			flags[j] = r // flags come by start day: this episode is later
			continue
		}
		byKey[r.Key] = len(flags)
		flags = append(flags, r)
	}
	for i := range out.Report.Theft {
		theft = append(theft, theftRecord(&out.Report.Theft[i]))
	}
	sum.Values, sum.Balances, sum.Flags = len(vals), len(bal), len(flags)
	var stored []store.Record
	for _, step := range []func() ([]store.Record, error){
		func() ([]store.Record, error) { return a.results.Put(ctx, vals) },
		func() ([]store.Record, error) { return a.results.Sync(ctx, KindLoss, "", settle, today, bal) },
		func() ([]store.Record, error) {
			return a.results.Sync(ctx, KindFlag, "", time.Unix(0, 0), today.AddDate(0, 0, 1), flags)
		},
		func() ([]store.Record, error) { return a.results.Put(ctx, theft) },
	} {
		s, err := step()
		if err != nil {
			return a.done(sum, fmt.Errorf("analysis: storing: %w", err))
		}
		stored = append(stored, s...)
	}
	sum.Stored = len(stored)
	for _, r := range stored {
		if r.Version > 1 {
			sum.Revised++
		}
	}
	sum.Took = time.Since(began).Round(time.Millisecond).String()
	return a.done(sum, nil)
}

func (a *Analyzer) done(s Summary, err error) (Summary, error) {
	if err != nil {
		s.Err = err.Error()
	}
	a.mu.Lock()
	a.last = s
	a.mu.Unlock()
	return s, err
}

// sample keeps one read per meter and quantity in each span of every.
func sample(rs []read.Read, every time.Duration) []read.Read {
	type k struct {
		m, q string
		t    int64
	}
	seen := map[k]bool{}
	out := rs[:0]
	for _, r := range rs {
		key := k{r.Meter, r.Quantity, r.ReadAt.UnixNano() / int64(every)}
		if !seen[key] {
			seen[key] = true
			out = append(out, r)
		}
	}
	return out
}

// Clock is what Serve waits on.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// Serve runs the analysis at start, every day at 01:30 (once the night's
// freezes are in) and every interval after (late reads, backfills), and
// whenever Trigger is called, until ctx ends.
func (a *Analyzer) Serve(ctx context.Context, clk Clock, every time.Duration, trigger <-chan struct{}) {
	if every <= 0 {
		every = 6 * time.Hour
	}
	for {
		s, err := a.Run(ctx, clk.Now())
		switch {
		case errors.Is(err, context.Canceled):
			return
		case err != nil:
			a.opts.Logger.Warn("analysis", "err", err)
		default:
			a.opts.Logger.Info("analysis", "today", s.Today.Format(time.DateOnly), "reads", s.Reads, "values", s.Values,
				"balances", s.Balances, "flags", s.Flags, "stored", s.Stored, "revised", s.Revised, "took", s.Took)
		}
		now := clk.Now().In(a.opts.Location)
		next := time.Date(now.Year(), now.Month(), now.Day(), 1, 30, 0, 0, a.opts.Location)
		if !next.After(now) {
			next = next.AddDate(0, 0, 1)
		}
		wait := min(next.Sub(now), every)
		select {
		case <-ctx.Done():
			return
		case <-clk.After(wait):
		case <-trigger:
		}
	}
}
