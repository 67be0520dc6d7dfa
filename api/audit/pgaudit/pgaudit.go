// Package pgaudit is the audit log in PostgreSQL: an audit.Store that the
// nodes of a cluster share, each entry a row of audit_entries holding the
// entry's JSON line as the file log writes it.
//
// Append takes a transaction-level advisory lock, so that the entries of
// all nodes get one gapless sequence, in the order they were recorded.
// Open creates the table, or migrates it, recording the schema's version
// in audit_schema.
package pgaudit

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/headend/headend/api/audit"
)

const (
	lockAppend  int64 = 0x6865_6164_6175_6401 // "headaud" 1
	lockMigrate int64 = 0x6865_6164_6175_6402
)

// migrations[i] takes the schema from version i to i+1.
var migrations = []string{
	`CREATE TABLE audit_entries (
	seq    bigint PRIMARY KEY,
	t      bigint NOT NULL,
	action text   COLLATE "C" NOT NULL,
	who    text   COLLATE "C" NOT NULL,
	entry  text   NOT NULL
);
CREATE INDEX audit_entries_t ON audit_entries (t);`,
}

// SchemaVersion is the version of the schema Open creates.
var SchemaVersion = len(migrations)

// Store is an audit.Store in a PostgreSQL database.
type Store struct {
	desc string
	pool *pgxpool.Pool
}

var _ audit.Store = (*Store)(nil)

// Open connects to the database dsn names and creates or migrates its
// audit table.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("audit (postgres): %w", err) // pgx leaves the password out
	}
	cfg.MaxConns = 4
	s := &Store{desc: fmt.Sprintf("postgres %s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)}
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("audit (%s): %w", s.desc, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("audit (%s): %w", s.desc, err)
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockMigrate); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS audit_schema (version integer NOT NULL)"); err != nil {
			return fmt.Errorf("schema version table: %w", err)
		}
		var v int
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM audit_schema").Scan(&v); err != nil {
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
		_, err := tx.Exec(ctx, "DELETE FROM audit_schema; INSERT INTO audit_schema VALUES ("+fmt.Sprint(v)+")")
		return err
	})
}

// String says where the entries are: postgres host:port/database.
func (s *Store) String() string { return s.desc }

// Close closes the pool's connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Append implements audit.Store.
func (s *Store) Append(ctx context.Context, e audit.Entry, now func() time.Time) (audit.Entry, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockAppend); err != nil {
			return fmt.Errorf("append lock: %w", err)
		}
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(seq), 0) + 1 FROM audit_entries").Scan(&e.Seq); err != nil {
			return err
		}
		e.Time = now()
		line, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("entry %s %s: %w", e.Action, e.Target, err)
		}
		_, err = tx.Exec(ctx, "INSERT INTO audit_entries (seq, t, action, who, entry) VALUES ($1, $2, $3, $4, $5)",
			e.Seq, e.Time.UnixNano(), e.Action, e.Who, string(line))
		return err
	})
	return e, err
}

// Last implements audit.Store.
func (s *Store) Last(ctx context.Context) (int64, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, "SELECT coalesce(max(seq), 0) FROM audit_entries").Scan(&seq)
	return seq, err
}

// List implements audit.Store.
func (s *Store) List(ctx context.Context, f audit.Filter) ([]audit.Entry, error) {
	q := "SELECT seq, entry FROM audit_entries WHERE true"
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if !f.From.IsZero() {
		q += " AND t >= " + arg(f.From.UnixNano())
	}
	if !f.To.IsZero() {
		q += " AND t < " + arg(f.To.UnixNano())
	}
	if f.Action != "" {
		a := arg(f.Action)
		q += fmt.Sprintf(" AND (action = %s OR starts_with(action, %s || '.'))", a, a)
	}
	if f.Who != "" {
		q += " AND who = " + arg(f.Who)
	}
	q += " ORDER BY seq DESC"
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	var out []audit.Entry
	var seq int64
	var line string
	_, err = pgx.ForEachRow(rows, []any{&seq, &line}, func() error {
		e, err := audit.ParseLine([]byte(line))
		if err != nil {
			return fmt.Errorf("entry %d: %w", seq, err)
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Reverse(out)
	return out, nil
}
