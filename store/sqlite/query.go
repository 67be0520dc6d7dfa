package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
	"github.com/headend/headend/store"
)

// Query returns the reads that match q, ordered by (time, meter, class,
// quantity), never one past retention. Times come back in the store's
// Location.
func (s *Store) Query(ctx context.Context, q store.Query) ([]meter.Read, error) {
	query, args := s.querySQL(&q, s.now())
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.errorf("query", err)
	}
	defer rows.Close()
	var out []meter.Read
	if q.Limit > 0 {
		out = make([]meter.Read, 0, min(q.Limit, 1<<16))
	}
	for rows.Next() {
		r, err := s.scanRead(rows)
		if err != nil {
			return nil, s.errorf("query", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errorf("query", err)
	}
	return out, nil
}

// querySQL returns the SELECT of q at now and its arguments.
func (s *Store) querySQL(q *store.Query, now time.Time) (string, []any) {
	lo := int64(math.MinInt64)
	var extra []string
	var extraArgs []any
	if q.Class != "" {
		lo = cutoff(s.retention(q.Class), now)
	} else if raw, reg := cutoff(s.ret.Raw, now), cutoff(s.ret.Registers, now); raw > lo || reg > lo {
		extra = append(extra, "r.t >= CASE WHEN s.class IN "+registersSQL+" THEN ? ELSE ? END")
		extraArgs = append(extraArgs, reg, raw)
	}
	conds, args := readConditions(q, lo)
	where := ""
	if conds = append(conds, extra...); len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	args = append(append(args, extraArgs...), limit(q.Limit))
	return "SELECT " + readColumns + " FROM reads r JOIN series s ON s.id = r.series LEFT JOIN frames f ON f.id = r.frame" + where +
		" ORDER BY r.t, s.meter, s.class, s.quantity LIMIT ?", args
}

// scanRead scans a row of readColumns.
func (s *Store) scanRead(rows *sql.Rows) (meter.Read, error) {
	var (
		r                             meter.Read
		class                         string
		t, di, ed, units, scale, trie int64
		status, mt, ra                any
		errText                       sql.NullString
		frames                        []byte
	)
	err := rows.Scan(&r.Meter, &class, &r.Quantity, &t, &r.Area, &r.Channel, &di, &ed, &units, &scale,
		&r.Text, &r.Unit, &mt, &ra, &status, &errText, &trie, &frames)
	if err != nil {
		return r, err
	}
	r.Class, r.Err = meter.Class(class), errText.String
	r.DI, r.Edition = dlt645.DI(di), dlt645.Edition(ed)
	r.Value = dlt645.Decimal{Units: units, Scale: uint8(scale)}
	r.Frame.Tries = int(trie)
	if r.Status, err = statusOf(status); err == nil {
		r.MeterTime, r.ReadAt, err = times(t, mt, ra, s.loc)
	}
	if err == nil && frames != nil {
		err = decodeFrameRef(frames, &r.Frame)
	}
	if err != nil {
		return r, fmt.Errorf("meter %s %s %s at %d: %w", r.Meter, class, r.Quantity, t, err)
	}
	return r, nil
}

// retention returns how long reads of class c are kept.
func (s *Store) retention(c meter.Class) time.Duration {
	if store.KindOf(c) == store.Registers {
		return s.ret.Registers
	}
	return s.ret.Raw
}

// inlineMeters is the most meters a query lists as parameters; more go
// in one JSON array.
const inlineMeters = 500

const readColumns = "s.meter, s.class, s.quantity, r.t, s.area, s.channel, s.di, s.edition, r.units, r.scale, " +
	"r.text, s.unit, r.mt, r.ra, r.status, r.err, r.tries, f.blob"

// readConditions returns the SQL conditions of q on reads r joined with
// series s, and their arguments; r.t must be at least lo. Meters, an
// Area, a Class or a Quantity select series first (by their unique index,
// or series_area), so that the reads are found by their primary key.
func readConditions(q *store.Query, lo int64) ([]string, []any) {
	var c []string
	var args []any
	if len(q.Meters) > 0 || q.Area != "" || q.Class != "" || q.Quantity != "" {
		var sub []string
		sub, args = meterIn(sub, args, q.Meters)
		sub, args = equal(sub, args, "area", q.Area)
		sub, args = equal(sub, args, "class", string(q.Class))
		sub, args = equal(sub, args, "quantity", q.Quantity)
		c = append(c, "r.series IN (SELECT id FROM series WHERE "+strings.Join(sub, " AND ")+")")
	}
	return timeRange(c, args, q, "r.t", lo)
}

// conditions returns the SQL conditions of q and their arguments, on a
// table with columns meter, area, class, quantity and a time column tcol
// that must be at least lo.
func conditions(q *store.Query, tcol string, lo int64) ([]string, []any) {
	c, args := meterIn(nil, nil, q.Meters)
	c, args = equal(c, args, "area", q.Area)
	c, args = equal(c, args, "class", string(q.Class))
	c, args = equal(c, args, "quantity", q.Quantity)
	return timeRange(c, args, q, tcol, lo)
}

// meterIn adds the condition that meter is one of meters, if any.
func meterIn(c []string, args []any, meters []string) ([]string, []any) {
	switch n := len(meters); {
	case n > inlineMeters:
		b, _ := json.Marshal(meters)
		c = append(c, "meter IN (SELECT value FROM json_each(?))")
		args = append(args, string(b))
	case n > 0:
		c = append(c, "meter IN ("+strings.Repeat("?, ", n-1)+"?)")
		for _, m := range meters {
			args = append(args, m)
		}
	}
	return c, args
}

// equal adds the condition col = v, unless v is empty.
func equal(c []string, args []any, col, v string) ([]string, []any) {
	if v == "" {
		return c, args
	}
	return append(c, col+" = ?"), append(args, v)
}

// timeRange adds the conditions of q.From, q.To and lo on tcol.
func timeRange(c []string, args []any, q *store.Query, tcol string, lo int64) ([]string, []any) {
	if !q.From.IsZero() {
		lo = max(lo, nanos(q.From))
	}
	if lo > math.MinInt64 {
		c = append(c, tcol+" >= ?")
		args = append(args, lo)
	}
	if !q.To.IsZero() {
		c = append(c, tcol+" < ?")
		args = append(args, nanos(q.To))
	}
	return c, args
}

// limit is the SQL LIMIT of Query.Limit n: -1 for none.
func limit(n int) int64 {
	if n <= 0 {
		return -1
	}
	return int64(n)
}
