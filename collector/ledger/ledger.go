// Package ledger remembers which daily freezes the head-end already holds
// for each meter, so that after an outage (of a channel, a meter or the
// head-end itself) exactly the missing days are read back from the
// meters' freeze history, and nothing is read twice ([Ledger]); and the
// newest load-profile record held per meter ([Marks]).
//
// Both live in one SQLite file in the data directory, one row per meter:
// the state stays the same size however long the head-end runs, and is
// read whole (one row per meter) at open. A mark that cannot be saved is
// an error of Mark and stays pending: the next Mark, Flush or Close
// writes it again.
package ledger

import (
	"database/sql"
	"fmt"
	"os"
	"sync"
	"time"
)

// Window is how far back a meter keeps daily freezes (DL/T 645-2007: 62).
const Window = 62

// span is how many days before its newest held freeze a meter's days are
// kept: more than Window, so that nothing a meter can still give back is
// forgotten.
const span = 64

// held is a meter's freezes: the first day ever held and, for the span
// days up to the newest, which are held (bit i: newest − i days).
type held struct {
	first, newest int64 // days since 1970-01-01 of the civil dates
	bits          uint64
}

// Ledger is the set of (meter, freeze day) the head-end holds.
type Ledger struct {
	mu      sync.Mutex
	path    string
	db      *sql.DB
	days    map[string]*held
	pending map[string]bool // meters whose row is not saved yet
}

// dayNum is t's civil date (in t's location) as days since 1970-01-01.
func dayNum(t time.Time) int64 {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func dayText(n int64) string { return time.Unix(n*86400, 0).UTC().Format(time.DateOnly) }

func parseDay(s string) (int64, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, err
	}
	return dayNum(t), nil
}

// Open opens the ledger in the SQLite file at path, creating it if need
// be, and reads it.
func Open(path string) (*Ledger, error) {
	db, err := openDB(path)
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	l := &Ledger{path: path, db: db, days: map[string]*held{}, pending: map[string]bool{}}
	rows, err := db.Query(`SELECT meter, first, newest, held FROM freezes`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var meter, first, newest string
		var bits int64
		if err := rows.Scan(&meter, &first, &newest, &bits); err != nil {
			db.Close()
			return nil, fmt.Errorf("ledger %s: %w", path, err)
		}
		h := &held{bits: uint64(bits)}
		var e1, e2 error
		h.first, e1 = parseDay(first)
		h.newest, e2 = parseDay(newest)
		if e1 != nil || e2 != nil {
			db.Close()
			return nil, fmt.Errorf("ledger %s: meter %s: bad day %q or %q", path, meter, first, newest)
		}
		l.days[meter] = h
	}
	if err := rows.Err(); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	return l, nil
}

// Import adds the "meter day" lines of a ledger file of the former
// append-only format and removes the file once they are saved; a missing
// file is nothing to import. It returns the lines taken.
func (l *Ledger) Import(path string) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	found, err := importLines(path, func(meter, day string) {
		if t, err := time.Parse(time.DateOnly, day); err == nil && len(meter) == 12 {
			l.mark(meter, dayNum(t))
			n++
		}
	})
	if err != nil || !found {
		return 0, err
	}
	if err := l.flush(); err != nil {
		return 0, err
	}
	if err := os.Remove(path); err != nil {
		return n, fmt.Errorf("ledger: imported %s but cannot remove it: %w", path, err)
	}
	return n, nil
}

// mark sets day held for meter and reports whether that changed anything.
func (l *Ledger) mark(meter string, d int64) bool {
	h := l.days[meter]
	switch {
	case h == nil:
		h = &held{first: d, newest: d, bits: 1}
		l.days[meter] = h
	case d > h.newest:
		if d-h.newest >= span {
			h.bits = 0
		} else {
			h.bits <<= uint(d - h.newest)
		}
		h.bits |= 1
		h.newest = d
		h.first = min(h.first, d)
	case h.newest-d < span && h.bits&(1<<uint(h.newest-d)) == 0:
		h.bits |= 1 << uint(h.newest-d)
		h.first = min(h.first, d)
	case d < h.first:
		h.first = d // older than the span: only the first day matters
	default:
		return false
	}
	l.pending[meter] = true
	return true
}

// flush saves the pending meters' rows.
func (l *Ledger) flush() error {
	if len(l.pending) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(l.pending))
	for m := range l.pending {
		h := l.days[m]
		rows = append(rows, []any{m, dayText(h.first), dayText(h.newest), int64(h.bits)})
	}
	err := upsert(l.db, `INSERT INTO freezes (meter, first, newest, held) VALUES (?, ?, ?, ?)
		ON CONFLICT (meter) DO UPDATE SET first = excluded.first, newest = excluded.newest, held = excluded.held`, rows)
	if err != nil {
		return fmt.Errorf("ledger %s: saving the freezes of %d meters (kept, saved with the next mark): %w", l.path, len(rows), err)
	}
	clear(l.pending)
	return nil
}

// Mark records that the freeze of day is held for meter and saves it,
// with any mark an earlier failure left pending. On an error the mark is
// held in memory and saved again by the next Mark, Flush or Close.
func (l *Ledger) Mark(meter string, day time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mark(meter, dayNum(day))
	return l.flush()
}

// Flush saves the marks an earlier failure left pending.
func (l *Ledger) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flush()
}

// Pending is the number of meters whose marks are not saved yet.
func (l *Ledger) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}

// has reports whether day d is held in h.
func (h *held) has(d int64) bool {
	return h != nil && d <= h.newest && h.newest-d < span && h.bits&(1<<uint(h.newest-d)) != 0
}

// Has reports whether the freeze of day is held for meter.
func (l *Ledger) Has(meter string, day time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.days[meter].has(dayNum(day))
}

// Known reports whether the ledger holds any freeze of meter.
func (l *Ledger) Known(meter string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.days[meter] != nil
}

// Missing returns the freeze days of meter between its first held day
// and upTo (inclusive) that are not held, oldest first, looking back at
// most Window days from upTo: a meter's gaps, never days before the
// head-end first held it.
func (l *Ledger) Missing(meter string, upTo time.Time) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.days[meter]
	if h == nil {
		return nil
	}
	upTo = time.Date(upTo.Year(), upTo.Month(), upTo.Day(), 0, 0, 0, 0, upTo.Location())
	from := upTo.AddDate(0, 0, -(Window - 1))
	if back := dayNum(upTo) - h.first; back < Window-1 {
		from = upTo.AddDate(0, 0, -int(back))
	}
	var out []time.Time
	for d := from; !d.After(upTo); d = d.AddDate(0, 0, 1) {
		if !h.has(dayNum(d)) {
			out = append(out, d)
		}
	}
	return out
}

// Close saves what is pending and closes the file.
func (l *Ledger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.flush()
	if cerr := l.db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("ledger %s: %w", l.path, cerr)
	}
	return err
}
