//go:build unix

package outbox

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive flock on path, so a second process (or a
// second Open in this one) cannot use the same outbox. The kernel drops it
// when the process dies, kill -9 included.
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("outbox: %s is in use: %w", path, err)
	}
	return f, nil
}
