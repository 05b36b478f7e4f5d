package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"sync"
	"time"

	"github.com/sockproxylab/sockproxy/internal/sockio"
)

// trackingListener counts and tracks the client connections it accepts.
// It caps them at max (0: no cap), answering any over the cap with 503,
// and at shutdown closes those still open: net/http forgets hijacked
// connections, so this is how upgraded streams get closed.
type trackingListener struct {
	net.Listener
	max    int
	logger *log.Logger

	mu      sync.Mutex
	conns   map[*trackedConn]struct{}
	changed chan struct{} // closed and replaced whenever a conn closes
}

func newTrackingListener(ln net.Listener, max int, logger *log.Logger) *trackingListener {
	return &trackingListener{
		Listener: ln,
		max:      max,
		logger:   logger,
		conns:    make(map[*trackedConn]struct{}),
		changed:  make(chan struct{}),
	}
}

// Accept returns the next connection under the cap, refusing those over
// it.
func (l *trackingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if l.max > 0 && len(l.conns) >= l.max {
			l.mu.Unlock()
			l.logger.Printf("client refused: %s: at -max-conns %d", c.RemoteAddr(), l.max)
			go refuse(c, l.max)
			continue
		}
		tc := &trackedConn{Conn: c, l: l}
		l.conns[tc] = struct{}{}
		l.mu.Unlock()
		return tc, nil
	}
}

// refusal is the whole answer to a connection over the cap.
const refusal = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Connection: close\r\nContent-Length: %d\r\n\r\n%s"

// refuse answers 503 and closes c. It half-closes first and drains what the
// client sent, so that closing does not reset the connection before the
// client has read the answer.
func refuse(c net.Conn, max int) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	body := fmt.Sprintf("sockproxy: too many connections (-max-conns %d)\n", max)
	if _, err := fmt.Fprintf(c, refusal, len(body), body); err != nil {
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	io.Copy(io.Discard, io.LimitReader(c, 64<<10))
}

// wait waits until every tracked connection has closed or ctx is done,
// then closes those left and returns how many it closed.
func (l *trackingListener) wait(ctx context.Context) int {
	for {
		l.mu.Lock()
		n, changed := len(l.conns), l.changed
		l.mu.Unlock()
		if n == 0 {
			return 0
		}
		select {
		case <-changed:
			continue
		case <-ctx.Done():
		}
		l.mu.Lock()
		left := make([]*trackedConn, 0, len(l.conns))
		for c := range l.conns {
			left = append(left, c)
		}
		l.mu.Unlock()
		for _, c := range left {
			c.Close()
		}
		return len(left)
	}
}

func (l *trackingListener) forget(c *trackedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, c)
	close(l.changed)
	l.changed = make(chan struct{})
}

// trackedConn is an accepted connection that leaves the listener's set
// when closed. It passes CloseWrite, ReadFrom and WriteTo on to the
// underlying connection, so half-closes and net/http's sendfile/splice
// paths still work through it; code that needs the socket itself looks
// through it with sockio.Unwrap (see UnwrapConn).
type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.forget(c) })
	return err
}

// CloseWrite half-closes the connection.
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("sockproxy: CloseWrite not supported by " + fmt.Sprintf("%T", c.Conn))
}

// ReadFrom uses the underlying connection's ReadFrom (splice, sendfile).
func (c *trackedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// WriteTo uses the underlying connection's WriteTo (splice).
func (c *trackedConn) WriteTo(w io.Writer) (int64, error) {
	if wt, ok := c.Conn.(io.WriterTo); ok {
		return wt.WriteTo(w)
	}
	return io.Copy(w, struct{ io.Reader }{c.Conn})
}

// UnwrapConn returns the underlying connection (sockio.Wrapper): a
// trackedConn passes its bytes unchanged and buffers none, so the copy
// strategies may wait on and splice into the socket under it.
func (c *trackedConn) UnwrapConn() net.Conn { return c.Conn }

var _ sockio.Wrapper = (*trackedConn)(nil)
