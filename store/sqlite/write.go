package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/headend/headend/meter"
	"github.com/headend/headend/store"
)

// insertRows is how many reads one INSERT statement carries.
const insertRows = 64

const insertColumns = "series, t, area, class, channel, di, edition, units, scale, " +
	"text, unit, meter_time, read_at, status, err, frames, tries"

const nInsertColumns = 17

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
	ids, fresh, err := s.ids.lookup(ctx, tx, keep, make([]int64, 0, len(keep)))
	if err != nil {
		return errors.Join(s.errorf("write: series", err), tx.Rollback())
	}
	insN, ins1 := tx.StmtContext(ctx, s.insN), tx.StmtContext(ctx, s.ins1)
	args := make([]any, 0, insertRows*nInsertColumns)
	var frames []byte
	for len(keep) > 0 {
		n, st := insertRows, insN
		if len(keep) < insertRows {
			n, st = 1, ins1
		}
		args, frames = args[:0], frames[:0]
		ends := [insertRows]int{}
		for i, r := range keep[:n] {
			frames = appendFrames(frames, r.Frame.Request, r.Frame.Reply)
			ends[i] = len(frames)
		}
		start := 0
		for i, r := range keep[:n] {
			args = appendArgs(args, ids[i], r, frames[start:ends[i]:ends[i]])
			start = ends[i]
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return errors.Join(s.errorf("write", err), tx.Rollback())
		}
		keep, ids = keep[n:], ids[n:]
	}
	if err := tx.Commit(); err != nil {
		return s.errorf("write: commit", err)
	}
	s.ids.commit(fresh)
	return nil
}

// appendArgs appends the column values of r, in insertColumns order.
func appendArgs(args []any, series int64, r *meter.Read, frames []byte) []any {
	return append(args, series, store.Time(r).UnixNano(), r.Area, string(r.Class), r.Channel,
		int64(r.DI), int64(r.Edition), r.Value.Units, int64(r.Value.Scale), r.Text, r.Unit,
		optNanos(r.MeterTime), optNanos(r.ReadAt), string(r.Status), r.Err, frames, int64(r.Frame.Tries))
}

// optNanos is t in Unix nanoseconds, or NULL if t is zero.
func optNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
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
