package proxy

import (
	"io"
	"net"
	"net/http"
	"strings"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/internal/sockio"
)

// This file is the proxy's side of the splice strategies (copy.Splice,
// copy.SpliceChunked): the raw transport's bodies as copy.SpliceSources,
// the response writers that let a span reach the client's *net.TCPConn,
// and the abort of a close-delimited response.
//
// Chunked bodies (docker save, export) can only be spliced when the client
// is not sent chunked framing: net/http's response writer splices in
// ReadFrom only when it does not chunk. For a strategy that splices
// chunked bodies, the proxy therefore answers a bulk chunked body (a tar
// or octet-stream, over the raw transport, to a TCP client, without
// trailers) close-delimited: "Transfer-Encoding: identity" makes net/http
// send neither a length nor chunks and close the connection after the
// body. The trade-off: that connection is not kept alive, and the end of
// the body is the end of the connection, so a dying upstream would look
// like a clean end. On any failure the proxy therefore resets the client
// connection (SO_LINGER 0, then close: the client sees ECONNRESET, never
// a clean EOF). Small streams (events, logs, build output) keep chunked
// framing and keep-alive; their pieces are too small for splice to pay.

// Span implements copy.SpliceSource: one span, the buffered bytes and the
// rest of the body straight from the connection.
func (b *RawBody) Span() ([]byte, *io.LimitedReader, error) {
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

// Span implements copy.SpliceSource: one span per chunk, the chunk's bytes
// already buffered and the rest of the chunk straight from the connection.
func (b *rawChunkedBody) Span() ([]byte, *io.LimitedReader, error) {
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

// rawStream returns the upgraded upstream connection itself and the bytes
// the upstream sent after its 101 that are already buffered (taken out of
// the buffer: the caller sends them first), when body is the raw
// transport's upgraded connection; ok is false otherwise. Handing the
// strategies the *net.UnixConn itself lets a splice strategy splice both
// directions.
func rawStream(body io.ReadWriteCloser) (c *net.UnixConn, buffered []byte, ok bool) {
	ub, isRaw := body.(*rawUpgradeBody)
	if !isRaw || ub.rc.c == nil {
		return nil, nil, false
	}
	br := ub.rc.br
	buffered, _ = br.Peek(br.Buffered())
	br.Discard(len(buffered)) // buffered stays valid: br is not read again
	return ub.rc.c, buffered, true
}

// offersChunkedSplice reports whether a chunked response is offered to a
// splice strategy s: s is a copy.Splicer (each splices a chunked body's
// spans), and the body is a bulk transfer (isBulk) without trailers. Other chunked responses (small
// streams) are copied as Pooled does and not counted.
func offersChunkedSplice(s bodycopy.Strategy, res *http.Response) bool {
	if !isSplicer(s) || res.ContentLength >= 0 || len(res.Trailer) > 0 {
		return false
	}
	return isBulk(res.Header.Get("Content-Type"))
}

// canAnswerIdentity reports whether an offered chunked response can be
// answered close-delimited and spliced (see the top of this file): its
// body comes from the raw transport, the client speaks HTTP/1.1 over TCP.
// Otherwise it stays chunked, and the strategy counts a fallback.
func canAnswerIdentity(req *http.Request, res *http.Response) bool {
	_, ok := res.Body.(bodycopy.SpliceSource)
	return ok && req.ProtoAtLeast(1, 1) && tcpClient(req)
}

// isSplicer reports whether s is a splice strategy.
func isSplicer(s bodycopy.Strategy) bool {
	_, ok := s.(bodycopy.Splicer)
	return ok
}

// isBulk reports whether a body of this media type is a bulk transfer:
// Docker's image save (application/x-tar) and container export
// (application/octet-stream).
func isBulk(contentType string) bool {
	ct, _, _ := strings.Cut(contentType, ";")
	ct = strings.TrimSpace(ct)
	return strings.EqualFold(ct, "application/x-tar") || strings.EqualFold(ct, "application/octet-stream")
}

// tcpClient reports whether req came over TCP, where net/http's response
// writer can splice into the connection.
func tcpClient(req *http.Request) bool {
	_, ok := req.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	return ok
}

// identityWriter is the destination of a close-delimited response: a
// flushWriter (its Write sends the bytes at once) whose ReadFrom hands a
// span to net/http's response writer, which splices it into the
// connection.
type identityWriter struct {
	flushWriter
}

func (w *identityWriter) ReadFrom(r io.Reader) (int64, error) {
	return w.w.(io.ReaderFrom).ReadFrom(r)
}

// writerOnly hides a response writer's ReadFrom from a splice strategy
// when the client is not on TCP, so that the copy is counted as the
// fallback it is.
type writerOnly struct{ io.Writer }

// resetClient aborts a close-delimited response: it takes the client
// connection from net/http, sends what is buffered, and closes it with
// SO_LINGER 0, so that the client sees a reset, not a clean end.
func resetClient(rw http.ResponseWriter) {
	conn, brw, err := http.NewResponseController(rw).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	brw.Flush()
	if tc, ok := sockio.Unwrap(conn).(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}
