package copy

import (
	"context"
	"io"
	"net"
	"sync/atomic"
)

// A SpliceSource is a body that can hand the socket it is read from to a
// copy, span by span: a Content-Length body is one span, a chunked body one
// span per chunk. The raw upstream transport's bodies are SpliceSources;
// a body from http.Transport is not.
type SpliceSource interface {
	io.Reader

	// Span returns the next span of the body: head, the span's first bytes,
	// already in memory (they are consumed: the caller writes them; the
	// slice is valid until the next call), and rest, a reader straight over
	// the socket for the span's remaining rest.N bytes (N may be 0). The
	// caller must move all of rest before calling Span again; a rest that
	// ends early is a truncated body. At the body's clean end Span returns
	// io.EOF; any other error is a read failure.
	Span() (head []byte, rest *io.LimitedReader, err error)
}

// A Splicer is a strategy that moves bytes with splice(2) where it can.
// The proxy asks it whether it wants chunked bodies too: those can only be
// spliced when the proxy answers them without chunked framing (see the
// proxy package).
type Splicer interface {
	Strategy

	// SplicesChunked reports whether the strategy splices the payload of
	// chunked bodies.
	SplicesChunked() bool
}

// Splice and SpliceChunked hand the bytes to the kernel with splice(2)
// where both ends allow it:
//
//   - A [SpliceSource] body (the raw transport's) into a dst with an
//     io.ReaderFrom (net/http's response writer, which splices into its
//     *net.TCPConn when the response is not chunked): each span's head is
//     written from memory, its rest goes to dst.ReadFrom as an
//     *io.LimitedReader over the *net.UnixConn, which net's splice code
//     recognises. The upstream connection stays reusable: the body is read
//     exactly to its end. A chunked body is spliced only when the proxy
//     answers it close-delimited (see [Splicer] and the proxy package).
//   - A raw socket pair (an upgraded stream after the proxy has forwarded
//     what was buffered): src a *net.UnixConn or *net.TCPConn into a
//     *net.TCPConn (TCPConn.ReadFrom), or a *net.TCPConn into a
//     *net.UnixConn (TCPConn.WriteTo), as ReaderFrom does, looking
//     through [ConnWrapper]s; a stream is waited on before each splice
//     (see [WaitReadable]).
//
// Splice splices every path it can: Content-Length bodies, chunked bodies
// and upgraded streams. SpliceChunked splices only chunked bodies (docker
// save, export), where it removes the proxy's re-chunking, and copies
// Content-Length bodies and streams as Pooled does: on these machines a
// large userspace buffer moves a Content-Length body from a Unix socket to
// TCP with less CPU than splice, and a stream's small messages cost more
// system calls spliced (see results/README.md).
//
// A copy on a path the strategy splices is counted as spliced (when it
// handed at least one span's rest to the kernel: a body that arrived whole
// with its header has nothing to splice and is not counted), or as a
// fallback when an end is not a raw socket (a body from http.Transport, a
// client on a Unix socket, a stream response that must be flushed piece by
// piece): it is then copied as Pooled does ([ReadSpliceCounts]). A
// failure inside splice(2) is SideUnknown, as for ReaderFrom; a span that
// ends early is a SideRead failure wrapping io.ErrUnexpectedEOF.
var (
	Splice        Strategy = spliceStrategy{name: "splice", length: true, chunked: true, stream: true}
	SpliceChunked Strategy = spliceStrategy{name: "splice-chunked", chunked: true}
)

// spliceStrategy splices the paths it names.
type spliceStrategy struct {
	name                    string
	length, chunked, stream bool
}

func (s spliceStrategy) Name() string         { return s.name }
func (s spliceStrategy) SplicesChunked() bool { return s.chunked }

func (s spliceStrategy) Copy(ctx context.Context, dst io.Writer, src io.Reader, size int64) (int64, error) {
	c := closeOnCancel(ctx, dst, src)
	n, err := s.copy(dst, src, size)
	return n, c.finish(n, err)
}

func (s spliceStrategy) copy(dst io.Writer, src io.Reader, size int64) (int64, error) {
	path := pathOf(dst, src, size)
	switch {
	case path == &spliceLength && !s.length, path == &spliceChunked && !s.chunked, path == &spliceStream && !s.stream:
		return pooledCopy(dst, src, size) // not this strategy's to splice
	}
	if ss, ok := src.(SpliceSource); ok {
		if rf, ok := dst.(io.ReaderFrom); ok {
			n, spliced, err := spanCopy(dst, rf, ss, size)
			if spliced {
				path.spliced.Add(1)
			}
			return n, err
		}
	}
	if d, sr := unwrapConn(dst), unwrapConn(src); canSplice(d, sr) {
		path.spliced.Add(1)
		n, err := readerFromCopy(d.(io.Writer), sr.(io.Reader), size < 0)
		if err == nil {
			err = checkSize(n, size)
		}
		return n, err
	}
	path.fallbacks.Add(1)
	return pooledCopy(dst, src, size)
}

