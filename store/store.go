// Package store keeps what the collector reads: register reads, interval
// data and instantaneous values, each as a meter.Read with its quality of
// collection, queried by meter, area, quantity and time. It is a small
// interface with two backends: an embedded one (the default, no server)
// and InfluxDB for production; the collector, VEE, analytics and the API
// use only this interface.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// Store keeps reads.
type Store interface {
	// Write stores reads. It is idempotent: a read with the same Key as
	// one already stored replaces it (a re-read or a backfill of the same
	// meter, quantity and time writes the same point, not a second one).
	// Reads whose Status is not OK are stored too: a failed read is a
	// fact the collection rate and VEE need. NoData reads are thinned
	// first (see Thin): one is kept per transaction that gave nothing else.
	Write(ctx context.Context, reads []meter.Read) error
	// Query returns the stored reads that match q, ordered by time.
	Query(ctx context.Context, q Query) ([]meter.Read, error)
	// Close flushes and releases the store.
	Close() error
}

// Query selects reads. Zero fields match everything.
type Query struct {
	Meters   []string
	Area     string
	Class    meter.Class
	Quantity string
	From, To time.Time // on Time(r): [From, To)
	Limit    int
}

// Key identifies a stored point: one meter, one quantity of one class at
// one time. Keys compare with ==: KeyOf puts the time in UTC, so that the
// same instant read back in another zone gives the same key.
type Key = meter.Key

// KeyOf returns the key of a read.
func KeyOf(r *meter.Read) Key {
	return Key{Meter: r.Meter, Class: r.Class, Quantity: r.Quantity, Time: Time(r).UTC()}
}

// Time is the time a read is stored at: the meter's own stamp (a freeze,
// a load-profile record) when it has one, else when it was read.
func Time(r *meter.Read) time.Time {
	if !r.MeterTime.IsZero() {
		return r.MeterTime
	}
	return r.ReadAt
}

// Kind says which retention a read falls under.
type Kind int

// Retention kinds.
const (
	// Raw reads: interval (load-profile), instantaneous, clock and
	// on-demand reads. Kept for Retention.Raw, then downsampled.
	Raw Kind = iota
	// Registers: the daily freezes and monthly settlement reads that
	// billing and line loss are computed from, and the meters' and
	// terminals' events (the evidence of flags, kept as long as the
	// readings they explain). Kept for Retention.Registers.
	Registers
)

// KindOf returns the retention kind of a class.
func KindOf(c meter.Class) Kind {
	switch c {
	case meter.Daily, meter.Monthly, meter.Event:
		return Registers
	}
	return Raw
}

// Retention says how long each kind of data is kept, counted back from
// the store's clock. Zero keeps it forever. A backend applies it in its
// own way (InfluxDB: the retention of the bucket each kind is written to;
// the embedded store: rows past it are deleted), and Query never returns
// a read past it.
//
// A backend that deletes counts back from the store's clock, but never
// from later than the newest read of the kind it stores (see Horizon):
// a clock ahead of the data (old data served without following its
// clock, a host clock jumped forward) deletes nothing the data itself
// does not put past retention. And one pass deletes nothing at all when
// it would delete more than MaxShare of what is stored.
type Retention struct {
	Raw        time.Duration // interval, instantaneous, clock, on-demand reads (e.g. 90 days)
	Registers  time.Duration // daily and monthly register reads (e.g. 10 years, or 0)
	Aggregates time.Duration // the daily aggregates raw reads are downsampled into (e.g. 0)
	// MaxShare is the largest share of the stored reads (and of the
	// aggregates) one pass may delete; 0: DefaultMaxShare, 1 or more: no
	// bound.
	MaxShare float64
}

// DefaultMaxShare is the share of the store one retention pass may
// delete unless Retention.MaxShare says otherwise.
const DefaultMaxShare = 0.25

// Share returns MaxShare with its default.
func (r Retention) Share() float64 {
	if r.MaxShare <= 0 {
		return DefaultMaxShare
	}
	return r.MaxShare
}

// Horizon returns the time a retention pass counts back from: now, but
// not after newest, the newest stored read of the kind (zero: none).
func Horizon(now, newest time.Time) time.Time {
	if !newest.IsZero() && newest.Before(now) {
		return newest
	}
	return now
}

// Pruned is what one retention pass deleted, or would have deleted when
// it was refused (see ErrPruneRefused).
type Pruned struct {
	Reads, Aggregates             int64 // rows deleted (or that would have been)
	StoredReads, StoredAggregates int64 // rows before the pass
	// The cut-offs by kind: what is older went (zero: nothing of the kind
	// is deleted, kept forever or none stored).
	RawCutoff, RegistersCutoff, AggregatesCutoff time.Time
}

// ErrPruneRefused is matched by the error of a retention pass that would
// have deleted more than Retention.MaxShare of the store: it deleted
// nothing.
var ErrPruneRefused = errors.New("retention pass refused")

// Expired reports whether a read stored at t is past the retention of
// its class at now.
func (r Retention) Expired(c meter.Class, t, now time.Time) bool {
	d := r.Raw
	if KindOf(c) == Registers {
		d = r.Registers
	}
	return d > 0 && t.Before(now.Add(-d))
}

// Aggregate is the downsampled form of one meter's raw reads of one
// quantity over one day: what is kept of interval and instantaneous data
// once the raw reads are past their retention. Only reads with Status OK
// and a numeric value count. Min, Max, First and Last are exact; Sum is
// exact at the largest scale of the values summed, Mean = Sum / Count.
type Aggregate struct {
	Meter    string
	Area     string
	Class    meter.Class
	Quantity string
	Unit     string
	Day      time.Time // 00:00 of the day in the store's location
	Count    int
	Min, Max dlt645.Decimal
	First    dlt645.Decimal // the value at the earliest time of the day
	Last     dlt645.Decimal // the value at the latest time of the day
	Sum      dlt645.Decimal
}

// Downsampler is implemented by stores that keep daily aggregates of raw
// reads. Downsample computes and stores the aggregates of every day in
// [from, to) (days in the store's location) from the raw reads held; it
// is idempotent, so running it again over a day (after a late read or a
// backfill) replaces that day's aggregates. Aggregates returns them,
// selected by q as Query selects reads (Class, Quantity, Meters, Area,
// and From/To on Day).
type Downsampler interface {
	Downsample(ctx context.Context, from, to time.Time) error
	Aggregates(ctx context.Context, q Query) ([]Aggregate, error)
}

// The instants a nanosecond timestamp can hold, with a margin.
var (
	minTime = time.Date(1678, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2261, 12, 31, 0, 0, 0, 0, time.UTC)
)

// Check reports what makes a read unstorable: an empty Meter, an empty
// Quantity or a zero Time. Backends refuse a batch holding such a read;
// the collector's side checks first, so that one bad read cannot hold up
// the outbox's delivery.
func Check(r *meter.Read) error {
	switch {
	case r.Meter == "":
		return errors.New("empty meter")
	case r.Quantity == "":
		return errors.New("empty quantity")
	case Time(r).IsZero():
		return errors.New("no time (neither meter time nor read time)")
	case Time(r).Before(minTime) || Time(r).After(maxTime):
		return fmt.Errorf("time %s outside 1678..2261, which a time-series database cannot hold", Time(r).Format(time.RFC3339))
	}
	return nil
}
