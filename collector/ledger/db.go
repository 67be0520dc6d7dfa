package ledger

import (
	"bufio"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// openDB opens (creating) the SQLite file at path that holds the
// collector's state, with both tables. Commits do not wait for the disk
// (WAL, synchronous NORMAL): a mark lost to a power cut only makes a
// freeze or a record be read again.
func openDB(path string) (*sql.DB, error) {
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, errors.New("want the path of a file, without '?'")
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS freezes (meter TEXT PRIMARY KEY, first TEXT NOT NULL, newest TEXT NOT NULL, held INTEGER NOT NULL) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS marks (meter TEXT PRIMARY KEY, at TEXT NOT NULL) WITHOUT ROWID`,
	} {
		if _, err := db.Exec(q); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// upsert writes rows (one per meter) in one transaction.
func upsert(db *sql.DB, q string, rows [][]any) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	st, err := tx.Prepare(q)
	if err != nil {
		tx.Rollback()
		return err
	}
	for _, r := range rows {
		if _, err := st.Exec(r...); err != nil {
			st.Close()
			tx.Rollback()
			return err
		}
	}
	st.Close()
	return tx.Commit()
}

// importLines calls add with the two fields of every "a b" line of the
// file at path (the format of the former append-only files); a missing
// file has no lines.
func importLines(path string, add func(a, b string)) (bool, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if a, b, ok := strings.Cut(sc.Text(), " "); ok {
			add(a, b)
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return true, nil
}
