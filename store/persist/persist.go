// Package persist is where accepted reads go on their way to the store:
// each batch the collector hands over is appended to the durable outbox
// (store/outbox) before the collector goes on, and the outbox delivers it
// to the store.Store in order, acknowledging it only when the store
// confirmed it.
//
// When the outbox is at its bound (the database has been away or slow for
// long), Accept does not drop the batch: it blocks, and with it the bus
// that read the batch, until the store has caught up. Polling slows down
// instead of losing reads, and the meters keep what is not polled now in
// their freeze and load-profile memory, which backfill reads later. The
// episode is logged when it starts and when it ends, and shows in Status.
package persist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/headend/headend/collector/read"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/outbox"
)

// Options adjust a Persister.
type Options struct {
	Logger *slog.Logger // nil: discard
	// Retry is how long Accept waits between tries while the outbox is
	// full; default 1s.
	Retry time.Duration
	// Wait waits d or until ctx ends (tests make it return at once);
	// nil: a timer.
	Wait func(ctx context.Context, d time.Duration) error
	// Now is the clock of Status' times; nil: time.Now.
	Now func() time.Time
}

// Persister takes batches of reads into the outbox and runs its delivery.
type Persister struct {
	ctx  context.Context
	ob   *outbox.Outbox
	st   *recorder
	opts Options
	log  *slog.Logger

	mu        sync.Mutex
	fullSince time.Time // zero while not full
	lastErr   string    // the last error of Append
	lost      int64     // reads given up at shutdown while full
	blocked   atomic.Int64
	accepted  atomic.Int64
	rejected  atomic.Int64
}

// New returns a Persister that appends to ob and delivers to s. ctx bounds
// how long Accept blocks while the outbox is full: once it ends, Accept
// gives up on the batch it holds (logged and counted in Status.Lost).
func New(ctx context.Context, ob *outbox.Outbox, s store.Store, opts Options) *Persister {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Retry <= 0 {
		opts.Retry = time.Second
	}
	if opts.Wait == nil {
		opts.Wait = wait
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Persister{ctx: ctx, ob: ob, st: &recorder{Store: s, now: opts.Now}, opts: opts, log: opts.Logger}
}

func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Run delivers the outbox to the store until ctx ends.
func (p *Persister) Run(ctx context.Context) error {
	return p.ob.Run(ctx, p.st)
}

// Accept appends a batch of reads to the outbox; when it returns, the
// batch is durable (or, once the Persister's context ended while the
// outbox was full, given up and counted). It is the collector's sink:
// while the outbox is full it blocks the bus that called it.
func (p *Persister) Accept(reads []read.Read) {
	reads = p.checked(reads)
	if len(reads) == 0 {
		return
	}
	for attempt := 0; ; attempt++ {
		err := p.ob.Append(reads)
		if err == nil {
			p.accepted.Add(int64(len(reads)))
			p.mu.Lock()
			p.lastErr = ""
			p.mu.Unlock()
			if attempt > 0 {
				p.endFull()
			}
			return
		}
		p.mu.Lock()
		p.lastErr = err.Error()
		p.mu.Unlock()
		if !errors.Is(err, outbox.ErrFull) {
			// a disk failure or a batch too large: nothing can take it
			p.log.Error("outbox refused a batch of reads", "meter", reads[0].Meter, "reads", len(reads), "err", err)
			p.giveUp(reads)
			return
		}
		if attempt == 0 {
			p.beginFull()
		}
		p.blocked.Add(1)
		if p.opts.Wait(p.ctx, p.opts.Retry) != nil {
			p.log.Warn("stopping with the outbox full: reads not accepted (the meters keep them; backfill reads them again)", "meter", reads[0].Meter, "reads", len(reads))
			p.giveUp(reads)
			return
		}
	}
}

// checked drops, logs and counts the reads no store can take (see
// store.Check), which would otherwise stop the outbox's delivery at their
// batch for good. The log line keeps their frames.
func (p *Persister) checked(reads []read.Read) []read.Read {
	bad := 0
	for i := range reads {
		if store.Check(&reads[i]) != nil {
			bad++
		}
	}
	if bad == 0 {
		return reads
	}
	keep := make([]read.Read, 0, len(reads)-bad)
	for i := range reads {
		r := &reads[i]
		if err := store.Check(r); err != nil {
			p.log.Error("a read no store can take: not stored", "meter", r.Meter, "class", r.Class, "di", r.DI.String(),
				"status", r.Status, "reason", err, "request", fmt.Sprintf("% X", r.Frame.Request), "replies", len(r.Frame.Reply))
			continue
		}
		keep = append(keep, *r)
	}
	p.rejected.Add(int64(bad))
	return keep
}

func (p *Persister) giveUp(reads []read.Read) {
	p.mu.Lock()
	p.lost += int64(len(reads))
	p.mu.Unlock()
}

func (p *Persister) beginFull() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fullSince.IsZero() {
		p.fullSince = p.opts.Now()
		batches, bytes := p.ob.Backlog()
		p.log.Warn("outbox full: polling slows until the store catches up; nothing is dropped",
			"backlog_batches", batches, "backlog_bytes", bytes, "store_error", p.st.last())
	}
}

