package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
)

// Downsample computes the aggregates of the raw reads of every day (in
// the store's Location) that overlaps [from, to), and replaces the
// stored aggregates of those days with them. A read counts when its
// Status is read.OK and its Text is empty (a number); ties for Min and
// Max go to the earliest read; Area and Unit are those of the latest
// read. A day without raw reads, or one that begins before the raw
// retention, is left as it is: its aggregates may be all that is left of
// its raw reads.
func (s *Store) Downsample(ctx context.Context, from, to time.Time) error {
	now := s.now()
	pairs, err := s.areaClasses(ctx)
	if err != nil {
		return s.errorf("downsample", err)
	}
	pairs = slices.DeleteFunc(pairs, func(p areaClass) bool { return store.KindOf(p.class) != store.Raw })
	first, last, err := s.span(ctx, pairs)
	if err != nil {
		return s.errorf("downsample", err)
	}
	if !to.After(first) || from.After(last) {
		return nil // no raw reads in [from, to)
	}
	for day := startOfDay(later(from, first), s.loc); day.Before(to) && !day.After(last); day = s.nextDay(day) {
		if s.ret.Raw > 0 && day.Before(now.Add(-s.ret.Raw)) {
			continue
		}
		if err := s.downsampleDay(ctx, pairs, day); err != nil {
			return s.errorf("downsample "+day.Format(time.DateOnly), err)
		}
	}
	return nil
}

