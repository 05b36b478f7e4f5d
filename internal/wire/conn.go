package wire

import (
	"bufio"
	"io"
	"net"
	"sync"
	"time"

	"github.com/sockproxylab/sockproxy/internal/sockio"
)

// conn is one upstream connection with its buffers.
type conn struct {
	t  *Transport
	c  *net.UnixConn // nil in parsing tests
	rd io.Reader     // c, or the test's reader
	io io.ReadWriter // c through raw system calls (sockio.RawIO): the buffers' side
	br *bufio.Reader // the connection's read buffer (writes take one from writers)

	idleSince time.Time
	abort     func()        // closes c; made once, for context.AfterFunc
	probe     *sockio.Probe // checks c for bytes or its end before a reuse; made at the first

	headReader // parsing scratch, reused by every response on this connection

	// nextBody is the lengthBody allocated with the response being read,
	// for frame to use when the body has a Content-Length.
	nextBody *lengthBody

	pre prefixReader // br's reader after unread
}

func newConn(t *Transport, c *net.UnixConn) *conn {
	rc := &conn{t: t, c: c, rd: c, io: c}
	if r, err := sockio.NewRawIO(c); err == nil {
		rc.io = r
	}
	rc.takeReader() // one a parked or idle body lent, if any
	rc.abort = func() { c.Close() }
	return rc
}

// writers holds the write buffers of requests being written.
var writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, bufSize) }}

// putWriter returns bw to writers, dropping its connection.
func putWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	writers.Put(bw)
}

func (rc *conn) close() {
	if rc.c != nil {
		rc.c.Close()
	}
}

// unsolicited reports whether the idle connection rc has something
// pending: bytes nobody asked for (an upstream that wrote past its
// response), which would be read as the next request's answer, or its end
// (the upstream closed it while idle), which would cost a failed write and
// a retry. Either way it must not be reused. Checking costs one
// non-blocking recv(MSG_PEEK) per reuse, as Go's transport's idle read
// does in its own goroutine.
func (rc *conn) unsolicited() bool {
	if rc.c == nil {
		return false
	}
	if rc.probe == nil {
		p, err := sockio.NewProbe(rc.c)
		if err != nil {
			return true
		}
		rc.probe = p
	}
	return rc.probe.Readable()
}

// idleReaders holds the read buffers (*bufio.Reader of bufSize bytes)
// of connections whose body is waiting for the upstream.
var idleReaders sync.Pool

// waitReadable waits until the connection has bytes buffered or pending.
// With its read buffer empty, it lends the buffer to idleReaders for the
// wait and takes one back after it. Only the goroutine reading the
// connection may call it: it replaces rc.br.
func (rc *conn) waitReadable() error {
	if rc.c == nil || rc.br.Buffered() > 0 {
		return nil
	}
	if rc.br.Size() != bufSize {
		return sockio.WaitConn(rc.c)
	}
	rc.lendReader()
	err := sockio.WaitConn(rc.c)
	rc.takeReader()
	return err
}

// lendReader puts the connection's empty read buffer (of bufSize) in
// idleReaders; takeReader gives it one back. Only the goroutine reading
// the connection may call them.
func (rc *conn) lendReader() {
	br := rc.br
	rc.br = nil
	br.Reset(nil) // keep no connection alive from the pool
	idleReaders.Put(br)
}

func (rc *conn) takeReader() {
	if v, ok := idleReaders.Get().(*bufio.Reader); ok {
		v.Reset(rc.io)
		rc.br = v
	} else {
		rc.br = bufio.NewReaderSize(rc.io, bufSize)
	}
}

// unread puts p, bytes read from br or from the connection past it, back
// in front of what br still holds: the next reads of br return p first.
// All of p goes into br's buffer at once, so the caller may reuse p's
// storage on return: into a larger buffer when p does not fit, which
// unread reports (the connection had better not be kept with it).
func (rc *conn) unread(p []byte) (grew bool) {
	if len(p) == 0 {
		return false
	}
	if k := rc.br.Buffered(); k > 0 {
		// Only when the caller's buffer took part of a large br (a long
		// trailer put back before): rare, so a copy.
		rest, _ := rc.br.Peek(k)
		p = append(append(make([]byte, 0, len(p)+k), p...), rest...)
	}
	rc.pre = prefixReader{p: p, r: rc.reader()}
	if len(p) <= rc.br.Size() {
		rc.br.Reset(&rc.pre)
	} else {
		rc.br = bufio.NewReaderSize(&rc.pre, len(p))
		grew = true
	}
	rc.br.Peek(len(p)) // one Read of rc.pre: p alone, nothing from the connection
	rc.pre.p = nil
	return grew
}

// reader is what br reads from: the raw I/O, or (in parsing tests) rd.
func (rc *conn) reader() io.Reader {
	if rc.io != nil {
		return rc.io
	}
	return rc.rd
}

// prefixReader reads p, then r.
type prefixReader struct {
	p []byte
	r io.Reader
}

func (x *prefixReader) Read(b []byte) (int, error) {
	if len(x.p) > 0 {
		n := copy(b, x.p)
		x.p = x.p[n:]
		return n, nil
	}
	return x.r.Read(b)
}
