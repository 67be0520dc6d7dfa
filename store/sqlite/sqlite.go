package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// Options configure a Store.
type Options struct {
	Retention store.Retention
	Now       func() time.Time // the clock retention counts from; nil: time.Now
	Location  *time.Location   // where days begin, for aggregates; nil: time.Local
	// SyncFull makes every commit wait for the disk (synchronous=FULL), so
	// that a Write that returned survives a power cut, at the cost of one
	// fsync per Write. The default, synchronous=NORMAL, survives a crash
	// of the process or of SQLite; see the package documentation.
	SyncFull bool
}

// Store is a store.Store and a store.Downsampler in one SQLite file. It is
// safe for concurrent use: writes (Write, Downsample, Prune) go one at a
// time through a single connection, queries run beside them.
type Store struct {
	path string
	ret  store.Retention
	now  func() time.Time
	loc  *time.Location
	w    *sql.DB // one connection: the only writer
	r    *sql.DB // readers

	insN, ins1 *sql.Stmt // inserts of insertRows reads and of one
	ids        seriesIDs

	closeOnce sync.Once
	closeErr  error
}

// schemaVersion is PRAGMA user_version of a file with this schema.
const schemaVersion = 3

// seriesSchema and readsSchema are the tables of the reads; see the
// package documentation.
const (
	seriesSchema = `
CREATE TABLE series (
	id       INTEGER PRIMARY KEY,
	meter    TEXT    NOT NULL,
	class    TEXT    NOT NULL,
	quantity TEXT    NOT NULL,
	area     TEXT    NOT NULL,
	channel  TEXT    NOT NULL,
	di       INTEGER NOT NULL,
	edition  INTEGER NOT NULL,
	unit     TEXT    NOT NULL,
	UNIQUE (meter, class, quantity, area, channel, di, edition, unit)
);
CREATE INDEX series_area ON series (area, class);
`
	readsSchema = `
CREATE TABLE reads (
	series INTEGER NOT NULL,
	t      INTEGER NOT NULL,
	units  INTEGER NOT NULL,
	scale  INTEGER NOT NULL,
	text   TEXT    NOT NULL,
	status         NOT NULL,
	err    TEXT,
	mt     INTEGER,
	ra,
	tries  INTEGER NOT NULL,
	frame  INTEGER,
	PRIMARY KEY (series, t)
) WITHOUT ROWID;
`
)

const schema = seriesSchema + readsSchema + framesSchema + pointsView + `
CREATE TABLE aggregates (
	meter       TEXT    NOT NULL,
	class       TEXT    NOT NULL,
	quantity    TEXT    NOT NULL,
	day         INTEGER NOT NULL,
	area        TEXT    NOT NULL,
	unit        TEXT    NOT NULL,
	count       INTEGER NOT NULL,
	min_units   INTEGER NOT NULL, min_scale   INTEGER NOT NULL,
	max_units   INTEGER NOT NULL, max_scale   INTEGER NOT NULL,
	first_units INTEGER NOT NULL, first_scale INTEGER NOT NULL,
	last_units  INTEGER NOT NULL, last_scale  INTEGER NOT NULL,
	sum_units   INTEGER NOT NULL, sum_scale   INTEGER NOT NULL,
	PRIMARY KEY (meter, class, quantity, day)
) WITHOUT ROWID;
CREATE INDEX aggregates_area ON aggregates (area, class, day);
CREATE INDEX aggregates_day ON aggregates (day);
`

// readers is the number of connections queries share.
const readers = 4

