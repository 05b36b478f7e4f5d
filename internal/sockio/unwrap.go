package sockio

import "net"

// A Wrapper is a connection that passes its bytes unchanged to and from
// the connection it wraps, and holds none of them back in a buffer of its
// own, such as a listener's bookkeeping wrapper around an accepted
// *net.TCPConn. Code that needs the socket itself (a splice, a wait
// without a buffer, SO_LINGER) looks through it with [Unwrap]; closing
// still goes through the wrapper. Never implement it on a connection that
// transforms or buffers its bytes, such as a TLS connection or one read
// through a bufio.Reader. UnwrapConn never returns nil.
type Wrapper interface {
	UnwrapConn() net.Conn
}

// Unwrap returns the value under x's Wrappers, or x when it is no Wrapper.
// It allocates nothing.
func Unwrap(x any) any {
	for {
		w, ok := x.(Wrapper)
		if !ok {
			return x
		}
		x = w.UnwrapConn()
	}
}
