package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/headend/headend/meter"
)

// A series is one meter's one quantity of one class: the part of a
// store.Key without the time. Reads refer to their series by id, so that
// the primary key of reads, (series, t), is two integers.
type series struct {
	meter    string
	class    meter.Class
	quantity string
}

// maxCachedSeries bounds the cache of series ids; past it the cache
// starts again empty.
const maxCachedSeries = 1 << 20

// seriesIDs finds and creates series, with a cache of the ids committed.
type seriesIDs struct {
	find, add *sql.Stmt

	mu    sync.Mutex
	cache map[series]int64
}

func (c *seriesIDs) prepare(ctx context.Context, db *sql.DB) error {
	var err error
	c.find, err = db.PrepareContext(ctx, "SELECT id FROM series WHERE meter = ? AND class = ? AND quantity = ?")
	if err != nil {
		return err
	}
	c.add, err = db.PrepareContext(ctx, "INSERT INTO series (meter, class, quantity) VALUES (?, ?, ?)")
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

// lookup returns the ids of the series of reads, creating those that do
// not exist in tx. The new ids are returned too, for commit once tx is
// committed.
func (c *seriesIDs) lookup(ctx context.Context, tx *sql.Tx, reads []*meter.Read, ids []int64) ([]int64, map[series]int64, error) {
	var fresh map[series]int64
	ids = ids[:0]
	c.mu.Lock()
	for _, r := range reads {
		id, ok := c.cache[series{r.Meter, r.Class, r.Quantity}]
		if !ok {
			id = -1
		}
		ids = append(ids, id)
	}
	c.mu.Unlock()
	var find, add *sql.Stmt
	for i, r := range reads {
		if ids[i] >= 0 {
			continue
		}
		k := series{r.Meter, r.Class, r.Quantity}
		if id, ok := fresh[k]; ok {
			ids[i] = id
			continue
		}
		if find == nil {
			find, add = tx.StmtContext(ctx, c.find), tx.StmtContext(ctx, c.add)
		}
		var id int64
		err := find.QueryRowContext(ctx, k.meter, string(k.class), k.quantity).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			var res sql.Result
			if res, err = add.ExecContext(ctx, k.meter, string(k.class), k.quantity); err == nil {
				id, err = res.LastInsertId()
			}
		}
		if err != nil {
			return nil, nil, err
		}
		if fresh == nil {
			fresh = map[series]int64{}
		}
		fresh[k], ids[i] = id, id
	}
	return ids, fresh, nil
}

// commit caches the ids lookup returned once their transaction committed.
func (c *seriesIDs) commit(fresh map[series]int64) {
	if len(fresh) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cache == nil || len(c.cache)+len(fresh) > maxCachedSeries {
		c.cache = make(map[series]int64, len(fresh))
	}
	for k, id := range fresh {
		c.cache[k] = id
	}
}
