//go:build !unix

package outbox

import "os"

// lockDir opens the lock file; on this platform it is not locked.
func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
}
