//go:build !unix

package link

// drainConn does nothing where sockets cannot be read without waiting:
// the dlt645.Reader's buffer is still dropped.
func drainConn(any) {}

// peerGone cannot tell here; a dead connection shows on the next read.
func peerGone(any) bool { return false }
