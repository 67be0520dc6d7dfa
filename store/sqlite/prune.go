package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// Prune deletes the reads and aggregates past retention and says what it
// deleted. Retention counts back from the store's clock, but for each
// kind (store.KindOf) never from later than the newest read of that kind
// stored (store.Horizon), and for aggregates from the newest day: a clock
// ahead of the data deletes nothing the data does not put past
// retention. When the pass would delete more than Retention.MaxShare of
// the stored reads or of the aggregates, it deletes nothing and returns
// what it would have deleted with an error matching
// store.ErrPruneRefused. Otherwise it deletes one area and class at a
// time, each in its own transaction, so that writes are not held up for
// long.
func (s *Store) Prune(ctx context.Context) (store.Pruned, error) {
	var p store.Pruned
	now := s.now()
	pairs, err := s.areaClasses(ctx)
	if err != nil {
		return p, s.errorf("prune", err)
	}
	// The newest read of each kind bounds its cut-off.
	var newest [2]int64
	newest[store.Raw], newest[store.Registers] = math.MinInt64, math.MinInt64
	for i := range pairs {
		pr := &pairs[i]
		if err := s.r.QueryRowContext(ctx, "SELECT max(t) FROM reads WHERE "+inPair, pr.area, string(pr.class)).Scan(&pr.newest); err != nil {
			return p, s.errorf("prune: newest read", err)
		}
		k := store.KindOf(pr.class)
		newest[k] = max(newest[k], pr.newest)
	}
	cut := func(k store.Kind) (int64, time.Time) {
		d := s.retention(classOf(k))
		if d <= 0 || newest[k] == math.MinInt64 {
			return math.MinInt64, time.Time{}
		}
		t := store.Horizon(now, time.Unix(0, newest[k])).Add(-d)
		return nanos(t), t.In(s.loc)
	}
	var cuts [2]int64
	cuts[store.Raw], p.RawCutoff = cut(store.Raw)
	cuts[store.Registers], p.RegistersCutoff = cut(store.Registers)
	aggCut := int64(math.MinInt64)
	if s.ret.Aggregates > 0 {
		var day sql.NullInt64
		if err := s.r.QueryRowContext(ctx, "SELECT max(day) FROM aggregates").Scan(&day); err != nil {
			return p, s.errorf("prune: newest aggregate", err)
		}
		if day.Valid {
			t := store.Horizon(now, time.Unix(0, day.Int64)).Add(-s.ret.Aggregates)
			aggCut, p.AggregatesCutoff = nanos(t), t.In(s.loc)
		}
	}

	// Count first: a pass that would delete too much deletes nothing.
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM reads").Scan(&p.StoredReads); err != nil {
		return p, s.errorf("prune: count", err)
	}
	for i := range pairs {
		pr := &pairs[i]
		c := cuts[store.KindOf(pr.class)]
		if c == math.MinInt64 {
			continue
		}
		if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM reads WHERE "+inPair+" AND t < ?",
			pr.area, string(pr.class), c).Scan(&pr.expired); err != nil {
			return p, s.errorf("prune: count", err)
		}
		p.Reads += pr.expired
	}
	if aggCut != math.MinInt64 {
		if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM aggregates").Scan(&p.StoredAggregates); err != nil {
			return p, s.errorf("prune: count", err)
		}
		if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM aggregates WHERE day < ?", aggCut).Scan(&p.Aggregates); err != nil {
			return p, s.errorf("prune: count", err)
		}
	}
	share := s.ret.Share()
	if over(p.Reads, p.StoredReads, share) || over(p.Aggregates, p.StoredAggregates, share) {
		return p, fmt.Errorf("store/sqlite %s: %w: it would delete %d of %d reads and %d of %d aggregates, more than the share %g one pass may delete (store.retention.max_share)",
			s.path, store.ErrPruneRefused, p.Reads, p.StoredReads, p.Aggregates, p.StoredAggregates, share)
	}

	var done store.Pruned
	done.StoredReads, done.StoredAggregates = p.StoredReads, p.StoredAggregates
	done.RawCutoff, done.RegistersCutoff, done.AggregatesCutoff = p.RawCutoff, p.RegistersCutoff, p.AggregatesCutoff
	for _, pr := range pairs {
		if pr.expired == 0 {
			continue
		}
		res, err := s.w.ExecContext(ctx, "DELETE FROM reads WHERE "+inPair+" AND t < ?",
			pr.area, string(pr.class), cuts[store.KindOf(pr.class)])
		if err != nil {
			return done, s.errorf("prune", err)
		}
		n, _ := res.RowsAffected()
		done.Reads += n
	}
	// frames no read refers to: those of the reads just deleted, and of
	// reads replaced by a re-read
	if _, err := s.w.ExecContext(ctx, "DELETE FROM frames WHERE id NOT IN (SELECT frame FROM reads WHERE frame IS NOT NULL)"); err != nil {
		return done, s.errorf("prune: frames", err)
	}
	if p.Aggregates > 0 {
		res, err := s.w.ExecContext(ctx, "DELETE FROM aggregates WHERE day < ?", aggCut)
		if err != nil {
			return done, s.errorf("prune", err)
		}
		n, _ := res.RowsAffected()
		done.Aggregates += n
	}
	return done, nil
}

// horizons returns, by kind, the time Write counts retention back from:
// now, but not after the newest read of the kind in the batch, so that a
// clock ahead of the reads (jumped forward) does not drop them.
func horizons(now time.Time, reads []meter.Read) [2]time.Time {
	var newest [2]time.Time
	for i := range reads {
		k, t := store.KindOf(reads[i].Class), store.Time(&reads[i])
		if t.After(newest[k]) {
			newest[k] = t
		}
	}
	return [2]time.Time{store.Horizon(now, newest[0]), store.Horizon(now, newest[1])}
}

// over reports whether deleting n of total exceeds share.
func over(n, total int64, share float64) bool {
	return share < 1 && n > 0 && float64(n) > share*float64(total)
}

// classOf is a class of kind k, for retention.
func classOf(k store.Kind) meter.Class {
	if k == store.Registers {
		return meter.Daily
	}
	return meter.Interval
}

type areaClass struct {
	area    string
	class   meter.Class
	newest  int64 // the newest t stored
	expired int64 // rows past the cut-off
}

// inPair is the condition on reads that they are of an area and class,
// the two arguments.
const inPair = "series IN (SELECT id FROM series WHERE area = ? AND class = ?)"

// areaClasses returns the distinct (area, class) pairs of the stored
// reads, in order, from the series (by series_area).
func (s *Store) areaClasses(ctx context.Context) ([]areaClass, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT area, class FROM series s WHERE EXISTS (SELECT 1 FROM reads WHERE series = s.id) "+
		"GROUP BY area, class ORDER BY area, class")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []areaClass
	for rows.Next() {
		var a, c string
		if err := rows.Scan(&a, &c); err != nil {
			return nil, err
		}
		out = append(out, areaClass{area: a, class: meter.Class(c)})
	}
	return out, rows.Err()
}
