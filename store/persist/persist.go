// Package persist is where accepted reads go on their way to the store:
// each batch the collector hands over is appended to the durable outbox
// (store/outbox) before the collector goes on, and the outbox delivers it
// to the store.Store in order, acknowledging it only when the store
// confirmed it.
//
// When the outbox cannot take a batch, Accept does not drop it: it blocks,
// and with it the bus that read the batch, and tries again until the
// outbox takes it. That is so whatever the reason: the outbox at its bound
// (the database has been away or slow for long), its filesystem below the
// reserve, or a write that failed (a full disk, a quota, an I/O error).
// Polling slows down instead of losing reads, and the meters keep what is
// not polled now in their freeze and load-profile memory, which backfill
// reads later. The episode is logged when it starts and when it ends, and
// shows, with its reason, in Status. A batch too large for the outbox is
// split. Only at shutdown (the Persister's context ended) is a batch
// given up, and counted.
package persist

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
	"github.com/headend/headend/store/outbox"
)

// Options adjust a Persister.
type Options struct {
	Logger *slog.Logger // nil: discard
	// Retry is how long Accept waits between tries while the outbox
	// cannot take a batch; default 1s.
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
	reason    string    // why the outbox cannot take batches now (see Reason)
	lastErr   string    // the last error of Append
	lost      int64     // reads given up at shutdown while full
	blockedBy map[string]int64
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
// outbox could not take it, given up and counted). It is the collector's
// sink: while the outbox cannot take the batch, for whatever reason, it
// blocks the bus that called it and tries again every Options.Retry.
func (p *Persister) Accept(reads []meter.Read) {
	reads = p.checked(reads)
	if len(reads) == 0 {
		return
	}
	p.accept(reads)
}

func (p *Persister) accept(reads []meter.Read) {
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
		switch {
		case errors.Is(err, outbox.ErrTooLarge) && len(reads) > 1:
			h := len(reads) / 2
			p.accept(reads[:h])
			p.accept(reads[h:])
			return
		case errors.Is(err, outbox.ErrTooLarge):
			p.log.Error("a read larger than the outbox can hold: not stored", "meter", reads[0].Meter, "class", reads[0].Class,
				"di", reads[0].DI.String(), "err", err)
			p.giveUp(reads)
			return
		case errors.Is(err, outbox.ErrClosed):
			p.log.Warn("outbox closed: reads not accepted (the meters keep them; backfill reads them again)", "meter", reads[0].Meter, "reads", len(reads))
			p.giveUp(reads)
			return
		}
		reason := Reason(err)
		p.beginFull(reason, err)
		if p.opts.Wait(p.ctx, p.opts.Retry) != nil {
			p.log.Warn("stopping while the outbox cannot take reads: reads not accepted (the meters keep them; backfill reads them again)",
				"reason", reason, "meter", reads[0].Meter, "reads", len(reads))
			p.giveUp(reads)
			return
		}
	}
}

// Reason names why the outbox refused a batch, for Status, /readyz and
// metrics: "outbox full" (at its bound), "low disk" (its filesystem below
// the reserve), "disk full", "disk quota", "read-only filesystem", "disk
// I/O error", "disk failure" (a failure that lasts until the outbox is
// reopened), or "outbox error".
func Reason(err error) string {
	switch {
	case errors.Is(err, outbox.ErrFull):
		return "outbox full"
	case errors.Is(err, outbox.ErrLowDisk):
		return "low disk"
	case errors.Is(err, syscall.ENOSPC):
		return "disk full"
	case errors.Is(err, syscall.EDQUOT):
		return "disk quota"
	case errors.Is(err, syscall.EROFS):
		return "read-only filesystem"
	case errors.Is(err, syscall.EIO):
		return "disk I/O error"
	case strings.Contains(err.Error(), "reopen to continue"):
		return "disk failure"
	}
	return "outbox error"
}

// checked drops, logs and counts the reads no store can take (see
// store.Check), which would otherwise stop the outbox's delivery at their
// batch for good. The log line keeps their frames.
func (p *Persister) checked(reads []meter.Read) []meter.Read {
	bad := 0
	for i := range reads {
		if store.Check(&reads[i]) != nil {
			bad++
		}
	}
	if bad == 0 {
		return reads
	}
	keep := make([]meter.Read, 0, len(reads)-bad)
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

func (p *Persister) giveUp(reads []meter.Read) {
	p.mu.Lock()
	p.lost += int64(len(reads))
	p.mu.Unlock()
}

// beginFull records a refused Append, logging the episode's start once.
func (p *Persister) beginFull(reason string, err error) {
	p.blocked.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastErr, p.reason = err.Error(), reason
	if p.blockedBy == nil {
		p.blockedBy = map[string]int64{}
	}
	p.blockedBy[reason]++
	if p.fullSince.IsZero() {
		p.fullSince = p.opts.Now()
		batches, bytes := p.ob.Backlog()
		p.log.Warn("outbox cannot take reads: polling is held back until it can; nothing is dropped",
			"reason", reason, "err", err, "backlog_batches", batches, "backlog_bytes", bytes, "store_error", p.st.last())
	}
}

func (p *Persister) endFull() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.fullSince.IsZero() {
		p.log.Info("outbox takes reads again: polling resumes", "reason", p.reason, "held_for", p.opts.Now().Sub(p.fullSince).String(),
			"blocked_waits", p.blocked.Load())
		p.fullSince, p.reason = time.Time{}, ""
	}
}

// Status is the outbox's and the store's health.
type Status struct {
	BacklogBatches int64            `json:"backlog_batches"` // batches not yet confirmed by the store
	BacklogBytes   int64            `json:"backlog_bytes"`
	Accepted       int64            `json:"accepted_reads"`    // reads appended since start
	Delivered      int64            `json:"delivered_batches"` // batches the store confirmed since start
	Retries        int64            `json:"store_retries"`     // store writes that failed and were retried
	Full           bool             `json:"full"`              // polling is held back now: the outbox cannot take reads
	FullSince      time.Time        `json:"full_since,omitzero"`
	FullReason     string           `json:"full_reason,omitempty"` // why (see Reason)
	Blocked        int64            `json:"blocked_waits"`         // waits of a bus for the outbox to take a batch
	BlockedBy      map[string]int64 `json:"blocked_waits_by_reason,omitempty"`
	Reserve        int64            `json:"outbox_reserve_bytes,omitempty"` // free space kept on the outbox's filesystem
	Lost           int64            `json:"lost_reads"`                     // reads given up at shutdown or refused by a failing disk
	Rejected       int64            `json:"rejected_reads"`                 // reads no store can take (store.Check), logged
	StoreError     string           `json:"store_error,omitempty"`
	StoreErrorAt   time.Time        `json:"store_error_at,omitzero"`
	OutboxError    string           `json:"outbox_error,omitempty"`
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
	s.Full, s.FullSince, s.FullReason, s.Lost, s.OutboxError = !p.fullSince.IsZero(), p.fullSince, p.reason, p.lost, p.lastErr
	s.Reserve = p.ob.Reserve()
	if len(p.blockedBy) > 0 {
		s.BlockedBy = make(map[string]int64, len(p.blockedBy))
		for k, v := range p.blockedBy {
			s.BlockedBy[k] = v
		}
	}
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

func (r *recorder) Write(ctx context.Context, reads []meter.Read) error {
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
