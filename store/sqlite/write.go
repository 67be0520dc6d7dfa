package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// insertRows is how many reads one INSERT statement carries.
const insertRows = 64

const insertColumns = "series, t, units, scale, text, status, err, mt, ra, tries, frame"

const nInsertColumns = 11

// insertSQL returns the upsert of n reads.
func insertSQL(n int) string {
	row := "(" + strings.Repeat("?, ", nInsertColumns-1) + "?)"
	return "INSERT OR REPLACE INTO reads (" + insertColumns + ") VALUES " +
		strings.Repeat(row+", ", n-1) + row
}

// Write stores reads in one transaction, replacing any stored read with
// the same store.Key (of two in one batch, the later wins). A read
// already past retention is dropped. If a read has an empty Meter or
// Quantity, a zero store.Time or a time that does not fit in Unix
// nanoseconds (years 1678 to 2262), Write returns an error naming its
// index, and stores nothing of the batch; so does any other error.
func (s *Store) Write(ctx context.Context, reads []meter.Read) error {
	if err := validate(reads); err != nil {
		return s.errorf("write", err)
	}
	reads = store.Thin(reads) // after validate, so that an index names the caller's read
	now := horizons(s.now(), reads)
	keep := make([]*meter.Read, 0, len(reads))
	for i := range reads {
		if !s.ret.Expired(reads[i].Class, store.Time(&reads[i]), now[store.KindOf(reads[i].Class)]) {
			keep = append(keep, &reads[i])
		}
	}
	if len(keep) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return s.errorf("write", err)
	}
	ids, fams, fresh, err := s.ids.lookup(ctx, tx, keep)
	if err != nil {
		return errors.Join(s.errorf("write: series", err), tx.Rollback())
	}
	insN, ins1 := tx.StmtContext(ctx, s.insN), tx.StmtContext(ctx, s.ins1)
	var unkey *sql.Stmt // deletes a key from a sibling series
	fs := frameStore{tx: tx, ids: map[string]int64{}}
	defer fs.close()
	args := make([]any, 0, insertRows*nInsertColumns)
	var blob []byte
	for len(keep) > 0 {
		// A read whose family has more than one series goes alone, after
		// its key is deleted from the siblings.
		n, st := insertRows, insN
		if len(keep) < insertRows || slices.ContainsFunc(fams[:insertRows], func(ss []series) bool { return len(ss) > 1 }) {
			n, st = 1, ins1
		}
		if len(fams[0]) > 1 {
			if unkey == nil {
				if unkey, err = tx.PrepareContext(ctx, "DELETE FROM reads WHERE series = ? AND t = ?"); err != nil {
					return errors.Join(s.errorf("write", err), tx.Rollback())
				}
				defer unkey.Close()
			}
			for _, sib := range fams[0] {
				if sib.id == ids[0] {
					continue
				}
				if _, err := unkey.ExecContext(ctx, sib.id, store.Time(keep[0]).UnixNano()); err != nil {
					return errors.Join(s.errorf("write", err), tx.Rollback())
				}
			}
		}
		args = args[:0]
		for i, r := range keep[:n] {
			var frame any // NULL: no frames
			if f := &r.Frame; f.Request != nil || f.Reply != nil || f.Earlier != nil || f.Dropped != 0 {
				blob = appendFrameRef(blob[:0], f)
				id, err := fs.id(ctx, blob)
				if err != nil {
					return errors.Join(s.errorf("write: frames", err), tx.Rollback())
				}
				frame = id
			}
			args = appendArgs(args, ids[i], r, frame)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return errors.Join(s.errorf("write", err), tx.Rollback())
		}
		keep, ids, fams = keep[n:], ids[n:], fams[n:]
	}
	if err := tx.Commit(); err != nil {
		return s.errorf("write: commit", err)
	}
	s.ids.commit(fresh)
	return nil
}

// appendArgs appends the column values of r, in insertColumns order.
func appendArgs(args []any, series int64, r *meter.Read, frame any) []any {
	t := store.Time(r).UnixNano()
	mt, ra := timeColumns(r, t)
	var errText any
	if r.Err != "" {
		errText = r.Err
	}
	return append(args, series, t, r.Value.Units, int64(r.Value.Scale), r.Text,
		statusCode(r.Status), errText, mt, ra, int64(r.Frame.Tries), frame)
}

// validate checks every read of a batch before any is written.
func validate(reads []meter.Read) error {
	for i := range reads {
		r := &reads[i]
		var why string
		switch {
		case r.Meter == "":
			why = "empty meter"
		case r.Quantity == "":
			why = "empty quantity"
		case store.Time(r).IsZero():
			why = "zero time (no MeterTime and no ReadAt)"
		case !inRange(r.MeterTime) && !r.MeterTime.IsZero(), !inRange(r.ReadAt) && !r.ReadAt.IsZero():
			why = "time out of range"
		default:
			continue
		}
		return fmt.Errorf("read %d (meter %q, quantity %q): %s", i, r.Meter, r.Quantity, why)
	}
	return nil
}
