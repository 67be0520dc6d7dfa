// Package store keeps what the collector reads: register reads, interval
// data and instantaneous values, each as a read.Read with its quality of
// collection, queried by meter, area, quantity and time. It is a small
// interface with two backends: an embedded one (the default, no server)
// and InfluxDB for production; the collector, VEE, analytics and the API
// use only this interface.
package store

import (
	"context"
	"time"

	"github.com/headend/headend/collector/read"
)

// Store keeps reads.
type Store interface {
	// Write stores reads. It is idempotent: a read with the same Key as
	// one already stored replaces it (a re-read or a backfill of the same
	// meter, quantity and time writes the same point, not a second one).
	// Reads whose Status is not OK are stored too: a failed read is a
	// fact the collection rate and VEE need.
	Write(ctx context.Context, reads []read.Read) error
	// Query returns the stored reads that match q, ordered by time.
	Query(ctx context.Context, q Query) ([]read.Read, error)
	// Close flushes and releases the store.
	Close() error
}

// Query selects reads. Zero fields match everything.
type Query struct {
	Meters   []string
	Area     string
	Class    read.Class
	Quantity string
	From, To time.Time // on Time(r): [From, To)
	Limit    int
}

// Key identifies a stored point: one meter, one quantity of one class at
// one time. Keys compare with ==: KeyOf puts the time in UTC, so that the
// same instant read back in another zone gives the same key.
type Key struct {
	Meter    string
	Class    read.Class
	Quantity string
	Time     time.Time
}

// KeyOf returns the key of a read.
func KeyOf(r *read.Read) Key {
	return Key{Meter: r.Meter, Class: r.Class, Quantity: r.Quantity, Time: Time(r).UTC()}
}

// Time is the time a read is stored at: the meter's own stamp (a freeze,
// a load-profile record) when it has one, else when it was read.
func Time(r *read.Read) time.Time {
	if !r.MeterTime.IsZero() {
		return r.MeterTime
	}
	return r.ReadAt
}
