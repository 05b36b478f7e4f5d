package wire

import (
	"context"
	"io"
	"sync/atomic"
)

// lengthBody is the Body of a Content-Length response: first the body
// bytes already read into the connection's buffer with the header, then
// the rest straight from the *net.UnixConn through an *io.LimitedReader.
// It is one span for a copy strategy that splices (Span): the buffered
// head is written from memory, the rest can be spliced.
//
// Its connection returns to the pool as soon as the last byte is read
// (through Read or Span); a Close before that, or a read failure, closes
// it. A body that ends before Content-Length bytes fails with
// io.ErrUnexpectedEOF. Its methods are not safe for concurrent use but
// for Close; cancel the request's context to abort a blocked Read.
type lengthBody struct {
	fin      finisher
	f        *finisher        // &fin
	k        int              // body bytes still in the connection's read buffer
	lr       io.LimitedReader // the rest, straight from the connection
	finished atomic.Bool      // read to its end (Close may look from another goroutine)
	err      error
}

// Read reads the buffered bytes, then from the connection.
func (b *lengthBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.finished.Load() {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var err error
	if b.k > 0 {
		n, _ = b.f.rc.br.Read(p[:min(len(p), b.k)])
		b.k -= n
	} else {
		n, err = b.lr.Read(p)
	}
	if b.k == 0 && b.lr.N == 0 {
		b.finished.Store(true)
		b.f.finish(true)
		return n, nil // io.EOF on the next Read
	}
	if err != nil {
		b.err = b.f.readErr(err)
		return n, b.err
	}
	return n, nil
}

// ClosesOnDone reports whether ctx being done ends a blocked Read without
// a Close: true when ctx is done together with the request's context
// (they share its Done channel), whose end closes the connection. The copy
// strategies use it to skip arranging a Close of their own.
func (b *lengthBody) ClosesOnDone(ctx context.Context) bool { return b.f.closesOnDone(ctx) }

// Close ends the body: a body read to its end frees its connection for
// reuse, any other is closed with its connection. Close may be called
// concurrently with Read (a copy strategy closes its source when the
// request is cancelled): the connection is then closed, which ends the
// Read.
func (b *lengthBody) Close() error {
	b.f.finish(b.finished.Load())
	return nil
}

// Span implements copy.SpliceSource: one span, the buffered bytes and the
// rest of the body straight from the connection.
func (b *lengthBody) Span() ([]byte, *io.LimitedReader, error) {
	if b.err != nil {
		return nil, nil, b.err
	}
	if b.finished.Load() {
		return nil, nil, io.EOF
	}
	if b.k == 0 && b.lr.N == 0 {
		b.finished.Store(true)
		b.f.finish(true)
		return nil, nil, io.EOF
	}
	var head []byte
	if b.k > 0 {
		br := b.f.rc.br
		head, _ = br.Peek(b.k)
		br.Discard(b.k) // head stays valid: nothing reads into br until the next Span
		b.k = 0
	}
	return head, &b.lr, nil
}

// WaitReadable blocks until a Read would not block: body bytes are
// buffered or pending on the connection, the connection ended or failed,
// or the body is done. It reads nothing, and holds no buffer while it
// waits (see [bodycopy.ReadWaiter]); Close, or cancelling the request's
// context, ends the wait.
func (b *lengthBody) WaitReadable() error {
	if b.err != nil || b.finished.Load() || b.k > 0 || b.lr.N <= 0 {
		return nil
	}
	return b.f.rc.waitReadable()
}
