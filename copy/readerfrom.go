package copy

import (
	"context"
	"errors"
	"io"
	"net"
)

// ReaderFrom hands the copy to the destination's io.ReaderFrom, or else to
// the source's io.WriterTo, as io.Copy would (but in that order), so that
// whatever fast path they have can run; failing both it copies through a
// pooled 32 KiB buffer (Pooled's class, no allocation once warm).
//
// It reaches splice(2) only where the standard library does: when dst is a
// *net.TCPConn (or net/http's response writer over one, for a response that
// is not chunked, after its first 512 bytes) and src is a raw *net.UnixConn
// or *net.TCPConn, or an *io.LimitedReader directly over one. That holds in
// BenchmarkCopy and for a caller that hands over its sockets, but not for
// an http.Transport response body: it is none of those types, so
// net.TCPConn.ReadFrom falls back to io.Copy, which allocates a 32 KiB
// buffer per response (net/http's response.ReadFrom adds its own pooled
// buffer for the first 512 bytes). ReaderFrom is then no faster than Alloc.
// The same holds in reverse for src a *net.TCPConn and dst a *net.UnixConn
// (TCPConn.WriteTo splices).
//
// Read and write errors: when src is not a raw socket, ReaderFrom wraps it
// in a small reader that remembers its errors, so a failure is labelled
// SideRead when it came from src and SideWrite otherwise; likewise it wraps
// dst for WriterTo. The wrapper hides an io.WriterTo of src from dst's
// ReadFrom (a *bytes.Reader into a *net.TCPConn then goes through net's
// 32 KiB fallback buffer). A wrapper would hide the socket from net's splice
// check, so a raw socket is passed as it is: a failure is then labelled
// from the innermost *net.OpError ("read" or "write", which the
// non-splice fallback reports) and is SideUnknown when it came from the
// splice system call itself, which moves bytes between both descriptors.
// A source that ends before size is still a SideRead failure.
//
// A stream (size -1) whose source can wait for readability ([WaitReadable])
// is waited on before the copy starts, so that a stream that never speaks
// holds neither the fallback buffer nor (for splice) a pipe. On the
// fallback path such a stream also returns its buffer to the pool after
// every Read of less than 4 KiB, and waits again before taking it back.
var ReaderFrom Strategy = readerFromStrategy{}

type readerFromStrategy struct{}

func (readerFromStrategy) Name() string { return "readerfrom" }

func (readerFromStrategy) Copy(ctx context.Context, dst io.Writer, src io.Reader, size int64) (int64, error) {
	c := closeOnCancel(ctx, dst, src)
	n, err := readerFromCopy(dst, src, size < 0 && canWait(src))
	if err == nil {
		err = checkSize(n, size)
	}
	return n, c.finish(n, err)
}

// readerFromCopy is ReaderFrom's copy. idle says src is a stream that can
// wait: it is waited on before a fast path starts, and the fallback holds
// its buffer only while src has bytes (see copyLoop).
func readerFromCopy(dst io.Writer, src io.Reader, idle bool) (int64, error) {
	_, isRF := dst.(io.ReaderFrom)
	_, isWT := src.(io.WriterTo)
	if idle && (isRF || isWT) {
		// An error here (a closed source) is the copy's to report.
		WaitReadable(src)
	}
	if rf, ok := dst.(io.ReaderFrom); ok {
		if isRawSocket(src) {
			n, err := rf.ReadFrom(src)
			return n, netErr(err)
		}
		lr := labelReader{r: src}
		n, err := rf.ReadFrom(&lr)
		switch {
		case err == nil:
			return n, nil
		case lr.err != nil:
			return n, readErr(lr.err)
		}
		return n, writeErr(err)
	}
	if wt, ok := src.(io.WriterTo); ok {
		if _, ok := dst.(*net.UnixConn); ok && isRawSocket(src) {
			n, err := wt.WriteTo(dst)
			return n, netErr(err)
		}
		lw := labelWriter{w: dst}
		n, err := wt.WriteTo(&lw)
		switch {
		case err == nil:
			return n, nil
		case lw.err != nil:
			return n, writeErr(lw.err)
		}
		return n, readErr(err)
	}
	bufs := classBuffers(pooledPool, pooledPool.class(allocBufSize), idle)
	return copyLoop(dst, src, -1, &bufs)
}

// isRawSocket reports whether r is a socket type net's splice code
// recognises, alone or under an *io.LimitedReader.
func isRawSocket(r io.Reader) bool {
	if lr, ok := r.(*io.LimitedReader); ok {
		r = lr.R
	}
	switch r.(type) {
	case *net.UnixConn, *net.TCPConn:
		return true
	}
	return false
}

// netErr labels an error from a ReadFrom or WriteTo between raw sockets by
// its innermost *net.OpError: "read" and "write" come from the generic
// fallback; anything else ("splice" under "readfrom") is SideUnknown.
func netErr(err error) error {
	if err == nil {
		return nil
	}
	side := SideUnknown
	for e := err; e != nil; e = errors.Unwrap(e) {
		if op, ok := e.(*net.OpError); ok {
			switch op.Op {
			case "read":
				side = SideRead
			case "write":
				side = SideWrite
			}
		}
	}
	return &Error{Side: side, Err: err}
}

// labelReader remembers the first error of its reader other than io.EOF.
// It has only Read, so it hides any io.WriterTo of the reader.
type labelReader struct {
	r   io.Reader
	err error
}

func (l *labelReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if err != nil && err != io.EOF && l.err == nil {
		l.err = err
	}
	return n, err
}

// labelWriter remembers the first error of its writer, a short write
// included.
type labelWriter struct {
	w   io.Writer
	err error
}

func (l *labelWriter) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	if err == nil && n != len(p) {
		err = io.ErrShortWrite
	}
	if err != nil && l.err == nil {
		l.err = err
	}
	return n, err
}
