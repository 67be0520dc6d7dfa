//go:build unix

package outbox

import "golang.org/x/sys/unix"

// diskSpace returns the bytes free to an unprivileged writer and the size
// of the filesystem holding dir.
func diskSpace(dir string) (free, size int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, 0, err
	}
	bs := int64(st.Bsize)
	return int64(st.Bavail) * bs, int64(st.Blocks) * bs, nil
}
