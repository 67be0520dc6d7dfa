package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
)

// The frames of reads are kept once each, in the frames table: the reads
// of one transaction (a block's members, a load-profile record's
// channels) share its request and reply, and refer to them by id, a small
// integer. sum, the first 4 bytes of the blob's SHA-256, finds a blob
// again; blobs with one sum are told apart by their bytes. Frames no read
// refers to any more go at the next Prune.
const framesSchema = `
CREATE TABLE frames (
	id   INTEGER PRIMARY KEY,
	sum  INTEGER NOT NULL,
	blob BLOB    NOT NULL
);
CREATE INDEX frames_sum ON frames (sum);
`

// frameSum is the sum column of blob.
func frameSum(blob []byte) int64 {
	h := sha256.Sum256(blob)
	return int64(int32(binary.BigEndian.Uint32(h[:4])))
}

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
		if fs.get, err = fs.tx.PrepareContext(ctx, "SELECT id, blob FROM frames WHERE sum = ?"); err != nil {
			return 0, err
		}
		if fs.put, err = fs.tx.PrepareContext(ctx, "INSERT INTO frames (sum, blob) VALUES (?, ?)"); err != nil {
			return 0, err
		}
	}
	sum := frameSum(blob)
	id, err := fs.find(ctx, sum, blob)
	if err != nil {
		return 0, err
	}
	if id == 0 {
		res, err := fs.put.ExecContext(ctx, sum, blob)
		if err != nil {
			return 0, err
		}
		if id, err = res.LastInsertId(); err != nil {
			return 0, err
		}
	}
	fs.ids[string(blob)] = id
	return id, nil
}

// find returns the id of blob, whose sum is sum, or 0 if it is not stored.
func (fs *frameStore) find(ctx context.Context, sum int64, blob []byte) (int64, error) {
	rows, err := fs.get.QueryContext(ctx, sum)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var have []byte
		if err := rows.Scan(&id, &have); err != nil {
			return 0, err
		}
		if bytes.Equal(have, blob) {
			return id, nil
		}
	}
	return 0, rows.Err()
}

func (fs *frameStore) close() {
	if fs.get != nil {
		fs.get.Close()
		fs.put.Close()
	}
}