// span returns the times of the first and the last read of pairs; last
// is before first if there is none.
func (s *Store) span(ctx context.Context, pairs []areaClass) (first, last time.Time, err error) {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, p := range pairs {
		for _, f := range []string{"min", "max"} {
			var t sql.NullInt64
			err := s.r.QueryRowContext(ctx, "SELECT "+f+"(t) FROM reads WHERE "+inPair,
				p.area, string(p.class)).Scan(&t)
			if err != nil {
				return first, last, err
			}
			if t.Valid {
				lo, hi = min(lo, t.Int64), max(hi, t.Int64)
			}
		}
	}
	return time.Unix(0, lo), time.Unix(0, hi), nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// nextDay returns the start of the day after the one starting at day.
func (s *Store) nextDay(day time.Time) time.Time { return startOfDay(day.AddDate(0, 0, 1), s.loc) }

func startOfDay(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// acc accumulates one aggregate.
type acc struct {
	store.Aggregate
	first, last, minT, maxT int64
}

func (a *acc) add(v dlt645.Decimal, t int64, area, unit string) error {
	if a.Count == 0 {
		a.Min, a.Max, a.First, a.Last, a.Sum = v, v, v, v, v
		a.first, a.last, a.minT, a.maxT = t, t, t, t
		a.Area, a.Unit, a.Count = area, unit, 1
		return nil
	}
	a.Count++
	if t < a.first {
		a.First, a.first = v, t
	}
	if t >= a.last {
		a.Last, a.last, a.Area, a.Unit = v, t, area, unit
	}
	if c := v.Cmp(a.Min); c < 0 || c == 0 && t < a.minT {
		a.Min, a.minT = v, t
	}
	if c := v.Cmp(a.Max); c > 0 || c == 0 && t < a.maxT {
		a.Max, a.maxT = v, t
	}
	sc := max(a.Sum.Scale, v.Scale)
	x, ok1 := a.Sum.Rescale(sc)
	y, ok2 := v.Rescale(sc)
	sum := x.Units + y.Units
	if !ok1 || !ok2 || (y.Units > 0 && sum < x.Units) || (y.Units < 0 && sum > x.Units) {
		return fmt.Errorf("meter %s %s %s: sum overflows", a.Meter, a.Class, a.Quantity)
	}
	a.Sum = dlt645.Decimal{Units: sum, Scale: sc}
	return nil
}

type aggKey struct {
	meter, quantity string
	class           meter.Class
}

// downsampleDay replaces the aggregates of the day starting at day.
func (s *Store) downsampleDay(ctx context.Context, pairs []areaClass, day time.Time) error {
	lo, hi := day.UnixNano(), s.nextDay(day).UnixNano()
	aggs := map[aggKey]*acc{}
	seen := false // any raw read, counted or not
	for _, p := range pairs {
		rows, err := s.r.QueryContext(ctx, "SELECT s.meter, s.quantity, r.t, r.units, r.scale, s.area, s.unit, r.status, r.text "+
			"FROM reads r JOIN series s ON s.id = r.series WHERE r."+inPair+" AND r.t >= ? AND r.t < ?",
			p.area, string(p.class), lo, hi)
		if err != nil {
			return err
		}
		for rows.Next() {
			var k aggKey
			var t, units, scale int64
			var area, unit, text string
			var status any
			if err := rows.Scan(&k.meter, &k.quantity, &t, &units, &scale, &area, &unit, &status, &text); err != nil {
				rows.Close()
				return err
			}
			st, err := statusOf(status)
			if err != nil {
				rows.Close()
				return err
			}
			if seen = true; st != meter.OK || text != "" {
				continue
			}
			k.class = p.class
			a := aggs[k]
			if a == nil {
				a = &acc{Aggregate: store.Aggregate{Meter: k.meter, Class: k.class, Quantity: k.quantity, Day: day}}
				aggs[k] = a
			}
			if err := a.add(dlt645.Decimal{Units: units, Scale: uint8(scale)}, t, area, unit); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	if !seen {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM aggregates WHERE day = ?", lo); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	ins, err := tx.PrepareContext(ctx, "INSERT INTO aggregates ("+aggColumns+") VALUES ("+
		strings.Repeat("?, ", nAggColumns-1)+"?)")
	if err != nil {
		return errors.Join(err, tx.Rollback())
	}
	for _, a := range aggs {
		_, err := ins.ExecContext(ctx, a.Meter, string(a.Class), a.Quantity, lo, a.Area, a.Unit, a.Count,
			a.Min.Units, a.Min.Scale, a.Max.Units, a.Max.Scale, a.First.Units, a.First.Scale,
			a.Last.Units, a.Last.Scale, a.Sum.Units, a.Sum.Scale)
		if err != nil {
			return errors.Join(err, tx.Rollback())
		}
	}
	return tx.Commit()
}

const aggColumns = "meter, class, quantity, day, area, unit, count, min_units, min_scale, max_units, max_scale, " +
	"first_units, first_scale, last_units, last_scale, sum_units, sum_scale"

const nAggColumns = 17

// Aggregates returns the stored aggregates selected by q (From and To on
// Day), ordered by (Day, Meter, Class, Quantity), never one past
// Retention.Aggregates.
func (s *Store) Aggregates(ctx context.Context, q store.Query) ([]store.Aggregate, error) {
	lo := int64(math.MinInt64)
	if s.ret.Aggregates > 0 {
		lo = cutoff(s.ret.Aggregates, s.now())
	}
	where, args := conditions(&q, "day", lo)
	w := ""
	if len(where) > 0 {
		w = " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.r.QueryContext(ctx, "SELECT "+aggColumns+" FROM aggregates"+w+
		" ORDER BY day, meter, class, quantity LIMIT ?", append(args, limit(q.Limit))...)
	if err != nil {
		return nil, s.errorf("aggregates", err)
	}
	defer rows.Close()
	var out []store.Aggregate
	for rows.Next() {
		var a store.Aggregate
		var class string
		var day int64
		err := rows.Scan(&a.Meter, &class, &a.Quantity, &day, &a.Area, &a.Unit, &a.Count,
			&a.Min.Units, &a.Min.Scale, &a.Max.Units, &a.Max.Scale, &a.First.Units, &a.First.Scale,
			&a.Last.Units, &a.Last.Scale, &a.Sum.Units, &a.Sum.Scale)
		if err != nil {
			return nil, s.errorf("aggregates", err)
		}
		a.Class, a.Day = meter.Class(class), time.Unix(0, day).In(s.loc)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errorf("aggregates", err)
	}
	return out, nil
}
