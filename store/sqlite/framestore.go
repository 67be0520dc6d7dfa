package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
)

// The frames of reads are kept once each, in the frames table: the reads
// of one transaction (a block's members, a load-profile record's
// channels) share its request and reply, and refer to them by id. An id
// is the first 8 bytes of the blob's SHA-256; a blob whose id is taken by
// another takes the next free one. Frames no read refers to any more go
// at the next Prune.
const framesSchema = `
CREATE TABLE frames (
	id   INTEGER PRIMARY KEY,
	blob BLOB    NOT NULL
);
`

// pointsView is the view of reads as rows, frames included (as their blob).
const pointsView = `
CREATE VIEW points AS
	SELECT s.meter, s.class, s.quantity, r.t, r.area, r.channel, r.di, r.edition, r.units, r.scale,
		r.text, r.unit, r.meter_time, r.read_at, r.status, r.err, f.blob AS frames, r.tries
	FROM reads r JOIN series s ON s.id = r.series LEFT JOIN frames f ON f.id = r.frame;
`

// frameStore finds or adds blobs in the frames table within one
// transaction.
type frameStore struct {
	tx       *sql.Tx
	ids      map[string]int64 // blobs of this transaction
	get, put *sql.Stmt
}

// id returns the id of blob, adding it if it is new.
func (fs *frameStore) id(ctx context.Context, blob []byte) (int64, error) {
	if id, ok := fs.ids[string(blob)]; ok {
		return id, nil
	}
	if fs.get == nil {
		var err error
		if fs.get, err = fs.tx.PrepareContext(ctx, "SELECT blob FROM frames WHERE id = ?"); err != nil {
			return 0, err
		}
		if fs.put, err = fs.tx.PrepareContext(ctx, "INSERT INTO frames (id, blob) VALUES (?, ?)"); err != nil {
			return 0, err
		}
	}
	sum := sha256.Sum256(blob)
	id := int64(binary.BigEndian.Uint64(sum[:8]))
	for probe := 0; ; probe++ {
		if probe > 64 {
			return 0, fmt.Errorf("no free id near %d", id)
		}
		var have []byte
		err := fs.get.QueryRowContext(ctx, id).Scan(&have)
		if errors.Is(err, sql.ErrNoRows) {
			if _, err := fs.put.ExecContext(ctx, id, blob); err != nil {
				return 0, err
			}
			break
		}
		if err != nil {
			return 0, err
		}
		if bytes.Equal(have, blob) {
			break
		}
		id++ // another blob has this id
	}
	fs.ids[string(blob)] = id
	return id, nil
}

func (fs *frameStore) close() {
	if fs.get != nil {
		fs.get.Close()
		fs.put.Close()
	}
}

// migrate1 turns a schema version 1 file into the current one in one
// transaction: each read's frames blob moves into the frames table, once
// per distinct blob. The space the old column took is reused by new rows
// (VACUUM gives it back to the file system).
func migrate1(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, framesSchema+"ALTER TABLE reads ADD COLUMN frame INTEGER;"); err != nil {
		return err
	}
	fs := frameStore{tx: tx, ids: map[string]int64{}}
	defer fs.close()
	type row struct {
		rowid int64
		blob  []byte
	}
	var after int64 = -1 << 63
	for {
		rows, err := tx.QueryContext(ctx, "SELECT rowid, frames FROM reads WHERE rowid > ? ORDER BY rowid LIMIT 4096", after)
		if err != nil {
			return err
		}
		var chunk []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.rowid, &r.blob); err != nil {
				rows.Close()
				return err
			}
			chunk = append(chunk, r)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		if len(chunk) == 0 {
			break
		}
		for _, r := range chunk {
			if _, _, err := decodeFrames(r.blob); err != nil {
				return fmt.Errorf("read %d: %w", r.rowid, err)
			}
			var frame any
			if !bytes.Equal(r.blob, []byte{framesV1, 0}) { // no frames at all: NULL
				if frame, err = fs.id(ctx, r.blob); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, "UPDATE reads SET frame = ? WHERE rowid = ?", frame, r.rowid); err != nil {
				return err
			}
		}
		after = chunk[len(chunk)-1].rowid
		clear(fs.ids) // bounded memory; the table finds the others
	}
	if _, err := tx.ExecContext(ctx, "DROP VIEW points; ALTER TABLE reads DROP COLUMN frames;"+pointsView+
		fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}
