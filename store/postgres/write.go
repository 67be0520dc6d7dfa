package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/headend/headend/store"
)

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

type ck struct{ kind, key string }

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

// write stores recs (and, for a Sync, the retractions of sp) in one
// transaction under the feed lock; with expect, only if the one record's
// current version is *expect.
func (s *Store) write(ctx context.Context, recs []store.Record, sp *span, expect *int) ([]store.Record, error) {
	for i := range recs {
		if err := check(&recs[i]); err != nil {
			return nil, s.errorf("put", fmt.Errorf("record %d: %w", i, err))
		}
	}
	op := "put"
	if sp != nil {
		op = "sync " + sp.kind
	}
	var pending []store.Record
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		pending = nil // a retry starts afresh
		// The feed lock: Seqs are taken, and committed, one writer at a
		// time; and what is current is read after the last writer
		// committed.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockFeed); err != nil {
			return fmt.Errorf("feed lock: %w", err)
		}
		held, err := heldOf(ctx, tx, recs)
		if err != nil {
			return err
		}
		if expect != nil {
			r := recs[0]
			if cur := held[ck{r.Kind, r.Key}].version; cur != *expect {
				return fmt.Errorf("%s %s: version %d, want %d: %w", r.Kind, r.Key, cur, *expect, store.ErrConflict)
			}
		}
		now := s.now()
		seen := make(map[string]bool, len(recs))
		// add queues r as the next version of its record unless it says
		// what the current version says
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
			gone, err := absent(ctx, tx, sp, seen, held)
			if err != nil {
				return err
			}
			for _, r := range gone {
				add(r)
			}
		}
		if len(pending) == 0 {
			return nil
		}
		return insert(ctx, tx, pending)
	})
	if err != nil {
		return nil, s.errorf(op, err)
	}
	return pending, nil
}

// heldOf returns the current version of the records recs name.
func heldOf(ctx context.Context, tx pgx.Tx, recs []store.Record) (map[ck]current, error) {
	out := make(map[ck]current, len(recs))
	byKind := map[string][]string{}
	for _, r := range recs {
		byKind[r.Kind] = append(byKind[r.Kind], r.Key)
	}
	for kind, keys := range byKind {
		rows, err := tx.Query(ctx, "SELECT key, version, retracted, hash FROM results_current WHERE kind = $1 AND key = ANY($2)", kind, keys)
		if err != nil {
			return nil, fmt.Errorf("current versions: %w", err)
		}
		var key string
		var c current
		_, err = pgx.ForEachRow(rows, []any{&key, &c.version, &c.retracted, &c.hash}, func() error {
			out[ck{kind, key}] = c
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("current versions: %w", err)
		}
	}
	return out, nil
}

// absent returns retractions of the current records in sp that seen
// does not hold.
func absent(ctx context.Context, tx pgx.Tx, sp *span, seen map[string]bool, held map[ck]current) ([]store.Record, error) {
	q := "SELECT key, area, meter, t, body, version, hash FROM results_current WHERE kind = $1 AND NOT retracted AND t >= $2 AND t < $3"
	args := []any{sp.kind, sp.from.UnixNano(), sp.to.UnixNano()}
	if sp.area != "" {
		q += " AND area = $4"
		args = append(args, sp.area)
	}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("records in the span: %w", err)
	}
	var gone []store.Record
	var r store.Record
	var t int64
	var body []byte
	var c current
	_, err = pgx.ForEachRow(rows, []any{&r.Key, &r.Area, &r.Meter, &t, &body, &c.version, &c.hash}, func() error {
		if !seen[r.Key] {
			held[ck{sp.kind, r.Key}] = c
			g := r
			g.Kind, g.Time, g.Retracted = sp.kind, time.Unix(0, t), true
			g.Body = append([]byte{}, body...)
			gone = append(gone, g)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("records in the span: %w", err)
	}
	return gone, nil
}

const (
	insertVersions = `INSERT INTO results_versions (seq, kind, key, version, area, meter, t, stored, retracted, body)
	SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::boolean[], $10::bytea[])`
	upsertCurrent = `INSERT INTO results_current (seq, kind, key, version, area, meter, t, stored, retracted, body, hash)
	SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::boolean[], $10::bytea[], $11::bigint[])
	ON CONFLICT (kind, key) DO UPDATE SET seq = excluded.seq, version = excluded.version, area = excluded.area, meter = excluded.meter,
		t = excluded.t, stored = excluded.stored, retracted = excluded.retracted, body = excluded.body, hash = excluded.hash`
)

// columns are versions as the arrays of an unnest.
type columns struct {
	seq, t, stored, hash []int64
	kind, key, area, mtr []string
	version              []int32
	retracted            []bool
	body                 [][]byte
}

func (c *columns) add(r *store.Record) {
	c.seq = append(c.seq, r.Seq)
	c.kind = append(c.kind, r.Kind)
	c.key = append(c.key, r.Key)
	c.version = append(c.version, int32(r.Version))
	c.area = append(c.area, r.Area)
	c.mtr = append(c.mtr, r.Meter)
	c.t = append(c.t, r.Time.UnixNano())
	c.stored = append(c.stored, r.Stored.UnixNano())
	c.retracted = append(c.retracted, r.Retracted)
	body := []byte(r.Body)
	if body == nil {
		body = []byte{} // a retraction's empty body: NOT NULL
	}
	c.body = append(c.body, body)
	c.hash = append(c.hash, hashOf(r.Body, r.Retracted))
}

func (c *columns) args(withHash bool) []any {
	a := []any{c.seq, c.kind, c.key, c.version, c.area, c.mtr, c.t, c.stored, c.retracted, c.body}
	if withHash {
		a = append(a, c.hash)
	}
	return a
}

// insert gives the versions their Seqs, the next ones of the sequence
// (the feed lock makes them consecutive), and stores them; the current
// table takes the last version of each record.
func insert(ctx context.Context, tx pgx.Tx, recs []store.Record) error {
	var last int64
	if err := tx.QueryRow(ctx, "SELECT setval('results_seq', nextval('results_seq') + $1 - 1)", int64(len(recs))).Scan(&last); err != nil {
		return fmt.Errorf("seq: %w", err)
	}
	var all, cur columns
	latest := make(map[ck]int, len(recs))
	for i := range recs {
		recs[i].Seq = last - int64(len(recs)-1-i)
		all.add(&recs[i])
		latest[ck{recs[i].Kind, recs[i].Key}] = i
	}
	for i := range recs {
		if latest[ck{recs[i].Kind, recs[i].Key}] == i {
			cur.add(&recs[i])
		}
	}
	if _, err := tx.Exec(ctx, insertVersions, all.args(false)...); err != nil {
		return fmt.Errorf("versions: %w", err)
	}
	if _, err := tx.Exec(ctx, upsertCurrent, cur.args(true)...); err != nil {
		return fmt.Errorf("current versions: %w", err)
	}
	return nil
}

var _ store.ConditionalResults = (*Store)(nil)
