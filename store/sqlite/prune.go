package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/headend/headend/collector/read"
)

// Prune deletes the reads and aggregates past retention at the store's
// clock and returns how many rows went. It deletes one area and class at
// a time, each in its own transaction, so that writes are not held up
// for long.
func (s *Store) Prune(ctx context.Context) (deleted int, err error) {
	now := s.now()
	pairs, err := s.areaClasses(ctx)
	if err != nil {
		return 0, s.errorf("prune", err)
	}
	for _, p := range pairs {
		d := s.retention(p.class)
		if d <= 0 {
			continue
		}
		res, err := s.w.ExecContext(ctx, "DELETE FROM reads WHERE area = ? AND class = ? AND t < ?",
			p.area, string(p.class), cutoff(d, now))
		if err != nil {
			return deleted, s.errorf("prune", err)
		}
		n, _ := res.RowsAffected()
		deleted += int(n)
	}
	if s.ret.Aggregates > 0 {
		res, err := s.w.ExecContext(ctx, "DELETE FROM aggregates WHERE day < ?", cutoff(s.ret.Aggregates, now))
		if err != nil {
			return deleted, s.errorf("prune", err)
		}
		n, _ := res.RowsAffected()
		deleted += int(n)
	}
	return deleted, nil
}

type areaClass struct {
	area  string
	class read.Class
}

// areaClasses returns the distinct (area, class) pairs of the stored
// reads, in order. It seeks the reads_area index once per pair instead of
// scanning it.
func (s *Store) areaClasses(ctx context.Context) ([]areaClass, error) {
	var out []areaClass
	var a, c string
	err := s.r.QueryRowContext(ctx, "SELECT area, class FROM reads ORDER BY area, class LIMIT 1").Scan(&a, &c)
	for err == nil {
		out = append(out, areaClass{a, read.Class(c)})
		err = s.r.QueryRowContext(ctx, "SELECT area, class FROM reads WHERE (area, class) > (?, ?) "+
			"ORDER BY area, class LIMIT 1", a, c).Scan(&a, &c)
	}
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return out, err
}
