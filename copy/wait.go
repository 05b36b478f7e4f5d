package copy

import (
	"errors"
	"io"
	"net"

	"github.com/sockproxylab/sockproxy/internal/sockio"
)

// ReadWaiter is a source that can wait for its next bytes without a
// buffer. A strategy copying a stream (size -1) calls WaitReadable before it
// takes a buffer, so that a stream that stays idle pins no copy buffer
// while it waits.
type ReadWaiter interface {
	// WaitReadable blocks until a Read would not block: bytes, the end of
	// the stream or an error are pending, or the source was closed. It
	// reads nothing. It returns nil when a Read would not block, or an
	// error when it could not wait; either way the caller goes on to Read,
	// which reports the source's state. It must return when the source is
	// closed (a copy's cancellation closes it).
	WaitReadable() error
}

// ErrCannotWait is WaitReadable's answer for a reader that offers no way
// to wait without reading.
var ErrCannotWait = errors.New("copy: reader cannot wait for readability")

// WaitReadable blocks, holding no buffer, until a Read of r would not
// block. r can wait when it is a [ReadWaiter], or a *net.TCPConn or
// *net.UnixConn, possibly under connection wrappers that pass their bytes
// on unchanged (sockio.Wrapper, as a listener's bookkeeping connection),
// each alone or under an *io.LimitedReader; a socket waits in the
// runtime's network poller with a one-byte MSG_PEEK probe. Any other r
// returns [ErrCannotWait] at once. A wait that fails returns its error;
// the caller should Read anyway, and let the Read report it.
func WaitReadable(r io.Reader) error {
	if lr, ok := r.(*io.LimitedReader); ok {
		if lr.N <= 0 {
			return nil // Read returns io.EOF at once
		}
	}
	switch w := waiter(r).(type) {
	case ReadWaiter:
		return w.WaitReadable()
	case *net.TCPConn:
		return sockio.WaitConn(w)
	case *net.UnixConn:
		return sockio.WaitConn(w)
	}
	return ErrCannotWait
}

// canWait reports whether WaitReadable(r) can wait, without waiting.
func canWait(r io.Reader) bool {
	switch waiter(r).(type) {
	case ReadWaiter, *net.TCPConn, *net.UnixConn:
		return true
	}
	return false
}

// waiter returns what WaitReadable(r) waits on: r, or the reader under an
// *io.LimitedReader, when it is a ReadWaiter; else the value under its
// connection wrappers.
func waiter(r io.Reader) any {
	if lr, ok := r.(*io.LimitedReader); ok {
		r = lr.R
	}
	if w, ok := r.(ReadWaiter); ok {
		return w
	}
	return sockio.Unwrap(r)
}