// Open opens the store in the file at path, creating it if need be.
func Open(path string, opts Options) (*Store, error) {
	s := &Store{path: path, ret: opts.Retention, now: opts.Now, loc: opts.Location}
	if s.now == nil {
		s.now = time.Now
	}
	if s.loc == nil {
		s.loc = time.Local
	}
	if path == "" || strings.ContainsRune(path, '?') || strings.HasPrefix(path, "file:") || path == ":memory:" {
		return nil, s.errorf("open", errors.New("want the path of a file, without '?'"))
	}
	syncMode := "NORMAL"
	if opts.SyncFull {
		syncMode = "FULL"
	}
	var err error
	s.w, err = sql.Open("sqlite", dsn(path, "_txlock=immediate", // BEGIN takes the write lock at once
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous("+syncMode+")",
		"_pragma=cache_size(-32768)",           // 32 MiB of pages
		"_pragma=wal_autocheckpoint(16384)",    // checkpoint at 64 MiB of log, not 4
		"_pragma=journal_size_limit(67108864)", // and truncate it back to 64 MiB
	))
	if err != nil {
		return nil, s.errorf("open", err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if err := s.init(); err != nil {
		s.w.Close()
		return nil, s.errorf("open", err)
	}
	s.r, err = sql.Open("sqlite", dsn(path, "_pragma=query_only(1)", "_pragma=cache_size(-16384)"))
	if err != nil {
		s.w.Close()
		return nil, s.errorf("open", err)
	}
	s.r.SetMaxOpenConns(readers)
	s.r.SetMaxIdleConns(readers)
	return s, nil
}

// dsn returns the data source name of the file at path with the settings
// every connection has and params.
func dsn(path string, params ...string) string {
	return path + "?" + strings.Join(append([]string{
		"_pragma=busy_timeout(10000)",
		"_pragma=temp_store(memory)", // sorts and statement journals
	}, params...), "&")
}

// init creates the schema of a new file, checks that of an old one and
// prepares the inserts.
func (s *Store) init() error {
	ctx := context.Background()
	var v int
	if err := s.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	switch v {
	case 0:
		if _, err := s.w.ExecContext(ctx, "BEGIN IMMEDIATE;"+schema+fmt.Sprintf("PRAGMA user_version = %d; COMMIT", schemaVersion)); err != nil {
			s.w.ExecContext(ctx, "ROLLBACK")
			return fmt.Errorf("create schema: %w", err)
		}
	case 1, 2:
		if v == 1 {
			if err := migrate1(ctx, s.w); err != nil {
				return fmt.Errorf("schema version 1 to 2: %w", err)
			}
		}
		if err := migrate2(ctx, s.w); err != nil {
			return fmt.Errorf("schema version 2 to %d: %w", schemaVersion, err)
		}
	case schemaVersion:
	default:
		return fmt.Errorf("schema version %d, want %d", v, schemaVersion)
	}
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal_mode %s, want wal", mode)
	}
	var err error
	if s.insN, err = s.w.PrepareContext(ctx, insertSQL(insertRows)); err != nil {
		return err
	}
	if s.ins1, err = s.w.PrepareContext(ctx, insertSQL(1)); err != nil {
		return err
	}
	return s.ids.prepare(ctx, s.w)
}

// Close closes the store. A Store is closed once; Close again returns the
// result of the first.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		err := errors.Join(s.insN.Close(), s.ins1.Close(), s.ids.close(), s.r.Close(), s.w.Close())
		if err != nil {
			s.closeErr = s.errorf("close", err)
		}
	})
	return s.closeErr
}

func (s *Store) errorf(op string, err error) error {
	return fmt.Errorf("store/sqlite %s: %s: %w", s.path, op, err)
}

// Registers classes, as SQL.
const registersSQL = "('" + string(meter.Daily) + "', '" + string(meter.Monthly) + "')"

// cutoff returns the stored time below which rows kept for d are past
// retention at now, or math.MinInt64 if d is 0 (forever).
func cutoff(d time.Duration, now time.Time) int64 {
	if d <= 0 {
		return math.MinInt64
	}
	return nanos(now.Add(-d))
}

// nanos returns t in Unix nanoseconds, clamped to the int64 range.
func nanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// inRange reports whether t can be stored in Unix nanoseconds.
func inRange(t time.Time) bool { return !t.Before(minTime) && !t.After(maxTime) }
