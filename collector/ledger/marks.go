package ledger

import (
	"database/sql"
	"fmt"
	"os"
	"sync"
	"time"
)

// Marks is the newest load-profile record time held per meter: where the
// next interval read starts, so that an outage is read back from the
// meters' load profile and no record is read twice. It keeps one row per
// meter, in the same kind of SQLite file as Ledger (it may be the same
// file).
type Marks struct {
	mu      sync.Mutex
	path    string
	db      *sql.DB
	latest  map[string]time.Time
	pending map[string]bool
}

// OpenMarks opens the marks in the SQLite file at path, creating it if
// need be, and reads them.
func OpenMarks(path string) (*Marks, error) {
	db, err := openDB(path)
	if err != nil {
		return nil, fmt.Errorf("marks %s: %w", path, err)
	}
	k := &Marks{path: path, db: db, latest: map[string]time.Time{}, pending: map[string]bool{}}
	rows, err := db.Query(`SELECT meter, at FROM marks`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("marks %s: %w", path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var meter, at string
		if err := rows.Scan(&meter, &at); err != nil {
			db.Close()
			return nil, fmt.Errorf("marks %s: %w", path, err)
		}
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("marks %s: meter %s: %w", path, meter, err)
		}
		k.latest[meter] = t
	}
	if err := rows.Err(); err != nil {
		db.Close()
		return nil, fmt.Errorf("marks %s: %w", path, err)
	}
	return k, nil
}

// Import adds the "meter time" lines of a marks file of the former
// append-only format and removes the file once they are saved; a missing
// file is nothing to import. It returns the lines taken.
func (k *Marks) Import(path string) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	found, err := importLines(path, func(meter, at string) {
		if t, err := time.Parse(time.RFC3339, at); err == nil && len(meter) == 12 {
			k.mark(meter, t)
			n++
		}
	})
	if err != nil || !found {
		return 0, err
	}
	if err := k.flush(); err != nil {
		return 0, err
	}
	if err := os.Remove(path); err != nil {
		return n, fmt.Errorf("marks: imported %s but cannot remove it: %w", path, err)
	}
	return n, nil
}

func (k *Marks) mark(meter string, t time.Time) {
	if t.After(k.latest[meter]) {
		k.latest[meter] = t
		k.pending[meter] = true
	}
}

func (k *Marks) flush() error {
	if len(k.pending) == 0 {
		return nil
	}
	rows := make([][]any, 0, len(k.pending))
	for m := range k.pending {
		rows = append(rows, []any{m, k.latest[m].Format(time.RFC3339)})
	}
	err := upsert(k.db, `INSERT INTO marks (meter, at) VALUES (?, ?) ON CONFLICT (meter) DO UPDATE SET at = excluded.at`, rows)
	if err != nil {
		return fmt.Errorf("marks %s: saving the marks of %d meters (kept, saved with the next mark): %w", k.path, len(rows), err)
	}
	clear(k.pending)
	return nil
}

// Mark records that meter's records up to t are held (an older t changes
// nothing) and saves it, with any mark an earlier failure left pending.
// On an error the mark is held in memory and saved again by the next
// Mark, Flush or Close.
func (k *Marks) Mark(meter string, t time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.mark(meter, t)
	return k.flush()
}

// Flush saves the marks an earlier failure left pending.
func (k *Marks) Flush() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.flush()
}

// Pending is the number of meters whose marks are not saved yet.
func (k *Marks) Pending() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.pending)
}

// Latest returns the newest record time held for meter, if any.
func (k *Marks) Latest(meter string) (time.Time, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t, ok := k.latest[meter]
	return t, ok
}

// Close saves what is pending and closes the file.
func (k *Marks) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	err := k.flush()
	if cerr := k.db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("marks %s: %w", k.path, cerr)
	}
	return err
}