// spanCopy writes each span's head to dst and hands its rest to rf.
// spliced reports whether any rest was handed over: a body that was all in
// memory with its header (a ping) has nothing to splice, and is counted
// neither as spliced nor as a fallback.
func spanCopy(dst io.Writer, rf io.ReaderFrom, src SpliceSource, size int64) (written int64, spliced bool, err error) {
	for {
		head, rest, err := src.Span()
		if len(head) > 0 {
			nw, werr := write(dst, head)
			written += int64(nw)
			if werr != nil {
				return written, spliced, werr
			}
		}
		if err == io.EOF {
			return written, spliced, checkSize(written, size)
		}
		if err != nil {
			return written, spliced, readErr(err)
		}
		if rest == nil || rest.N <= 0 {
			continue
		}
		spliced = true
		want := rest.N
		n, err := rf.ReadFrom(rest)
		written += n
		if err != nil {
			return written, spliced, netErr(err)
		}
		if n < want {
			return written, spliced, readErr(io.ErrUnexpectedEOF)
		}
	}
}

// A ConnWrapper is a connection that passes its bytes unchanged to and
// from the connection it wraps, such as a listener's bookkeeping wrapper
// around an accepted *net.TCPConn. The splice strategies look through it
// to splice between the sockets themselves (closing on cancellation still
// goes through the wrapper). Never implement it on a connection that
// transforms its bytes, such as a TLS connection.
type ConnWrapper interface {
	UnwrapConn() net.Conn
}

// UnwrapConn returns the connection under c's ConnWrappers, or c.
func UnwrapConn(c net.Conn) net.Conn {
	for {
		w, ok := c.(ConnWrapper)
		if !ok {
			return c
		}
		c = w.UnwrapConn()
	}
}

// unwrapConn is UnwrapConn for any value.
func unwrapConn(x any) any {
	for {
		w, ok := x.(ConnWrapper)
		if !ok {
			return x
		}
		x = w.UnwrapConn()
	}
}

// canSplice reports whether net splices a copy from src to dst by itself:
// into a *net.TCPConn from a raw socket (TCPConn.ReadFrom), or from a
// *net.TCPConn into a *net.UnixConn (TCPConn.WriteTo).
func canSplice(dst, src any) bool {
	switch dst.(type) {
	case *net.TCPConn:
		r, ok := src.(io.Reader)
		return ok && isRawSocket(r)
	case *net.UnixConn:
		_, ok := src.(*net.TCPConn)
		return ok
	}
	return false
}

// SpliceCounts counts the copies made by the splice strategies, per path:
// how many were spliced and how many fell back to a buffered copy (Pooled's)
// because an end was not a raw socket.
type SpliceCounts struct {
	// Length counts Content-Length bodies.
	Length PathCounts
	// Chunked counts bodies of unknown length (chunked or close-delimited).
	Chunked PathCounts
	// Stream counts the directions of upgraded streams (either end a
	// net.Conn).
	Stream PathCounts
}

// PathCounts is one path's count of spliced and fallen-back copies.
type PathCounts struct {
	Spliced   uint64
	Fallbacks uint64
}

// Total returns the counts summed over every path.
func (c SpliceCounts) Total() PathCounts {
	return PathCounts{
		Spliced:   c.Length.Spliced + c.Chunked.Spliced + c.Stream.Spliced,
		Fallbacks: c.Length.Fallbacks + c.Chunked.Fallbacks + c.Stream.Fallbacks,
	}
}

// ReadSpliceCounts returns the process-wide counts since it started. Take
// the difference of two readings for an interval.
func ReadSpliceCounts() SpliceCounts {
	return SpliceCounts{
		Length:  spliceLength.read(),
		Chunked: spliceChunked.read(),
		Stream:  spliceStream.read(),
	}
}

// Sub returns c − old, path by path.
func (c SpliceCounts) Sub(old SpliceCounts) SpliceCounts {
	sub := func(a, b PathCounts) PathCounts {
		return PathCounts{a.Spliced - b.Spliced, a.Fallbacks - b.Fallbacks}
	}
	return SpliceCounts{sub(c.Length, old.Length), sub(c.Chunked, old.Chunked), sub(c.Stream, old.Stream)}
}

type pathCounter struct{ spliced, fallbacks atomic.Uint64 }

func (p *pathCounter) read() PathCounts {
	return PathCounts{p.spliced.Load(), p.fallbacks.Load()}
}

var spliceLength, spliceChunked, spliceStream pathCounter

// pathOf classifies a copy: a known size is a Content-Length body (or
// BenchmarkCopy's sized socket copy); of the rest, one with either end a
// net.Conn is an upgraded stream, any other a chunked body.
func pathOf(dst io.Writer, src io.Reader, size int64) *pathCounter {
	if size >= 0 {
		return &spliceLength
	}
	if lr, ok := src.(*io.LimitedReader); ok {
		src = lr.R
	}
	_, dc := dst.(net.Conn)
	_, sc := src.(net.Conn)
	if dc || sc {
		return &spliceStream
	}
	return &spliceChunked
}
