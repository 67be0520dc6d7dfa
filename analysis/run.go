package analysis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/headend/headend/analysis/vee"
	"github.com/headend/headend/archive"
	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/results"
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
	// Complete is how long after midnight a day's reads are complete
	// (the daily freezes read, the read window closed): Serve runs then
	// every day. Default 90 minutes (01:30).
	Complete time.Duration
	// Quiet is how long Serve waits after the last daily or monthly
	// reads it was told of (Notify) before it runs; default 2 minutes.
	// A steady stream of them (a backfill) runs it at most every ten
	// Quiet.
	Quiet time.Duration
	// Areas, when set, is the node's share of the areas (serve
	// --cluster): a run analyses and stores only the areas it takes.
	// Nil: every area, as a single node.
	Areas Areas
}

// Analyzer runs the analysis over a read store into a results store.
type Analyzer struct {
	reads   store.Store
	results store.Results
	opts    Options

	runMu   sync.Mutex // one run at a time
	arrived chan struct{}

	mu      sync.Mutex
	archive *archive.Index
	last    Summary
	// phases are the meters' phase counts seen in the runs so far: the
	// instantaneous reads of a run go back 3 days, and a phase lost
	// longer ago is still one of the meter's phases
	phases map[string]int
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
	// Areas are the areas the run analysed when the node has a share of
	// them (Options.Areas); empty for a single node, which analyses all.
	Areas []string `json:"areas,omitempty"`
	Err   string   `json:"error,omitempty"`
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
	if opts.Complete <= 0 {
		opts.Complete = 90 * time.Minute
	}
	if opts.Quiet <= 0 {
		opts.Quiet = 2 * time.Minute
	}
	opts.Config.VEE.Location = opts.Location
	return &Analyzer{reads: reads, results: results, archive: ix, opts: opts, arrived: make(chan struct{}, 1)}
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
// Runs are one at a time: a Run called during another waits for it.
func (a *Analyzer) Run(ctx context.Context, now time.Time) (Summary, error) {
	a.runMu.Lock()
	defer a.runMu.Unlock()
	began := time.Now()
	a.mu.Lock()
	ix := a.archive
	a.mu.Unlock()
	loc := a.opts.Location
	n := now.In(loc)
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
	from := today.AddDate(0, 0, -a.opts.History)
	sum := Summary{Today: today, Ran: now}
	var sh share // nil: every area
	if a.opts.Areas != nil {
		sh = share{}
		for _, id := range a.opts.Areas.Take() {
			sh[id] = true
		}
		defer a.opts.Areas.Done()
		sum.Areas = sh.sorted()
		if len(sh) == 0 {
			sum.Took = time.Since(began).Round(time.Millisecond).String()
			return a.done(sum, nil) // no area of this node's to analyse
		}
	}
	in := Input{Archive: sh.archive(ix)}
	for d := from; d.Before(today); d = d.AddDate(0, 0, 1) {
		in.Days = append(in.Days, d)
	}
	var err error
	q := func(class meter.Class, quantity string, f, t time.Time) []meter.Read {
		if err != nil {
			return nil
		}
		var rs []meter.Read
		rs, err = a.reads.Query(ctx, store.Query{Class: class, Quantity: quantity, From: f, To: t})
		return rs
	}
	end := today.Add(a.opts.Config.Loss.Tolerance + time.Hour)
	in.Registers = append(q(meter.Daily, "", from, end), q(meter.Monthly, "", from, end)...)
	in.Instant = q(meter.Clock, "", from, today.AddDate(0, 0, 1))
	in.Events = q(meter.Event, "", from, today.AddDate(0, 0, 1))
	for _, qn := range instantQuantities {
		in.Instant = append(in.Instant, sample(q(meter.Instantaneous, qn, today.AddDate(0, 0, -3), today.AddDate(0, 0, 1)), 3*time.Hour)...)
	}
	// the phases of each meter: from the first day of the window, the
	// runs before and the last 3 days
	if first := q(meter.Instantaneous, "", from, from.AddDate(0, 0, 1)); err == nil {
		a.mu.Lock()
		a.phases = PhasesSeen(PhasesSeen(a.phases, first, a.opts.Config.Anomaly), in.Instant, a.opts.Config.Anomaly)
		in.Phases = maps.Clone(a.phases)
		a.mu.Unlock()
	}
	if err == nil {
		var cs []store.Record
		cs, err = a.results.Current(ctx, store.RecordQuery{Kind: results.KindCorrection, From: from, To: end})
		in.Edits = EditsOf(cs)
		// a fault that began before the window still covers its days
		if err == nil {
			if cs, err = a.results.Current(ctx, store.RecordQuery{Kind: results.KindCorrection, To: end}); err == nil {
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
	// a share's reads, once the days are those of the whole store's
	in.Registers, in.Instant, in.Events = sh.reads(ix, in.Registers), sh.reads(ix, in.Instant), sh.reads(ix, in.Events)
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
	// a node stores only the areas it still holds: one cut off from the
	// cluster mid-run leaves them to their next owner
	held := sh.still(a.opts.Areas)
	vals, bal, flags, theft = held.records(vals), held.records(bal), held.records(flags), held.records(theft)
	sum.Values, sum.Balances, sum.Flags = len(vals), len(bal), len(flags)
	var stored []store.Record
	for _, step := range []func() ([]store.Record, error){
		func() ([]store.Record, error) { return a.results.Put(ctx, vals) },
		func() ([]store.Record, error) { return held.sync(ctx, a.results, results.KindLoss, settle, today, bal) },
		func() ([]store.Record, error) {
			return held.sync(ctx, a.results, results.KindFlag, time.Unix(0, 0), today.AddDate(0, 0, 1), flags)
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
func sample(rs []meter.Read, every time.Duration) []meter.Read {
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

// Notify tells Serve of reads just collected: when they hold OK daily or
// monthly register reads (a day's freezes, a backfill), Serve runs once
// they have stopped coming for Options.Quiet. It never blocks.
func (a *Analyzer) Notify(reads []meter.Read) {
	for i := range reads {
		if r := &reads[i]; r.Status == meter.OK && (r.Class == meter.Daily || r.Class == meter.Monthly) {
			select {
			case a.arrived <- struct{}{}:
			default:
			}
			return
		}
	}
}

// Serve runs the analysis at start, every day Options.Complete after
// midnight (once the night's freezes are in), Options.Quiet after daily
// reads stop arriving (Notify), every interval after a run (late reads)
// and whenever trigger receives, until ctx ends.
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
		var first, due time.Time // of the reads told of since the run
	wait:
		for {
			now := clk.Now()
			d := min(a.nextComplete(now).Sub(now), every)
			if !due.IsZero() {
				d = min(d, max(due.Sub(now), 0))
			}
			select {
			case <-ctx.Done():
				return
			case <-clk.After(d):
				break wait
			case <-trigger:
				break wait
			case <-a.arrived:
				now = clk.Now()
				if first.IsZero() {
					first = now
				}
				due = now.Add(a.opts.Quiet)
				if limit := first.Add(10 * a.opts.Quiet); due.After(limit) {
					due = limit
				}
			}
		}
	}
}

// nextComplete is the first time after now that a day's reads are
// complete: Options.Complete after a midnight.
func (a *Analyzer) nextComplete(now time.Time) time.Time {
	n := now.In(a.opts.Location)
	next := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, a.opts.Location).Add(a.opts.Complete)
	if !next.After(n) {
		next = time.Date(n.Year(), n.Month(), n.Day()+1, 0, 0, 0, 0, a.opts.Location).Add(a.opts.Complete)
	}
	return next
}
