package copy

import (
	"context"
	"io"
	"net"
	"sync/atomic"

	"github.com/sockproxylab/sockproxy/internal/sockio"
)

// A SpliceSource is a source that can hand the socket it is read from to
// a copy, span by span: each span is some bytes already in memory followed
// by a known number of bytes still on the socket. A source of known size
// may be one span; one of unknown size hands as many as it has.
type SpliceSource interface {
	io.Reader

	// Span returns the next span of the source: head, the span's first bytes,
	// already in memory (they are consumed: the caller writes them; the
	// slice is valid until the next call), and rest, a reader straight over
	// the socket for the span's remaining rest.N bytes (N may be 0). The
	// caller must move all of rest before calling Span again; a rest that
	// ends early is a truncated source. At the source's clean end Span
	// returns io.EOF; any other error is a read failure.
	Span() (head []byte, rest *io.LimitedReader, err error)
}

// A Splicer is a strategy that moves bytes with splice(2) where it can:
// [Splice] and [SpliceChunked], which both splice sources of unknown size
// handed span by span. A caller asks "is it a Splicer" to decide whether
// to hand such a source to a destination with an io.ReaderFrom. Only this
// package implements it.
type Splicer interface {
	Strategy
	splicer()
}

// Splice and SpliceChunked hand the bytes to the kernel with splice(2)
// where both ends allow it:
//
//   - A [SpliceSource] into a dst with an io.ReaderFrom (such as a
//     *net.TCPConn, or a writer over one that splices in its ReadFrom):
//     each span's head is written from memory, its rest goes to
//     dst.ReadFrom as an *io.LimitedReader over the source's
//     *net.UnixConn, which net's splice code recognises. The source is
//     read exactly to its end, so its connection stays reusable.
//   - A raw socket pair (a connection whose earlier bytes the caller has
//     already forwarded): src a *net.UnixConn or *net.TCPConn into a
//     *net.TCPConn (TCPConn.ReadFrom), or a *net.TCPConn into a
//     *net.UnixConn (TCPConn.WriteTo), as ReaderFrom does, looking
//     through connection wrappers (sockio.Unwrap); a stream is waited on
//     before each splice (see [WaitReadable]).
//
// Splice splices every path it can: sources of known size, sources of
// unknown size handed span by span, and streams between connections.
// SpliceChunked splices only sources of unknown size (the large ones its
// caller chooses to hand it that way), and copies sources of known size
// and streams as Pooled does: on these machines a large userspace buffer
// moves a sized source from a Unix socket to TCP with less CPU than
// splice, and a stream's small messages cost more system calls spliced
// (see results/README.md).
//
// A copy on a path the strategy splices is counted as spliced (when it
// handed at least one span's rest to the kernel: a source whose bytes
// were all in memory has nothing to splice and is not counted), or as a
// fallback when an end is not a raw socket (a source that is no
// SpliceSource, a destination on a Unix socket or without ReadFrom): it
// is then copied as Pooled does ([ReadSpliceCounts]). A failure inside
// splice(2) is SideUnknown, as for ReaderFrom; a span that ends early is
// a SideRead failure wrapping io.ErrUnexpectedEOF.
var (
	Splice        Strategy = spliceStrategy{name: "splice", sized: true, spans: true, stream: true}
	SpliceChunked Strategy = spliceStrategy{name: "splice-chunked", spans: true}
)

// spliceStrategy splices the paths it names.
type spliceStrategy struct {
	name                 string
	sized, spans, stream bool
}

func (s spliceStrategy) Name() string { return s.name }
func (spliceStrategy) splicer()       {}

func (s spliceStrategy) Copy(ctx context.Context, dst io.Writer, src io.Reader, size int64) (int64, error) {
	c := closeOnCancel(ctx, dst, src)
	n, err := s.copy(dst, src, size)
	return n, c.finish(n, err)
}

func (s spliceStrategy) copy(dst io.Writer, src io.Reader, size int64) (int64, error) {
	path := pathOf(dst, src, size)
	switch {
	case path == &spliceSized && !s.sized, path == &spliceSpans && !s.spans, path == &spliceStream && !s.stream:
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
	if d, sr := sockio.Unwrap(dst), sockio.Unwrap(src); canSplice(d, sr) {
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
// spliced reports whether any rest was handed over: a source that was all
// in memory has nothing to splice, and is counted neither as spliced nor
// as a fallback.
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
	// Sized counts copies of a known size (size >= 0).
	Sized PathCounts
	// Spans counts copies of unknown size (-1) with neither end a net.Conn:
	// sources handed span by span (SpliceSources), and those that fell
	// back because they were none.
	Spans PathCounts
	// Stream counts copies of unknown size with either end a net.Conn:
	// one direction of a stream between two connections.
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
		Spliced:   c.Sized.Spliced + c.Spans.Spliced + c.Stream.Spliced,
		Fallbacks: c.Sized.Fallbacks + c.Spans.Fallbacks + c.Stream.Fallbacks,
	}
}

// ReadSpliceCounts returns the process-wide counts since it started. Take
// the difference of two readings for an interval.
func ReadSpliceCounts() SpliceCounts {
	return SpliceCounts{
		Sized:  spliceSized.read(),
		Spans:  spliceSpans.read(),
		Stream: spliceStream.read(),
	}
}

// Sub returns c − old, path by path.
func (c SpliceCounts) Sub(old SpliceCounts) SpliceCounts {
	sub := func(a, b PathCounts) PathCounts {
		return PathCounts{a.Spliced - b.Spliced, a.Fallbacks - b.Fallbacks}
	}
	return SpliceCounts{sub(c.Sized, old.Sized), sub(c.Spans, old.Spans), sub(c.Stream, old.Stream)}
}

type pathCounter struct{ spliced, fallbacks atomic.Uint64 }

func (p *pathCounter) read() PathCounts {
	return PathCounts{p.spliced.Load(), p.fallbacks.Load()}
}

var spliceSized, spliceSpans, spliceStream pathCounter

// pathOf classifies a copy: a known size is sized; of the rest, one with
// either end a net.Conn is a stream, any other spans.
func pathOf(dst io.Writer, src io.Reader, size int64) *pathCounter {
	if size >= 0 {
		return &spliceSized
	}
	if lr, ok := src.(*io.LimitedReader); ok {
		src = lr.R
	}
	_, dc := dst.(net.Conn)
	_, sc := src.(net.Conn)
	if dc || sc {
		return &spliceStream
	}
	return &spliceSpans
}
