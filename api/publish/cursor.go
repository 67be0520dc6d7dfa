package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FileCursor is a Cursor in a file (the seq in decimal and a newline),
// replaced whole at each save: a single node's.
type FileCursor string

// Load is Cursor.
func (f FileCursor) Load(context.Context) (int64, error) {
	b, err := os.ReadFile(string(f))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("publish: cursor %s: %w", f, err)
	}
	seq, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || seq < 0 {
		return 0, fmt.Errorf("publish: cursor %s: %q is not a seq", f, b)
	}
	return seq, nil
}

// Save is Cursor: it writes a temporary file, syncs it and renames it
// over the cursor.
func (f FileCursor) Save(_ context.Context, seq int64) error {
	path := string(f)
	tmp := path + ".tmp"
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		return fmt.Errorf("publish: cursor: %w", err)
	}
	w, err := os.Create(tmp)
	if err == nil {
		_, err = fmt.Fprintf(w, "%d\n", seq)
		if err == nil {
			err = w.Sync()
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("publish: cursor %s: %w", path, err)
	}
	return nil
}
