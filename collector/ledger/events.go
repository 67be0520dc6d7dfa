package ledger

import (
	"database/sql"
	"fmt"
	"sync"
)

// EventLog names one of a Q/GDW 1376.1 terminal's two event logs.
type EventLog int

// The logs: important events (EC1, AFN 0E F1) and normal events (EC2, F2).
const (
	Important EventLog = 1
	Normal    EventLog = 2
)

// Pointers is, per terminal and event log, the pointer up to which the
// head-end has read the terminal's event records (the Pn of its last
// AFN 0E request that was answered and handed on): where the next read
// starts, so that after a reconnect or a restart no record is read twice
// or skipped. One row per terminal and log, in the same kind of SQLite
// file as Ledger (it may be the same file).
type Pointers struct {
	mu   sync.Mutex
	path string
	db   *sql.DB
	next map[pointerKey]uint8
}

type pointerKey struct {
	terminal string
	log      EventLog
}

// OpenPointers opens the pointers in the SQLite file at path, creating
// it if need be, and reads them.
func OpenPointers(path string) (*Pointers, error) {
	db, err := openDB(path)
	if err != nil {
		return nil, fmt.Errorf("event pointers %s: %w", path, err)
	}
	p := &Pointers{path: path, db: db, next: map[pointerKey]uint8{}}
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS event_pointers (terminal TEXT NOT NULL, log INTEGER NOT NULL, next INTEGER NOT NULL, PRIMARY KEY (terminal, log)) WITHOUT ROWID`); err != nil {
		db.Close()
		return nil, fmt.Errorf("event pointers %s: %w", path, err)
	}
	rows, err := db.Query(`SELECT terminal, log, next FROM event_pointers`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("event pointers %s: %w", path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k pointerKey
		var n int
		if err := rows.Scan(&k.terminal, &k.log, &n); err != nil {
			db.Close()
			return nil, fmt.Errorf("event pointers %s: %w", path, err)
		}
		if n < 0 || n > 255 {
			db.Close()
			return nil, fmt.Errorf("event pointers %s: terminal %s log %d: pointer %d is not 0..255", path, k.terminal, k.log, n)
		}
		p.next[k] = uint8(n)
	}
	if err := rows.Err(); err != nil {
		db.Close()
		return nil, fmt.Errorf("event pointers %s: %w", path, err)
	}
	return p, nil
}

// Next returns where the next read of the terminal's log starts, and
// whether the head-end has read it before.
func (p *Pointers) Next(terminal string, log EventLog) (uint8, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, ok := p.next[pointerKey{terminal, log}]
	return n, ok
}

// Set records that the terminal's log is read up to (not including)
// next, and saves it.
func (p *Pointers) Set(terminal string, log EventLog, next uint8) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := pointerKey{terminal, log}
	if old, ok := p.next[k]; ok && old == next {
		return nil
	}
	if _, err := p.db.Exec(`INSERT INTO event_pointers (terminal, log, next) VALUES (?, ?, ?) ON CONFLICT (terminal, log) DO UPDATE SET next = excluded.next`,
		terminal, int(log), int(next)); err != nil {
		return fmt.Errorf("event pointers %s: terminal %s log %d: %w", p.path, terminal, log, err)
	}
	p.next[k] = next
	return nil
}

// Close closes the file.
func (p *Pointers) Close() error { return p.db.Close() }