func (p *Persister) endFull() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.fullSince.IsZero() {
		p.log.Info("outbox has room again: polling resumes", "full_for", p.opts.Now().Sub(p.fullSince).String())
		p.fullSince = time.Time{}
	}
}

// Status is the outbox's and the store's health.
type Status struct {
	BacklogBatches int64     `json:"backlog_batches"` // batches not yet confirmed by the store
	BacklogBytes   int64     `json:"backlog_bytes"`
	Accepted       int64     `json:"accepted_reads"`    // reads appended since start
	Delivered      int64     `json:"delivered_batches"` // batches the store confirmed since start
	Retries        int64     `json:"store_retries"`     // store writes that failed and were retried
	Full           bool      `json:"full"`              // polling is held back now
	FullSince      time.Time `json:"full_since,omitzero"`
	Blocked        int64     `json:"blocked_waits"`  // waits of a bus for room in the outbox
	Lost           int64     `json:"lost_reads"`     // reads given up at shutdown or refused by a failing disk
	Rejected       int64     `json:"rejected_reads"` // reads no store can take (store.Check), logged
	StoreError     string    `json:"store_error,omitempty"`
	StoreErrorAt   time.Time `json:"store_error_at,omitzero"`
	OutboxError    string    `json:"outbox_error,omitempty"`
}

// Status returns the health now.
func (p *Persister) Status() Status {
	batches, bytes := p.ob.Backlog()
	st := p.ob.Stats()
	s := Status{BacklogBatches: batches, BacklogBytes: bytes, Accepted: p.accepted.Load(),
		Delivered: st.Delivered, Retries: st.Retries, Blocked: p.blocked.Load(), Rejected: p.rejected.Load()}
	s.StoreError, s.StoreErrorAt = p.st.lastWithTime()
	p.mu.Lock()
	defer p.mu.Unlock()
	s.Full, s.FullSince, s.Lost, s.OutboxError = !p.fullSince.IsZero(), p.fullSince, p.lost, p.lastErr
	return s
}

// recorder is the store as the outbox sees it, remembering the last
// write error for Status.
type recorder struct {
	store.Store
	now func() time.Time
	mu  sync.Mutex
	err string
	at  time.Time
}

func (r *recorder) Write(ctx context.Context, reads []read.Read) error {
	err := r.Store.Write(ctx, reads)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.err, r.at = err.Error(), r.now()
	} else {
		r.err = ""
	}
	return err
}

func (r *recorder) last() string {
	s, _ := r.lastWithTime()
	return s
}

func (r *recorder) lastWithTime() (string, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == "" {
		return "", time.Time{}
	}
	return r.err, r.at
}
