//go:build unix

package link

import (
	"syscall"
	"time"
)

// drainConn reads and drops what already waits in a socket's receive
// buffer, without waiting for more.
func drainConn(c any) {
	raw := rawConn(c)
	if raw == nil {
		return
	}
	var buf [512]byte
	raw.Read(func(fd uintptr) bool {
		for {
			n, err := syscall.Read(int(fd), buf[:])
			if n <= 0 || err != nil {
				return true
			}
		}
	})
}

// peerGone reports whether the peer of a socket has closed it or reset it,
// without consuming any byte: a connection that sat idle is checked before
// a request is written to it, so that the request goes on a fresh one.
func peerGone(c any) bool {
	raw := rawConn(c)
	if raw == nil {
		return false
	}
	var gone bool
	var buf [1]byte
	raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK)
		gone = (n == 0 && err == nil) || (err != nil && err != syscall.EAGAIN && err != syscall.EWOULDBLOCK && err != syscall.EINTR)
		return true
	})
	return gone
}

func rawConn(c any) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	// RawConn.Read fails at once while a past read deadline stands.
	if d, ok := c.(interface{ SetReadDeadline(time.Time) error }); ok {
		d.SetReadDeadline(time.Time{})
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}
