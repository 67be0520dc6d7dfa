// Package results is the embedded store of derived records (validated
// values, loss figures, flags, rankings, corrections, scans, work-list
// entries, archive changes) and the one place of their schema: each kind
// family's kind, key and body in a file of its own (values.go, loss.go,
// flags.go, corrections.go, scans.go, inspections.go, archive.go). The
// Store is a store.Results in one SQLite file, every version kept, with
// the change feed billing pulls from; it sits beside whichever store keeps
// the raw reads.
package results

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
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
	hash      INTEGER NOT NULL,
	body      BLOB    NOT NULL,
	PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX current_time ON current (kind, t);
CREATE INDEX current_area ON current (kind, area, t);
CREATE INDEX current_meter ON current (kind, meter, t);
CREATE INDEX versions_kind ON versions (kind, seq);
`

const schemaVersion = 2

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

var _ store.ConditionalResults = (*Store)(nil)

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
	return s.write(ctx, recs, nil, nil)
}

// PutIf implements store.ConditionalResults.
func (s *Store) PutIf(ctx context.Context, rec store.Record, version int) ([]store.Record, error) {
	return s.write(ctx, []store.Record{rec}, nil, &version)
}

// Sync implements store.Results.
func (s *Store) Sync(ctx context.Context, kind, area string, from, to time.Time, recs []store.Record) ([]store.Record, error) {
	for i := range recs {
		if recs[i].Kind != kind {
			return nil, s.errorf("sync "+kind, fmt.Errorf("record %d is of kind %q", i, recs[i].Kind))
		}
	}
	return s.write(ctx, recs, &span{kind: kind, area: area, from: from, to: to}, nil)
}

type span struct {
	kind, area string
	from, to   time.Time
}

// write stores recs (and, for a Sync, the retractions of sp); with expect,
// only if the one record's current version is *expect.
func (s *Store) write(ctx context.Context, recs []store.Record, sp *span, expect *int) (out []store.Record, err error) {
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
	held, err := s.held(ctx, tx, recs)
	if err != nil {
		return nil, s.errorf("put", err)
	}
	if expect != nil {
		if err := conflict(recs[0], held, *expect); err != nil {
			return nil, s.errorf("put", err)
		}
	}
	now := s.now()
	seen := make(map[string]bool, len(recs))
	var pending []store.Record
	// add queues r as the next version of its record unless it says what
	// the current version says
	add := func(r store.Record) {
		h := hashOf(r.Body, r.Retracted)
		cur, ok := held[ck{r.Kind, r.Key}]
		switch {
		case !ok && r.Retracted:
			return // nothing to retract
		case ok && cur.hash == h:
			return
		case ok && r.Retracted && cur.retracted:
			return
		}
		r.Version, r.Stored = cur.version+1, now
		held[ck{r.Kind, r.Key}] = current{version: r.Version, retracted: r.Retracted, hash: h}
		pending = append(pending, r)
	}
	for _, r := range recs {
		seen[r.Key] = true
		add(r)
	}
	if sp != nil {
		gone, err := s.absent(ctx, tx, sp, seen, held)
		if err != nil {
			return nil, s.errorf("sync "+sp.kind, err)
		}
		for _, r := range gone {
			add(r)
		}
	}
	if err := s.insert(ctx, tx, pending); err != nil {
		return nil, s.errorf("put", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, s.errorf("put", err)
	}
	return pending, nil
}

type ck struct{ kind, key string }

// conflict reports a wrapped store.ErrConflict unless r's current version
// in held is version (0: none).
func conflict(r store.Record, held map[ck]current, version int) error {
	if cur := held[ck{r.Kind, r.Key}].version; cur != version {
		return fmt.Errorf("%s %s: version %d, want %d: %w", r.Kind, r.Key, cur, version, store.ErrConflict)
	}
	return nil
}

type current struct {
	version   int
	retracted bool
	hash      int64
}

// hashOf is what tells two versions apart: the body and the retraction.
func hashOf(body []byte, retracted bool) int64 {
	h := sha256.Sum256(body)
	v := int64(binary.BigEndian.Uint64(h[:8]) >> 1)
	if retracted {
		v = -v - 1
	}
	return v
}

// held returns the current version of the records recs name, looked up
// by key a few hundred at a time.
func (s *Store) held(ctx context.Context, tx *sql.Tx, recs []store.Record) (map[ck]current, error) {
	out := make(map[ck]current, len(recs))
	byKind := map[string][]any{}
	for _, r := range recs {
		byKind[r.Kind] = append(byKind[r.Kind], r.Key)
	}
	const batch = 500
	for kind, keys := range byKind {
		for len(keys) > 0 {
			n := min(len(keys), batch)
			q := "SELECT key, version, retracted, hash FROM current WHERE kind = ? AND key IN (?" + strings.Repeat(",?", n-1) + ")"
			rows, err := tx.QueryContext(ctx, q, append([]any{kind}, keys[:n]...)...)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var key string
				var c current
				var retr int
				if err := rows.Scan(&key, &c.version, &retr, &c.hash); err != nil {
					rows.Close()
					return nil, err
				}
				c.retracted = retr == 1
				out[ck{kind, key}] = c
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
			keys = keys[n:]
		}
	}
	return out, nil
}

// absent returns retractions of the current records in sp that seen
// does not hold.
func (s *Store) absent(ctx context.Context, tx *sql.Tx, sp *span, seen map[string]bool, held map[ck]current) ([]store.Record, error) {
	q := "SELECT key, area, meter, t, body, version, hash FROM current WHERE kind = ? AND retracted = 0 AND t >= ? AND t < ?"
	args := []any{sp.kind, sp.from.UnixNano(), sp.to.UnixNano()}
	if sp.area != "" {
		q += " AND area = ?"
		args = append(args, sp.area)
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var gone []store.Record
	for rows.Next() {
		var r store.Record
		var t int64
		var c current
		if err := rows.Scan(&r.Key, &r.Area, &r.Meter, &t, &r.Body, &c.version, &c.hash); err != nil {
			return nil, err
		}
		if !seen[r.Key] {
			held[ck{sp.kind, r.Key}] = c
			r.Kind, r.Time, r.Retracted = sp.kind, time.Unix(0, t), true
			gone = append(gone, r)
		}
	}
	return gone, rows.Err()
}

// insertRows is how many versions one INSERT statement carries.
const insertRows = 200

const (
	insertVersion = "INSERT INTO versions (kind, key, version, area, meter, t, stored, retracted, body) VALUES "
	insertCurrent = "INSERT INTO current (kind, key, seq, version, area, meter, t, retracted, hash, body) VALUES "
	upsertCurrent = ` ON CONFLICT (kind, key) DO UPDATE SET seq = excluded.seq, version = excluded.version, area = excluded.area,
		meter = excluded.meter, t = excluded.t, retracted = excluded.retracted, hash = excluded.hash, body = excluded.body`
)

func rowsSQL(head, row string, n int, tail string) string {
	return head + row + strings.Repeat(","+row, n-1) + tail
}

// insert stores the versions, giving each its Seq: the rows of one
// INSERT get consecutive rowids, the last of which LastInsertId returns.
func (s *Store) insert(ctx context.Context, tx *sql.Tx, recs []store.Record) error {
	stmts := map[int][2]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st[0].Close()
			st[1].Close()
		}
	}()
	prepare := func(n int) ([2]*sql.Stmt, error) {
		if st, ok := stmts[n]; ok {
			return st, nil
		}
		v, err := tx.PrepareContext(ctx, rowsSQL(insertVersion, "(?,?,?,?,?,?,?,?,?)", n, ""))
		if err != nil {
			return [2]*sql.Stmt{}, err
		}
		c, err := tx.PrepareContext(ctx, rowsSQL(insertCurrent, "(?,?,?,?,?,?,?,?,?,?)", n, upsertCurrent))
		if err != nil {
			v.Close()
			return [2]*sql.Stmt{}, err
		}
		stmts[n] = [2]*sql.Stmt{v, c}
		return stmts[n], nil
	}
	args := make([]any, 0, 10*insertRows)
	for len(recs) > 0 {
		n := min(len(recs), insertRows)
		part := recs[:n]
		recs = recs[n:]
		st, err := prepare(n)
		if err != nil {
			return err
		}
		args = args[:0]
		for i := range part {
			r := &part[i]
			args = append(args, r.Kind, r.Key, r.Version, r.Area, r.Meter, r.Time.UnixNano(), r.Stored.UnixNano(), b2i(r.Retracted), []byte(r.Body))
		}
		res, err := st[0].ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		last, err := res.LastInsertId()
		if err != nil {
			return err
		}
		args = args[:0]
		for i := range part {
			r := &part[i]
			r.Seq = last - int64(n-1-i)
			args = append(args, r.Kind, r.Key, r.Seq, r.Version, r.Area, r.Meter, r.Time.UnixNano(), b2i(r.Retracted), hashOf(r.Body, r.Retracted), []byte(r.Body))
		}
		if _, err := st[1].ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
