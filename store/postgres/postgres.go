// Package postgres is the store.Results of several head-end nodes: the
// derived records (values, balances, flags, corrections, versions and
// billing's change feed) in one PostgreSQL database that every node puts
// into and reads from.
//
// Every write is one transaction that first takes a transaction-level
// advisory lock (the feed lock): writers, on any node, take their Seqs one
// after the other and commit in Seq order, so that a reader following
// Since never passes a Seq whose lower neighbour is still to commit. (A
// sequence alone would not do: two transactions take 5 and 6, 6 commits
// first, the reader's cursor moves to 6, and 5 is never seen.) Seqs of a
// transaction that rolled back are gaps that never fill.
//
// Open creates the tables (results_*) or migrates them, recording the
// schema's version in results_schema.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/headend/headend/store"
)

// The advisory lock keys (pg_advisory_xact_lock's one bigint): the feed
// lock every write takes, and the lock of the schema's creation and
// migration.
const (
	lockFeed    int64 = 0x6865_6164_7265_7301 // "headres" 1
	lockMigrate int64 = 0x6865_6164_7265_7302
)

// migrations[i] takes the schema from version i to i+1.
var migrations = []string{
	`CREATE SEQUENCE results_seq;
CREATE TABLE results_versions (
	seq       bigint  PRIMARY KEY,
	kind      text    COLLATE "C" NOT NULL,
	key       text    COLLATE "C" NOT NULL,
	version   integer NOT NULL,
	area      text    COLLATE "C" NOT NULL,
	meter     text    COLLATE "C" NOT NULL,
	t         bigint  NOT NULL,
	stored    bigint  NOT NULL,
	retracted boolean NOT NULL,
	body      bytea   NOT NULL,
	UNIQUE (kind, key, version)
);
CREATE INDEX results_versions_kind ON results_versions (kind, seq);
CREATE TABLE results_current (
	kind      text    COLLATE "C" NOT NULL,
	key       text    COLLATE "C" NOT NULL,
	seq       bigint  NOT NULL,
	version   integer NOT NULL,
	area      text    COLLATE "C" NOT NULL,
	meter     text    COLLATE "C" NOT NULL,
	t         bigint  NOT NULL,
	stored    bigint  NOT NULL,
	retracted boolean NOT NULL,
	hash      bigint  NOT NULL,
	body      bytea   NOT NULL,
	PRIMARY KEY (kind, key)
);
CREATE INDEX results_current_time ON results_current (kind, t);
CREATE INDEX results_current_area ON results_current (kind, area, t);
CREATE INDEX results_current_meter ON results_current (kind, meter, t);`,
}

// SchemaVersion is the version of the schema Open creates.
var SchemaVersion = len(migrations)

// Options configure a Store.
type Options struct {
	Now      func() time.Time // stamps Stored; nil: time.Now
	MaxConns int32            // connections of the pool; 0: pgxpool's default
}

// Store is a store.Results in a PostgreSQL database. It is safe for
// concurrent use, and so are several Stores, in one process or many, on
// one database.
type Store struct {
	desc string // host:port/database, for errors
	now  func() time.Time
	pool *pgxpool.Pool
}

var _ store.Results = (*Store)(nil)

// Open connects to the database dsn names (a postgres:// URL or
// key=value string, as libpq takes them) and creates or migrates its
// results tables.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("results (postgres): %w", err) // pgx leaves the password out
	}
	// A generic plan of the batch lookups (key = ANY($2), planned while
	// the tables were small) turned a 1 ms lookup of 500 keys into
	// 30-100 ms: plan each statement for its arguments.
	if _, ok := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	s := &Store{desc: fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database), now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, s.errorf("open", err)
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, s.errorf("open", err)
	}
	return s, nil
}

// String names the database: host:port/database.
func (s *Store) String() string { return s.desc }

func (s *Store) errorf(op string, err error) error {
	return fmt.Errorf("results (postgres %s): %s: %w", s.desc, op, err)
}

// migrate brings the schema to SchemaVersion, one node at a time.
func (s *Store) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockMigrate); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS results_schema (version integer NOT NULL)"); err != nil {
			return fmt.Errorf("schema version table: %w", err)
		}
		var v int
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM results_schema").Scan(&v); err != nil {
			return fmt.Errorf("schema version: %w", err)
		}
		if v > SchemaVersion {
			return fmt.Errorf("schema version %d is newer than this head-end's %d", v, SchemaVersion)
		}
		for ; v < SchemaVersion; v++ {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migrating the schema to version %d: %w", v+1, err)
			}
		}
		_, err := tx.Exec(ctx, "DELETE FROM results_schema; INSERT INTO results_schema VALUES ("+fmt.Sprint(v)+")")
		return err
	})
}

// Close closes the pool's connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// check reports what makes a record unstorable.
func check(r *store.Record) error {
	switch {
	case r.Kind == "":
		return errors.New("empty kind")
	case r.Key == "":
		return fmt.Errorf("%s: empty key", r.Kind)
	case len(r.Body) == 0 && !r.Retracted:
		return fmt.Errorf("%s %s: empty body", r.Kind, r.Key)
	}
	return nil
}
