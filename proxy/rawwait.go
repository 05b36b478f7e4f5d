package proxy

import (
	"bufio"
	"bytes"
	"sync"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/internal/sockio"
)

// The raw transport's bodies are copy.ReadWaiters: a copy strategy waits
// on them before it takes a buffer, so that an idle stream (Docker's
// events, logs -f, an attached shell) holds no copy buffer. While one
// waits, its connection's read buffer, which is empty then, goes back to
// idleReaders: an idle stream through the raw transport holds neither
// buffer, only its goroutine and the connection's write buffer.
var (
	_ bodycopy.ReadWaiter = (*RawBody)(nil)
	_ bodycopy.ReadWaiter = (*rawChunkedBody)(nil)
	_ bodycopy.ReadWaiter = (*rawCloseBody)(nil)
	_ bodycopy.ReadWaiter = (*rawUpgradeBody)(nil)
)

// idleReaders holds the read buffers (*bufio.Reader of rawBufSize bytes)
// of connections whose body is waiting for the upstream.
var idleReaders sync.Pool

// WaitReadable blocks until a Read would not block: body bytes are
// buffered or pending on the connection, the connection ended or failed,
// or the body is done. It reads nothing, and holds no buffer while it
// waits (see [bodycopy.ReadWaiter]); Close, or cancelling the request's
// context, ends the wait.
func (b *RawBody) WaitReadable() error {
	if b.err != nil || b.finished.Load() || b.k > 0 || b.lr.N <= 0 {
		return nil
	}
	return b.f.rc.waitReadable()
}

// WaitReadable blocks until a Read would not block; see
// [RawBody.WaitReadable]. Framing is not data: the CRLF that ends a chunk
// (which usually arrives with the chunk, leaving the read buffer holding
// only it) is consumed here, so that a stream idle between two chunks
// waits with an empty read buffer, lent to the pool, rather than returning
// at once for a Read that would then block on the next size line.
func (b *rawChunkedBody) WaitReadable() error {
	if b.readyBuffered() {
		return nil
	}
	rc := b.f.rc
	if rc.br.Buffered() == 0 {
		return rc.waitReadable()
	}
	// Part of the framing only (a lone CR, or the start of a size line):
	// wait for the rest on the connection.
	return sockio.WaitConn(rc.c)
}

// readyBuffered reports whether a Read would return without waiting for
// the connection: the body has ended or failed, or chunk data or a whole
// size line is buffered. It consumes a buffered CRLF that ends the last
// chunk's data (see WaitReadable). Only the goroutine reading the body may
// call it.
func (b *rawChunkedBody) readyBuffered() bool {
	if b.err != nil || b.eof.Load() || b.f.rc.c == nil {
		return true
	}
	br := b.f.rc.br
	if b.n == 0 && b.needCRLF && br.Buffered() >= 2 {
		if p, _ := br.Peek(2); p[0] != '\r' || p[1] != '\n' {
			return true // malformed: Read reports it
		}
		br.Discard(2)
		b.needCRLF = false
	}
	n := br.Buffered()
	if n == 0 {
		return false
	}
	if b.n > 0 {
		return true // chunk data is buffered
	}
	p, _ := br.Peek(n)
	return !b.needCRLF && bytes.IndexByte(p, '\n') >= 0 // a whole size line
}

// WaitReadable blocks until a Read would not block; see
// [RawBody.WaitReadable].
func (b *rawCloseBody) WaitReadable() error {
	if b.err != nil || b.eof {
		return nil
	}
	return b.f.rc.waitReadable()
}

// WaitReadable blocks until a Read would not block; see
// [RawBody.WaitReadable]. Closing the connection ends the wait.
func (b *rawUpgradeBody) WaitReadable() error { return b.rc.waitReadable() }

// waitReadable waits until the connection has bytes buffered or pending.
// With its read buffer empty, it lends the buffer to idleReaders for the
// wait and takes one back after it. Only the goroutine reading the
// connection may call it: it replaces rc.br.
func (rc *rawConn) waitReadable() error {
	if rc.c == nil || rc.br.Buffered() > 0 {
		return nil
	}
	if rc.br.Size() != rawBufSize {
		return sockio.WaitConn(rc.c)
	}
	br := rc.br
	rc.br = nil
	br.Reset(nil) // keep no connection alive from the pool
	idleReaders.Put(br)
	err := sockio.WaitConn(rc.c)
	if v, ok := idleReaders.Get().(*bufio.Reader); ok {
		v.Reset(rc.c)
		rc.br = v
	} else {
		rc.br = bufio.NewReaderSize(rc.c, rawBufSize)
	}
	return err
}
