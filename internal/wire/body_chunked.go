package wire

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/sockproxylab/sockproxy/internal/sockio"
)

// ChunkedBody decodes a chunked body (RFC 9112 section 7.1).
type ChunkedBody struct {
	fin      finisher
	f        *finisher // &fin
	res      *http.Response
	n        int64 // bytes left in the current chunk
	needCRLF bool  // the current chunk's data is read; its CRLF is not
	started  bool
	eof      atomic.Bool // read to its end (Close may look from another goroutine)
	err      error
}

// ClosesOnDone is as [lengthBody.ClosesOnDone].
func (b *ChunkedBody) ClosesOnDone(ctx context.Context) bool { return b.f.closesOnDone(ctx) }

func (b *ChunkedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.eof.Load() {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if err := b.startChunk(); err != nil {
		return 0, err
	}
	// As much of the chunk as fits in p: what is buffered (for a chunk
	// that fits the buffer, one fill of it), then the rest straight from
	// the connection, waiting for the bytes the upstream is still sending.
	// Returning only the buffer's tail would split each chunk the size of
	// a copy buffer into two writes (and two flushes) downstream.
	want := int(min(int64(len(p)), b.n))
	n, err := b.f.rc.br.Read(p[:want])
	for empty := 0; err == nil && n < want; {
		var m int
		m, err = b.f.rc.rd.Read(p[n:want])
		n += m
		if m == 0 && err == nil {
			if empty++; empty >= 100 {
				err = io.ErrNoProgress
			}
		}
	}
	b.n -= int64(n)
	if b.n == 0 {
		b.needCRLF = true
	}
	if err != nil {
		b.err = b.f.readErr(err)
		return n, b.err
	}
	return n, nil
}

// startChunk begins the next chunk when the current one is used up (see
// nextChunk). The body's end is recorded (io.EOF from then on), and any
// other error is kept for every later call.
func (b *ChunkedBody) startChunk() error {
	if b.n > 0 {
		return nil
	}
	err := b.nextChunk()
	switch {
	case err == io.EOF:
		b.eof.Store(true)
	case err != nil:
		b.err = err
	}
	return err
}

// nextChunk reads the CRLF ending the previous chunk and the next chunk's
// size line; at the last chunk it reads the trailer and returns io.EOF.
func (b *ChunkedBody) nextChunk() error {
	rc := b.f.rc
	if b.needCRLF {
		b.needCRLF = false
		if err := readChunkEnd(rc.br); err != nil {
			if errors.Is(err, errMalformed) {
				b.f.finish(false)
				return fmt.Errorf("raw transport: reading response body: %w", err)
			}
			return b.f.readErr(err)
		}
	}
	limit := maxHeaderBytes
	n, _, err := rc.readChunkSize(rc.br, &limit)
	if err != nil {
		if errors.Is(err, errMalformed) {
			b.f.finish(false)
			return fmt.Errorf("raw transport: reading response body: %w", err)
		}
		return b.f.readErr(err)
	}
	if n > 0 {
		b.n = n
		return nil
	}
	// Last chunk: trailer fields up to the empty line.
	if err := rc.readFields(rc.br, &limit); err != nil {
		if errors.Is(err, errMalformed) {
			b.f.finish(false)
			return fmt.Errorf("raw transport: reading response trailer: %w", err)
		}
		return b.f.readErr(err)
	}
	for _, kv := range rc.kv {
		if b.res.Trailer == nil {
			b.res.Trailer = make(http.Header)
		}
		b.res.Trailer[kv.key] = append(b.res.Trailer[kv.key], kv.value)
	}
	if rc.br.Buffered() > 0 {
		b.f.keep = false // bytes after the body: the connection is out of step
	}
	b.f.finish(true)
	return io.EOF
}

// Close ends the body; one not read to its end closes its connection. As
// for lengthBody, Close may run concurrently with Read.
func (b *ChunkedBody) Close() error {
	b.f.finish(b.eof.Load())
	return nil
}

// Span implements copy.SpliceSource: one span per chunk, the chunk's bytes
// already buffered and the rest of the chunk straight from the connection.
func (b *ChunkedBody) Span() ([]byte, *io.LimitedReader, error) {
	if b.err != nil {
		return nil, nil, b.err
	}
	if b.eof.Load() {
		return nil, nil, io.EOF
	}
	if err := b.startChunk(); err != nil {
		return nil, nil, err
	}
	br := b.f.rc.br
	k := int(min(int64(br.Buffered()), b.n))
	head, _ := br.Peek(k)
	br.Discard(k)
	rest := &io.LimitedReader{R: b.f.rc.rd, N: b.n - int64(k)}
	b.n = 0
	b.needCRLF = true
	return head, rest, nil
}

// MinFramedBuf is the smallest buffer ReadFramed takes: a size line of
// the longest it allows, held back from one read, with room to complete it.
const MinFramedBuf = 2 * maxChunkLine

// ReadFramed reads the body's chunks, framing included, into buf and
// returns the bytes to write as they are: whole size lines (extensions
// kept), payload and CRLFs, validated as they pass (see chunkScan), never
// re-chunked. payload counts the chunk data among them. It reads what the
// connection's read buffer holds, else one read from the connection into
// buf: many chunks per system call when the upstream sent them together,
// and what arrived handed out at once (a stream's event is not held for
// more). A size line or CRLF that arrived in part is kept (back in the
// read buffer) until the rest comes.
//
// At the last chunk it returns io.EOF, the body's own reading having read
// that chunk and the trailer into the response's Trailer (and decided the
// connection's reuse): the caller writes the last chunk itself. Malformed
// framing or a connection that ends or fails mid-body is an error after
// the valid bytes before it (framed holds them; write them or not, the
// body has failed). When the bytes that came complete nothing and no more
// are pending, it returns nothing and no error rather than wait holding
// buf: call WaitReadable, then ReadFramed again. It reads (and may block)
// only when ReadyNow would be true, or after such a return.
//
// buf must hold at least MinFramedBuf bytes. Read, Span and ReadFramed may
// follow one another.
func (b *ChunkedBody) ReadFramed(buf []byte) (framed []byte, payload int, err error) {
	if b.err != nil {
		return nil, 0, b.err
	}
	if b.eof.Load() {
		return nil, 0, io.EOF
	}
	if len(buf) < MinFramedBuf {
		return nil, 0, fmt.Errorf("raw transport: ReadFramed: a %d-byte buffer; want at least %d", len(buf), MinFramedBuf)
	}
	rc := b.f.rc
	s := chunkScan{n: b.n, crlf: b.needCRLF}
	n, pass := 0, 0 // bytes in buf, of which pass are validated
	for {
		var rerr error
		var m int
		if rc.br.Buffered() > 0 {
			m, _ = rc.br.Read(buf[n:]) // what is buffered, no more
		} else {
			m, rerr = rc.reader().Read(buf[n:])
		}
		n += m
		k, pl, serr := s.scan(buf[pass:n])
		pass += k
		payload += pl
		b.n, b.needCRLF = s.n, s.crlf
		switch {
		case serr != nil:
			b.f.finish(false)
			b.err = fmt.Errorf("raw transport: reading response body: %w", serr)
			return buf[:pass], payload, b.err
		case s.last:
			if rc.unread(buf[pass:n]) {
				// A trailer (or bytes after the body) longer than the
				// read buffer: the connection is not kept with the
				// larger buffer that took it back.
				b.f.keep = false
			}
			if pass > 0 {
				return buf[:pass], payload, nil
			}
			return nil, 0, b.startChunk() // the last chunk and the trailer: io.EOF
		case rerr != nil:
			b.err = b.f.readErr(rerr)
			return buf[:pass], payload, b.err
		case pass > 0:
			rc.unread(buf[pass:n])
			return buf[:pass], payload, nil
		case m == 0:
			b.err = b.f.readErr(io.ErrNoProgress)
			return nil, 0, b.err
		case rc.br.Buffered() == 0 && rc.c != nil && !sockio.Readable(rc.c):
			rc.unread(buf[:n])
			return nil, 0, nil
		}
	}
}

// WaitReadable blocks until a Read would not block; see
// [lengthBody.WaitReadable]. Framing is not data: the CRLF that ends a chunk
// (which usually arrives with the chunk, leaving the read buffer holding
// only it) is consumed here, so that a stream idle between two chunks
// waits with an empty read buffer, lent to the pool, rather than returning
// at once for a Read that would then block on the next size line.
func (b *ChunkedBody) WaitReadable() error {
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
func (b *ChunkedBody) readyBuffered() bool {
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

// ReadyNow reports, without blocking, whether a Read would return at once:
// readyBuffered, or the connection has bytes pending.
func (b *ChunkedBody) ReadyNow() bool {
	return b.readyBuffered() || sockio.Readable(b.f.rc.c)
}

// WaitIdle waits until a Read would not block or d has passed, holding no
// buffer (see WaitReadable). It reports whether d passed: the stream is
// idle.
func (b *ChunkedBody) WaitIdle(d time.Duration) bool {
	c := b.f.rc.c
	if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
		return false // closed: the next Read tells
	}
	err := b.WaitReadable()
	c.SetReadDeadline(time.Time{})
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// detach moves the body from the request's context to ctx: the round
// trip's registration, which closes the connection when the request's
// context ends, is stopped (the context ends when ServeHTTP returns on a
// hijacked connection), and a Copy under ctx closes the body itself. It
// reports false when the registration had already run.
func (b *ChunkedBody) Detach(ctx context.Context) bool {
	f := b.f
	if f.stop != nil {
		if !f.stop() {
			return false
		}
		f.stop = nil
	}
	f.ctx = ctx
	return true
}

// Park prepares an idle body for a wait its caller does itself (a poller
// of its own, watching the connection for bytes or its end): it lends
// the body's read buffer to the pool and returns the upstream connection,
// which the caller must neither read nor close. It returns nil, changing
// nothing, when a Read would not need the connection (see readyBuffered)
// or part of the framing is buffered. Unpark takes a read buffer back; the
// body must not be used between the two. Only the goroutine reading the
// body may call them.
func (b *ChunkedBody) Park() *net.UnixConn {
	rc := b.f.rc
	if b.readyBuffered() || rc.br.Buffered() > 0 || rc.br.Size() != bufSize {
		return nil
	}
	rc.lendReader()
	// The response head's parsing scratch goes too (the trailer's and the
	// next response's make it anew): a parked stream holds its
	// connection and little else.
	rc.kv, rc.prev, rc.scrap = nil, nil, nil
	return rc.c
}

// Unpark ends a Park: the body reads through a buffer again.
func (b *ChunkedBody) Unpark() {
	if rc := b.f.rc; rc.br == nil {
		rc.takeReader()
	}
}
