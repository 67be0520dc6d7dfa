package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Results keeps what the head-end derives from reads: validated values,
// line-loss figures, anomaly flags, theft rankings, billing determinants.
// Each is a Record with a Kind and a Key. A Record is never overwritten:
// putting one whose Body differs from the current version's adds a new
// Version, and every version gets the next Seq, a cursor into one change
// feed, so that a billing system can ask for "everything since Seq n"
// and see each revision exactly once.
type Results interface {
	// Put stores records. One whose Body (and Retracted) equal the current
	// version's is left as it is; the others are stored as the next
	// version of their Kind and Key. It returns the records it stored,
	// with Version, Seq and Stored set.
	Put(ctx context.Context, recs []Record) ([]Record, error)
	// Sync makes the current records of a kind whose Time falls in
	// [from, to) (and whose Area is area, when area is not empty) equal
	// recs: it puts recs, and retracts the current records in that span
	// that recs do not hold (a flag that no longer holds). It returns the
	// records it stored.
	Sync(ctx context.Context, kind, area string, from, to time.Time, recs []Record) ([]Record, error)
	// Current returns the current version of each record q selects,
	// retracted ones left out, ordered by Time then Key.
	Current(ctx context.Context, q RecordQuery) ([]Record, error)
	// History returns every version of one record, oldest first.
	History(ctx context.Context, kind, key string) ([]Record, error)
	// Since returns the versions stored after cursor seq, in Seq order,
	// of the given kinds (all when none), at most limit (0: 1000).
	Since(ctx context.Context, seq int64, kinds []string, limit int) ([]Record, error)
	Close() error
}

// Record is one derived fact in one version.
type Record struct {
	Kind  string          `json:"kind"`            // "value", "loss", "flag", ...
	Key   string          `json:"key"`             // identifies it within its kind
	Area  string          `json:"area,omitempty"`  // the area it is about, if any
	Meter string          `json:"meter,omitempty"` // the meter it is about, if any
	Time  time.Time       `json:"time"`            // the instant, or the start of the period, it is about
	Body  json.RawMessage `json:"body"`
	// Retracted marks a version saying the record no longer holds.
	Retracted bool `json:"retracted,omitempty"`

	Version int       `json:"version"` // 1, 2, ... per Kind and Key; set by Put
	Seq     int64     `json:"seq"`     // position in the change feed; set by Put
	Stored  time.Time `json:"stored"`  // when it was stored; set by Put
}

// RecordQuery selects records. Zero fields match everything.
type RecordQuery struct {
	Kind     string
	Area     string
	Meter    string
	From, To time.Time // on Time: [From, To)
	Limit    int
}

// ErrConflict is the error (wrapped) of a conditional put that found
// another current version than the one it was given.
var ErrConflict = errors.New("the record's current version is not the one expected")

// ConditionalResults is a Results that can put a record only if its
// current version is a given one: what several nodes numbering or
// deciding the same records need instead of a lock of their own.
type ConditionalResults interface {
	Results
	// PutIf stores rec as the next version of its Kind and Key if the
	// current version (retracted or not) is version, 0 meaning there is
	// none; otherwise it stores nothing and returns an error wrapping
	// ErrConflict. Like Put it stores nothing when rec says what the
	// current version says, and returns what it stored.
	PutIf(ctx context.Context, rec Record, version int) ([]Record, error)
}
