//go:build !unix

package outbox

import "errors"

// diskSpace is not known on this platform: no reserve is kept.
func diskSpace(string) (free, size int64, err error) {
	return 0, 0, errors.ErrUnsupported
}
