// Package results is the embedded store of derived records (validated
// values, loss figures, flags, rankings, determinants): a store.Results in
// one SQLite file, every version kept, with the change feed billing pulls
// from. It sits beside whichever store keeps the raw reads.
package results

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"github.com/headend/headend/store"
)

const schema = `
CREATE TABLE versions (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	kind      TEXT    NOT NULL,
	key       TEXT    NOT NULL,
	version   INTEGER NOT NULL,
	area      TEXT    NOT NULL,
	meter     TEXT    NOT NULL,
	t         INTEGER NOT NULL,
	stored    INTEGER NOT NULL,
	retracted INTEGER NOT NULL,
	body      BLOB    NOT NULL,
	UNIQUE (kind, key, version)
);
CREATE TABLE current (
	kind      TEXT    NOT NULL,
	key       TEXT    NOT NULL,
	seq       INTEGER NOT NULL,
	version   INTEGER NOT NULL,
	area      TEXT    NOT NULL,
	meter     TEXT    NOT NULL,
	t         INTEGER NOT NULL,
	retracted INTEGER NOT NULL,
	body      BLOB    NOT NULL,
	PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX current_time ON current (kind, t);
CREATE INDEX current_area ON current (kind, area, t);
CREATE INDEX current_meter ON current (kind, meter, t);
CREATE INDEX versions_kind ON versions (kind, seq);
`

const schemaVersion = 1

// Options configure a Store.
type Options struct {
	Now func() time.Time // stamps Stored; nil: time.Now
	// SyncFull makes every commit wait for the disk.
	SyncFull bool
}

// Store is a store.Results in a SQLite file. It is safe for concurrent
// use: writes go one at a time through one connection.
type Store struct {
	path string
	now  func() time.Time
	w, r *sql.DB
	mu   sync.Mutex
}

var _ store.Results = (*Store)(nil)

// Open opens the file at path, creating it if need be.
func Open(path string, opts Options) (*Store, error) {
	if path == "" || strings.ContainsRune(path, '?') || path == ":memory:" {
		return nil, fmt.Errorf("results %q: want the path of a file, without '?'", path)
	}
	s := &Store{path: path, now: opts.Now}
	if s.now == nil {
		s.now = time.Now
	}
	sync := "NORMAL"
	if opts.SyncFull {
		sync = "FULL"
	}
	var err error
	if s.w, err = sql.Open("sqlite", dsn(path, "_txlock=immediate", "_pragma=journal_mode(WAL)", "_pragma=synchronous("+sync+")")); err != nil {
		return nil, s.errorf("open", err)
	}
	s.w.SetMaxOpenConns(1)
	if err := s.init(); err != nil {
		s.w.Close()
		return nil, s.errorf("open", err)
	}
	if s.r, err = sql.Open("sqlite", dsn(path, "_pragma=query_only(1)")); err != nil {
		s.w.Close()
		return nil, s.errorf("open", err)
	}
	s.r.SetMaxOpenConns(4)
	return s, nil
}

func dsn(path string, params ...string) string {
	return path + "?" + strings.Join(append([]string{"_pragma=busy_timeout(10000)"}, params...), "&")
}

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
	case schemaVersion:
	default:
		return fmt.Errorf("schema version %d, want %d", v, schemaVersion)
	}
	return nil
}

func (s *Store) errorf(op string, err error) error {
	return fmt.Errorf("results %s: %s: %w", s.path, op, err)
}

// Close closes the store.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
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

// Put implements store.Results.
func (s *Store) Put(ctx context.Context, recs []store.Record) ([]store.Record, error) {
	return s.write(ctx, recs, nil)
}

// Sync implements store.Results.
func (s *Store) Sync(ctx context.Context, kind, area string, from, to time.Time, recs []store.Record) ([]store.Record, error) {
	for i := range recs {
		if recs[i].Kind != kind {
			return nil, s.errorf("sync "+kind, fmt.Errorf("record %d is of kind %q", i, recs[i].Kind))
		}
	}
	return s.write(ctx, recs, &span{kind: kind, area: area, from: from, to: to})
}

