//go:build unix

package gateway

import (
	"net"
	"syscall"
)

// connAlive reports whether an idle backend connection can carry a
// request: the backend has neither closed it nor sent anything unasked.
// It peeks without blocking, so it costs one system call.
func connAlive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Nothing to read is the one healthy answer: 0 bytes is the
		// backend's close, data is an answer nobody asked for.
		alive = n <= 0 && (rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK)
		return true
	})
	return err == nil && alive
}
