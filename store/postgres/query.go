package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/headend/headend/store"
)

const columnsOut = "kind, key, version, area, meter, t, seq, stored, retracted, body"

// Current implements store.Results.
func (s *Store) Current(ctx context.Context, q store.RecordQuery) ([]store.Record, error) {
	where := []string{"NOT retracted"}
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if q.Kind != "" {
		add("kind = $%d", q.Kind)
	}
	if q.Area != "" {
		add("area = $%d", q.Area)
	}
	if q.Meter != "" {
		add("meter = $%d", q.Meter)
	}
	if !q.From.IsZero() {
		add("t >= $%d", q.From.UnixNano())
	}
	if !q.To.IsZero() {
		add("t < $%d", q.To.UnixNano())
	}
	sql := "SELECT " + columnsOut + " FROM results_current WHERE " + strings.Join(where, " AND ") + " ORDER BY t, key"
	if q.Limit > 0 {
		args = append(args, q.Limit)
		sql += fmt.Sprintf(" LIMIT $%d", len(args))
	}
	return s.query(ctx, "current", sql, args...)
}

// History implements store.Results.
func (s *Store) History(ctx context.Context, kind, key string) ([]store.Record, error) {
	return s.query(ctx, "history", "SELECT "+columnsOut+" FROM results_versions WHERE kind = $1 AND key = $2 ORDER BY version", kind, key)
}

// Since implements store.Results.
func (s *Store) Since(ctx context.Context, seq int64, kinds []string, limit int) ([]store.Record, error) {
	if limit <= 0 {
		limit = 1000
	}
	if len(kinds) > 0 {
		return s.query(ctx, "since", "SELECT "+columnsOut+" FROM results_versions WHERE seq > $1 AND kind = ANY($2) ORDER BY seq LIMIT $3", seq, kinds, limit)
	}
	return s.query(ctx, "since", "SELECT "+columnsOut+" FROM results_versions WHERE seq > $1 ORDER BY seq LIMIT $2", seq, limit)
}

func (s *Store) query(ctx context.Context, op, sql string, args ...any) ([]store.Record, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, s.errorf(op, err)
	}
	var out []store.Record
	var r store.Record
	var t, stored int64
	var body []byte
	_, err = pgx.ForEachRow(rows, []any{&r.Kind, &r.Key, &r.Version, &r.Area, &r.Meter, &t, &r.Seq, &stored, &r.Retracted, &body}, func() error {
		rec := r
		rec.Time, rec.Stored, rec.Body = time.Unix(0, t), time.Unix(0, stored), append([]byte{}, body...)
		out = append(out, rec)
		return nil
	})
	if err != nil {
		return nil, s.errorf(op, err)
	}
	return out, nil
}