type span struct {
	kind, area string
	from, to   time.Time
}

func (s *Store) write(ctx context.Context, recs []store.Record, sp *span) (out []store.Record, err error) {
	for i := range recs {
		if err := check(&recs[i]); err != nil {
			return nil, s.errorf("put", fmt.Errorf("record %d: %w", i, err))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.errorf("put", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	get, err := tx.PrepareContext(ctx, "SELECT version, retracted, body FROM current WHERE kind = ? AND key = ?")
	if err != nil {
		return nil, s.errorf("put", err)
	}
	defer get.Close()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO versions (kind, key, version, area, meter, t, stored, retracted, body) VALUES (?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return nil, s.errorf("put", err)
	}
	defer ins.Close()
	cur, err := tx.PrepareContext(ctx, `INSERT INTO current (kind, key, seq, version, area, meter, t, retracted, body) VALUES (?,?,?,?,?,?,?,?,?)
		ON CONFLICT (kind, key) DO UPDATE SET seq = excluded.seq, version = excluded.version, area = excluded.area,
		meter = excluded.meter, t = excluded.t, retracted = excluded.retracted, body = excluded.body`)
	if err != nil {
		return nil, s.errorf("put", err)
	}
	defer cur.Close()
	now := s.now()
	seen := map[string]bool{}
	put := func(r store.Record) error {
		var ver, retr int
		var body []byte
		switch err := get.QueryRowContext(ctx, r.Kind, r.Key).Scan(&ver, &retr, &body); {
		case errors.Is(err, sql.ErrNoRows):
			if r.Retracted {
				return nil // nothing to retract
			}
		case err != nil:
			return err
		default:
			if (retr == 1) == r.Retracted && (r.Retracted || bytes.Equal(body, r.Body)) {
				return nil
			}
		}
		if r.Retracted && r.Body == nil {
			r.Body = body
		}
		r.Version, r.Stored = ver+1, now
		res, err := ins.ExecContext(ctx, r.Kind, r.Key, r.Version, r.Area, r.Meter, r.Time.UnixNano(), now.UnixNano(), b2i(r.Retracted), []byte(r.Body))
		if err != nil {
			return err
		}
		if r.Seq, err = res.LastInsertId(); err != nil {
			return err
		}
		if _, err := cur.ExecContext(ctx, r.Kind, r.Key, r.Seq, r.Version, r.Area, r.Meter, r.Time.UnixNano(), b2i(r.Retracted), []byte(r.Body)); err != nil {
			return err
		}
		out = append(out, r)
		return nil
	}
	for _, r := range recs {
		seen[r.Key] = true
		if err := put(r); err != nil {
			return nil, s.errorf("put "+r.Kind+" "+r.Key, err)
		}
	}
	if sp != nil {
		q := "SELECT key, area, meter, t FROM current WHERE kind = ? AND retracted = 0 AND t >= ? AND t < ?"
		args := []any{sp.kind, sp.from.UnixNano(), sp.to.UnixNano()}
		if sp.area != "" {
			q += " AND area = ?"
			args = append(args, sp.area)
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, s.errorf("sync "+sp.kind, err)
		}
		var gone []store.Record
		for rows.Next() {
			var r store.Record
			var t int64
			if err := rows.Scan(&r.Key, &r.Area, &r.Meter, &t); err != nil {
				rows.Close()
				return nil, s.errorf("sync "+sp.kind, err)
			}
			if !seen[r.Key] {
				r.Kind, r.Time, r.Retracted = sp.kind, time.Unix(0, t), true
				gone = append(gone, r)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.errorf("sync "+sp.kind, err)
		}
		for _, r := range gone {
			if err := put(r); err != nil {
				return nil, s.errorf("retract "+r.Kind+" "+r.Key, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, s.errorf("put", err)
	}
	return out, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
