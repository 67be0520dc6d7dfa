package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/protocol/dlt645"
)

// A family is one meter's one quantity of one class: the part of a
// store.Key without the time.
type family struct {
	meter    string
	class    meter.Class
	quantity string
}

// labels are what the reads of a series have alike besides their family.
type labels struct {
	area, channel string
	di            dlt645.DI
	edition       dlt645.Edition
	unit          string
}

// A series is a family with one set of labels: almost always a family
// has one series, but a meter moved to another area, or read through
// another channel, starts another. Reads refer to their series by id, so
// that the primary key of reads, (series, t), is two integers, and the
// labels are stored once a series. A store.Key is then (family, t), held
// by at most one of the family's series: Write deletes it from the
// others (siblings).
type series struct {
	labels
	id int64
}

func familyOf(r *meter.Read) family { return family{r.Meter, r.Class, r.Quantity} }

func labelsOf(r *meter.Read) labels {
	return labels{r.Area, r.Channel, r.DI, r.Edition, r.Unit}
}

// maxCachedFamilies bounds the cache of series; past it the cache starts
// again empty.
const maxCachedFamilies = 1 << 20

// seriesIDs finds and creates series, with a cache of those committed.
type seriesIDs struct {
	find, add *sql.Stmt

	mu    sync.Mutex
	cache map[family][]series
}

func (c *seriesIDs) prepare(ctx context.Context, db *sql.DB) error {
	var err error
	c.find, err = db.PrepareContext(ctx, "SELECT id, area, channel, di, edition, unit FROM series WHERE meter = ? AND class = ? AND quantity = ? ORDER BY id")
	if err != nil {
		return err
	}
	c.add, err = db.PrepareContext(ctx, "INSERT INTO series (meter, class, quantity, area, channel, di, edition, unit) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
	return err
}

func (c *seriesIDs) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{c.find, c.add} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// lookup returns the series id of each read and the series of its
// family, creating those that do not exist in tx. The families it read
// or changed are returned too, for commit once tx is committed.
func (c *seriesIDs) lookup(ctx context.Context, tx *sql.Tx, reads []*meter.Read) (ids []int64, fams [][]series, fresh map[family][]series, err error) {
	ids, fams = make([]int64, len(reads)), make([][]series, len(reads))
	known := make(map[family][]series)
	c.mu.Lock()
	for _, r := range reads {
		f := familyOf(r)
		if ss, ok := c.cache[f]; ok {
			known[f] = ss
		}
	}
	c.mu.Unlock()
	var find, add *sql.Stmt
	for i, r := range reads {
		f, l := familyOf(r), labelsOf(r)
		ss, ok := known[f]
		if !ok {
			if find == nil {
				find, add = tx.StmtContext(ctx, c.find), tx.StmtContext(ctx, c.add)
			}
			if ss, err = findSeries(ctx, find, f); err != nil {
				return nil, nil, nil, err
			}
			fresh = remember(fresh, f, ss)
		}
		j := slices.IndexFunc(ss, func(s series) bool { return s.labels == l })
		if j < 0 {
			if add == nil {
				find, add = tx.StmtContext(ctx, c.find), tx.StmtContext(ctx, c.add)
			}
			res, err := add.ExecContext(ctx, f.meter, string(f.class), f.quantity, l.area, l.channel, int64(l.di), int64(l.edition), l.unit)
			if err != nil {
				return nil, nil, nil, err
			}
			id, err := res.LastInsertId()
			if err != nil {
				return nil, nil, nil, err
			}
			ss = append(slices.Clip(ss), series{l, id})
			j = len(ss) - 1
			fresh = remember(fresh, f, ss)
		}
		known[f] = ss
		ids[i], fams[i] = ss[j].id, ss
	}
	return ids, fams, fresh, nil
}

func remember(m map[family][]series, f family, ss []series) map[family][]series {
	if m == nil {
		m = map[family][]series{}
	}
	m[f] = ss
	return m
}

// findSeries returns the stored series of f.
func findSeries(ctx context.Context, find *sql.Stmt, f family) ([]series, error) {
	rows, err := find.QueryContext(ctx, f.meter, string(f.class), f.quantity)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ss []series
	for rows.Next() {
		var s series
		var di, ed int64
		if err := rows.Scan(&s.id, &s.area, &s.channel, &di, &ed, &s.unit); err != nil {
			return nil, err
		}
		s.di, s.edition = dlt645.DI(di), dlt645.Edition(ed)
		ss = append(ss, s)
	}
	return ss, rows.Err()
}

// commit caches the series lookup returned once their transaction
// committed.
func (c *seriesIDs) commit(fresh map[family][]series) {
	if len(fresh) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cache == nil || len(c.cache)+len(fresh) > maxCachedFamilies {
		c.cache = make(map[family][]series, len(fresh))
	}
	for f, ss := range fresh {
		c.cache[f] = ss
	}
}
