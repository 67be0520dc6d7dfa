package results

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/headend/headend/store"
)

// Current implements store.Results.
func (s *Store) Current(ctx context.Context, q store.RecordQuery) ([]store.Record, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	add("c.retracted = ?", 0)
	if q.Kind != "" {
		add("c.kind = ?", q.Kind)
	}
	if q.Area != "" {
		add("c.area = ?", q.Area)
	}
	if q.Meter != "" {
		add("c.meter = ?", q.Meter)
	}
	if !q.From.IsZero() {
		add("c.t >= ?", q.From.UnixNano())
	}
	if !q.To.IsZero() {
		add("c.t < ?", q.To.UnixNano())
	}
	sqlq := `SELECT c.kind, c.key, c.version, c.area, c.meter, c.t, c.seq, v.stored, c.retracted, c.body
		FROM current c JOIN versions v ON v.seq = c.seq WHERE ` + strings.Join(where, " AND ") + " ORDER BY c.t, c.key"
	if q.Limit > 0 {
		sqlq += " LIMIT ?"
		args = append(args, q.Limit)
	}
	rows, err := s.r.QueryContext(ctx, sqlq, args...)
	if err != nil {
		return nil, s.errorf("current", err)
	}
	return s.scan(rows, "current")
}

// History implements store.Results.
func (s *Store) History(ctx context.Context, kind, key string) ([]store.Record, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kind, key, version, area, meter, t, seq, stored, retracted, body
		FROM versions WHERE kind = ? AND key = ? ORDER BY version`, kind, key)
	if err != nil {
		return nil, s.errorf("history", err)
	}
	return s.scan(rows, "history")
}

// Since implements store.Results.
func (s *Store) Since(ctx context.Context, seq int64, kinds []string, limit int) ([]store.Record, error) {
	if limit <= 0 {
		limit = 1000
	}
	q := "SELECT kind, key, version, area, meter, t, seq, stored, retracted, body FROM versions WHERE seq > ?"
	args := []any{seq}
	if len(kinds) > 0 {
		q += " AND kind IN (?" + strings.Repeat(",?", len(kinds)-1) + ")"
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	q += " ORDER BY seq LIMIT ?"
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.errorf("since", err)
	}
	return s.scan(rows, "since")
}

func (s *Store) scan(rows *sql.Rows, op string) ([]store.Record, error) {
	defer rows.Close()
	var out []store.Record
	for rows.Next() {
		var r store.Record
		var t, stored int64
		var retr int
		var body []byte
		if err := rows.Scan(&r.Kind, &r.Key, &r.Version, &r.Area, &r.Meter, &t, &r.Seq, &stored, &retr, &body); err != nil {
			return nil, s.errorf(op, err)
		}
		r.Time, r.Stored, r.Retracted, r.Body = time.Unix(0, t), time.Unix(0, stored), retr == 1, body
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errorf(op, err)
	}
	return out, nil
}
