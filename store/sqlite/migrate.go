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

// migrate1 turns a schema version 1 file into a version 2 one in one
// transaction: each read's frames blob moves into the frames table, once
// per distinct blob, its id the first 8 bytes of its SHA-256. The space
// the old column took is reused by new rows (VACUUM gives it back to the
// file system).
func migrate1(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "CREATE TABLE frames (id INTEGER PRIMARY KEY, blob BLOB NOT NULL); ALTER TABLE reads ADD COLUMN frame INTEGER;"); err != nil {
		return err
	}
	ids := map[string]int64{}
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
				if frame, err = frameIDv2(ctx, tx, ids, r.blob); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, "UPDATE reads SET frame = ? WHERE rowid = ?", frame, r.rowid); err != nil {
				return err
			}
		}
		after = chunk[len(chunk)-1].rowid
		clear(ids) // bounded memory; the table finds the others
	}
	if _, err := tx.ExecContext(ctx, "DROP VIEW points; ALTER TABLE reads DROP COLUMN frames; PRAGMA user_version = 2"); err != nil {
		return err
	}
	return tx.Commit()
}

// frameIDv2 returns the schema version 2 id of blob, adding it to frames
// if it is new: the first 8 bytes of its SHA-256, or the next free id
// after them.
func frameIDv2(ctx context.Context, tx *sql.Tx, ids map[string]int64, blob []byte) (int64, error) {
	if id, ok := ids[string(blob)]; ok {
		return id, nil
	}
	sum := sha256.Sum256(blob)
	id := int64(binary.BigEndian.Uint64(sum[:8]))
	for probe := 0; ; probe++ {
		if probe > 64 {
			return 0, fmt.Errorf("no free id near %d", id)
		}
		var have []byte
		err := tx.QueryRowContext(ctx, "SELECT blob FROM frames WHERE id = ?", id).Scan(&have)
		if errors.Is(err, sql.ErrNoRows) {
			if _, err := tx.ExecContext(ctx, "INSERT INTO frames (id, blob) VALUES (?, ?)", id, blob); err != nil {
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
	ids[string(blob)] = id
	return id, nil
}

// migrate2 turns a schema version 2 file into the current one in one
// transaction: a series takes the area, channel, DI, edition and unit of
// its reads (one series per combination), frames get small ids, and the
// reads are copied into the compact rows. The old tables are dropped;
// their pages are reused by new rows (VACUUM gives them back to the file
// system).
func migrate2(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `
DROP VIEW IF EXISTS points;
DROP INDEX IF EXISTS reads_area;
ALTER TABLE series RENAME TO series2;
ALTER TABLE reads RENAME TO reads2;
ALTER TABLE frames RENAME TO frames2;
CREATE TEMP TABLE frame_ids (old INTEGER PRIMARY KEY, new INTEGER NOT NULL);
`+seriesSchema+readsSchema+framesSchema); err != nil {
		return err
	}
	fs := frameStore{tx: tx, ids: map[string]int64{}}
	defer fs.close()
	var after int64 = -1 << 63
	for {
		rows, err := tx.QueryContext(ctx, "SELECT id, blob FROM frames2 WHERE id > ? ORDER BY id LIMIT 4096", after)
		if err != nil {
			return err
		}
		type frame struct {
			id   int64
			blob []byte
		}
		var chunk []frame
		for rows.Next() {
			var f frame
			if err := rows.Scan(&f.id, &f.blob); err != nil {
				rows.Close()
				return err
			}
			chunk = append(chunk, f)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		if len(chunk) == 0 {
			break
		}
		for _, f := range chunk {
			id, err := fs.id(ctx, f.blob)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO frame_ids (old, new) VALUES (?, ?)", f.id, id); err != nil {
				return err
			}
		}
		after = chunk[len(chunk)-1].id
		clear(fs.ids)
	}
	if _, err := tx.ExecContext(ctx, `
INSERT INTO series (meter, class, quantity, area, channel, di, edition, unit)
	SELECT DISTINCT s.meter, s.class, s.quantity, r.area, r.channel, r.di, r.edition, r.unit
	FROM reads2 r JOIN series2 s ON s.id = r.series ORDER BY s.id;
INSERT INTO reads (`+insertColumns+`)
	SELECT n.id, r.t, r.units, r.scale, r.text, `+statusCodeSQL("r.status")+`, NULLIF(r.err, ''),
		CASE WHEN r.meter_time IS NULL THEN 0 END,
		CASE WHEN r.read_at IS NULL THEN NULL
			WHEN typeof(r.read_at - r.t) = 'integer' THEN r.read_at - r.t
			ELSE CAST(r.read_at AS TEXT) END,
		r.tries, m.new
	FROM reads2 r JOIN series2 s ON s.id = r.series
	JOIN series n ON n.meter = s.meter AND n.class = s.class AND n.quantity = s.quantity AND n.area = r.area
		AND n.channel = r.channel AND n.di = r.di AND n.edition = r.edition AND n.unit = r.unit
	LEFT JOIN frame_ids m ON m.old = r.frame;
DROP TABLE reads2;
DROP TABLE series2;
DROP TABLE frames2;
DROP TABLE temp.frame_ids;
`+pointsView+fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}
