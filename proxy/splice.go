package proxy

import (
	"io"
	"net"
	"net/http"

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
