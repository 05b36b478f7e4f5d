package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sockproxylab/sockproxy/internal/sockio"
)

// Transport names for Config.Transport.
const (
	// TransportStd is Go's *http.Transport from [NewTransport].
	TransportStd = "std"
	// TransportRaw is the project's own [RawTransport].
	TransportRaw = "raw"
)

// Transports returns the valid Config.Transport names: "std", "raw".
func Transports() []string { return []string{TransportStd, TransportRaw} }

// Limits of the raw transport's response parsing.
const (
	// rawMaxHeaderBytes bounds a response's status line and header (and a
	// chunked body's trailer), as http.Transport's MaxResponseHeaderBytes.
	rawMaxHeaderBytes = 1 << 20
	// rawMax1xx bounds the informational responses before the final one.
	rawMax1xx = 16
	// rawIdleTimeout is how long an idle connection is kept, as
	// [NewTransport]'s IdleConnTimeout.
	rawIdleTimeout = 90 * time.Second
	// rawBufSize is the size of each connection's read buffer and of a request's write buffer.
	rawBufSize = 4096
)

// errRawMalformed marks a response the raw transport refused to parse.
var errRawMalformed = errors.New("malformed HTTP response")

// RawTransport is an HTTP/1.1 http.RoundTripper over a pool of raw
// *net.UnixConn connections to one Unix socket, whatever the request's
// host. It is the lean alternative to [NewTransport]: one reused
// bufio.Reader and bufio.Writer per connection, the request written
// straight into the writer, the response parsed by byte scanning with
// common header keys and repeated values taken without allocating.
//
// Connections are kept alive and reused, most recent first, up to the
// concurrency it was sized for; idle ones older than 90 s are closed
// when met. A pooled connection the upstream closed while idle (the
// request cannot be written, or the read ends before any response byte)
// is retried on another connection when that is safe: nothing of the
// request reached the upstream, or the method is idempotent and the
// request has no body.
//
// A request's context bounds its round trip and its response body: when
// it is done the connection is closed, which unblocks any read, and the
// error wraps ctx.Err(). 1xx responses other than 101 are passed to the
// context's httptrace.ClientTrace Got1xxResponse, if any. A 101 response's
// Body is an io.ReadWriteCloser over the connection (bytes the upstream
// sent after the 101 first) with a CloseWrite that half-closes the
// *net.UnixConn; the context no longer affects it.
//
// Response bodies: a Content-Length body is a [*RawBody], which gives a
// copy strategy the connection under it; a chunked body is decoded (a
// truncated or malformed chunk stream is an error, never a clean EOF) and
// its trailers fill Response.Trailer at its end; a body with neither is
// read until the upstream closes. A connection goes back to the pool only
// after its response body was read to its exact end and the request body
// fully sent; an early Close or any failure closes it instead.
//
// Not supported (none is used by the Docker API): request trailers are
// dropped, Expect: 100-continue does not hold back the body, and transfer
// codings other than chunked fail the round trip.
type RawTransport struct {
	socket  string
	maxIdle int
	dialer  net.Dialer

	mu   sync.Mutex
	idle []*rawConn // most recently used last

	// headers holds cleared response header maps the proxy gave back
	// (recycleHeader): a map of a dozen keys is four allocations.
	headers sync.Pool

	dials, dialErrors atomic.Uint64 // for Stats (stats.go)
}

// recycleHeader takes back a response's header map, which its caller no
// longer uses (nor anything it handed the map to; value slices may live
// on, they are not reused).
func (t *RawTransport) recycleHeader(h http.Header) {
	if h != nil {
		clear(h)
		t.headers.Put(h)
	}
}

// NewRawTransport returns a [RawTransport] dialing socket, keeping up to
// maxConns idle connections (maxConns <= 0 means [DefaultMaxConns]), each
// connect bounded by [DialTimeout].
func NewRawTransport(socket string, maxConns int) *RawTransport {
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	return &RawTransport{socket: socket, maxIdle: maxConns, dialer: net.Dialer{Timeout: DialTimeout}}
}

// CloseIdleConnections closes the idle connections.
func (t *RawTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, rc := range idle {
		rc.c.Close()
	}
}

// rawConn is one upstream connection with its buffers.
type rawConn struct {
	t  *RawTransport
	c  *net.UnixConn // nil in parsing tests
	rd io.Reader     // c, or the test's reader
	br *bufio.Reader // the connection's read buffer (writes take one from rawWriters)

	idleSince time.Time
	abort     func()        // closes c; made once, for context.AfterFunc
	probe     *sockio.Probe // checks c for bytes or its end before a reuse; made at the first

	// Parsing scratch, reused by every response on this connection.
	kv    []headerKV // this response's header fields
	prev  []headerKV // the previous response's, whose value strings are reused when equal
	scrap []byte     // a header line longer than the read buffer

	// nextBody is the RawBody allocated with the response being read,
	// for frame to use when the body has a Content-Length.
	nextBody *RawBody
}

// rawResponse is what one response needs, allocated as one: the
// Response, its body when it has a Content-Length (the common case), and
// the storage for its header values.
type rawResponse struct {
	res  http.Response
	body RawBody
	vals [rawResponseVals]string
}

// rawResponseVals is how many header values fit in a rawResponse.
const rawResponseVals = 16

type headerKV struct{ key, value string }

func newRawConn(t *RawTransport, c *net.UnixConn) *rawConn {
	rc := &rawConn{t: t, c: c, rd: c}
	rc.br = bufio.NewReaderSize(c, rawBufSize)
	rc.abort = func() { c.Close() }
	return rc
}

// rawWriters holds the write buffers of requests being written.
var rawWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, rawBufSize) }}

// putRawWriter returns bw to rawWriters, dropping its connection.
func putRawWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	rawWriters.Put(bw)
}

func (rc *rawConn) close() {
	if rc.c != nil {
		rc.c.Close()
	}
}

// getConn returns an idle connection (reused true) or dials one.
func (t *RawTransport) getConn(ctx context.Context) (*rawConn, bool, error) {
	var stale []*rawConn
	t.mu.Lock()
	var rc *rawConn
	now := time.Now()
	for len(t.idle) > 0 {
		c := t.idle[len(t.idle)-1]
		t.idle[len(t.idle)-1] = nil
		t.idle = t.idle[:len(t.idle)-1]
		if now.Sub(c.idleSince) > rawIdleTimeout {
			stale = append(stale, c)
			continue
		}
		rc = c
		break
	}
	t.mu.Unlock()
	for _, c := range stale {
		c.close()
	}
	if rc != nil {
		if !rc.unsolicited() {
			return rc, true, nil
		}
		rc.close()
		return t.getConn(ctx)
	}
	t.dials.Add(1)
	c, err := t.dialer.DialContext(ctx, "unix", t.socket)
	if err != nil {
		t.dialErrors.Add(1)
		return nil, false, err
	}
	return newRawConn(t, c.(*net.UnixConn)), false, nil
}

// unsolicited reports whether the idle connection rc has something
// pending: bytes nobody asked for (an upstream that wrote past its
// response), which would be read as the next request's answer, or its end
// (the upstream closed it while idle), which would cost a failed write and
// a retry. Either way it must not be reused. Checking costs one
// non-blocking recv(MSG_PEEK) per reuse, as Go's transport's idle read
// does in its own goroutine.
func (rc *rawConn) unsolicited() bool {
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

// putIdle returns rc to the pool, or closes it when the pool is full or
// the upstream sent more than its response (bytes already buffered).
func (t *RawTransport) putIdle(rc *rawConn) {
	if rc.br != nil && rc.br.Buffered() > 0 {
		rc.close()
		return
	}
	rc.idleSince = time.Now()
	t.mu.Lock()
	if len(t.idle) < t.maxIdle {
		t.idle = append(t.idle, rc)
		rc = nil
	}
	t.mu.Unlock()
	if rc != nil {
		rc.close()
	}
}

// RoundTrip sends req on a pooled or new connection and reads the
// response header; see [RawTransport] for bodies, retries and
// cancellation.
func (t *RawTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.roundTripInformed(req, nil)
}

// informer receives the 1xx responses (other than 101) read before the
// final one, on the goroutine of RoundTrip and before it returns. The
// proxy uses it instead of an httptrace.ClientTrace, which costs a
// context and a request copy per request.
type informer interface {
	got1xx(code int, header http.Header) error
}

// roundTripInformed is RoundTrip with 1xx responses passed to inf (when
// not nil) instead of the context's ClientTrace.
func (t *RawTransport) roundTripInformed(req *http.Request, inf informer) (*http.Response, error) {
	ctx := req.Context()
	body := req.Body
	if body == http.NoBody {
		body = nil
	}
	if body == nil && req.ContentLength > 0 {
		return nil, fmt.Errorf("raw transport: %s %s: ContentLength %d with no Body", req.Method, req.URL, req.ContentLength)
	}
	for {
		if err := ctx.Err(); err != nil {
			closeBody(body)
			return nil, fmt.Errorf("raw transport: %s %s: %w", req.Method, req.URL.Path, err)
		}
		rc, reused, err := t.getConn(ctx)
		if err != nil {
			closeBody(body)
			if ctx.Err() != nil {
				err = fmt.Errorf("%w (%w)", ctx.Err(), err)
			}
			return nil, fmt.Errorf("raw transport: %s %s: %w", req.Method, req.URL.Path, err)
		}
		res, retry, err := t.roundTrip(ctx, rc, req, body, reused, inf)
		if err == nil {
			return res, nil
		}
		if retry {
			continue
		}
		closeBody(body)
		return nil, fmt.Errorf("raw transport: %s %s: %w", req.Method, req.URL.Path, err)
	}
}

func closeBody(b io.ReadCloser) {
	if b != nil {
		b.Close()
	}
}

// isIdempotent reports whether a method may be sent twice (RFC 9110
// section 9.2.2).
func isIdempotent(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// roundTrip is one attempt on rc. retry says the request can be sent again
// on another connection: rc was reused, failed before any response byte,
// and nothing unsafe was sent.
func (t *RawTransport) roundTrip(ctx context.Context, rc *rawConn, req *http.Request, body io.ReadCloser, reused bool, inf informer) (*http.Response, bool, error) {
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, rc.abort)
	}
	fail := func(err error) error {
		if stop != nil {
			stop()
		}
		rc.close()
		if ctx.Err() != nil {
			return fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return err
	}

	// The write buffer is the connection's only while a request is being
	// written: an idle connection, or one carrying a long stream, holds
	// none.
	bw := rawWriters.Get().(*bufio.Writer)
	bw.Reset(rc.c)
	chunked, err := writeRequestHead(bw, req, body)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil || body == nil {
		putRawWriter(bw)
	}
	if err != nil {
		// Nothing of the body was read yet, and a write to a Unix socket
		// whose peer has closed fails at once, before any byte reaches
		// it: any request can go again on another connection.
		if reused && ctx.Err() == nil && isWriteRefused(err) {
			if stop != nil {
				stop()
			}
			rc.close()
			return nil, true, err
		}
		return nil, false, fail(fmt.Errorf("writing request to %s: %w", t.socket, err))
	}

	// wrote is the body writer's result; nil when there is no body.
	var wrote chan error
	if body != nil {
		wrote = make(chan error, 1)
		go func() {
			err := writeBody(bw, body, req.ContentLength, chunked)
			putRawWriter(bw)
			if err != nil {
				// The upstream waits for the rest of a body that will not
				// come (the client's body failed, or the connection did):
				// close, so that the response read returns and the round
				// trip fails instead of hanging.
				rc.close()
			}
			wrote <- err
		}()
	}

	res, err := rc.readResponseInformed(req, inf)
	if err != nil {
		gotNothing := errors.Is(err, errNoResponse)
		if wrote != nil {
			rc.close() // a writer blocked on the connection returns
			if werr := <-wrote; werr != nil && !gotNothing {
				err = fmt.Errorf("%w (writing the request body: %w)", err, werr)
			}
		}
		if gotNothing && reused && body == nil && isIdempotent(req.Method) && ctx.Err() == nil {
			if stop != nil {
				stop()
			}
			rc.close()
			return nil, true, err
		}
		return nil, false, fail(fmt.Errorf("reading response from %s: %w", t.socket, err))
	}

	if res.StatusCode == http.StatusSwitchingProtocols {
		// Only an upgrade the request asked for, naming a protocol, may
		// take the connection over; anything else would become a tunnel.
		if upgradeType(req.Header) == "" || upgradeType(res.Header) == "" {
			return nil, false, fail(fmt.Errorf("%w: 101 Switching Protocols from %s to a request that asked for no upgrade, or naming no protocol", errRawMalformed, t.socket))
		}
		// The connection is the stream's now: the context no longer
		// closes it, and the request body must be out first.
		if stop != nil && !stop() {
			return nil, false, fail(fmt.Errorf("upgrading %s: %w", t.socket, ctx.Err()))
		}
		if wrote != nil {
			if err := <-wrote; err != nil {
				rc.close()
				return nil, false, fmt.Errorf("writing request body to %s: %w", t.socket, err)
			}
		}
		res.Body = &rawUpgradeBody{rc: rc}
		return res, false, nil
	}
	if err := rc.frame(ctx, res, req, stop, wrote); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return nil, false, fmt.Errorf("reading response from %s: %w", t.socket, err)
	}
	return res, false, nil
}

// isWriteRefused reports whether a write failed because the peer had
// already closed: nothing was delivered.
func isWriteRefused(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// errNoResponse is a connection that ended before any response byte.
var errNoResponse = errors.New("connection closed before any response byte")

// writeRequestHead writes the request line and header, and reports
// whether the body goes chunked.
func writeRequestHead(w *bufio.Writer, req *http.Request, body io.ReadCloser) (chunked bool, err error) {
	method := req.Method
	if method == "" {
		method = "GET"
	}
	w.WriteString(method)
	w.WriteByte(' ')
	u := req.URL
	if u.Opaque != "" {
		w.WriteString(u.Opaque)
	} else {
		p := u.EscapedPath()
		if p == "" {
			p = "/"
		}
		w.WriteString(p)
	}
	if u.ForceQuery || u.RawQuery != "" {
		w.WriteByte('?')
		w.WriteString(u.RawQuery)
	}
	w.WriteString(" HTTP/1.1\r\nHost: ")
	host := req.Host
	if host == "" {
		host = u.Host
	}
	if !validHeaderValue(host) {
		return false, fmt.Errorf("invalid Host %q", host)
	}
	w.WriteString(host)
	w.WriteString("\r\n")
	for k, vv := range req.Header {
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		case "User-Agent":
			if len(vv) == 0 || vv[0] == "" {
				continue // set to "" to send none, as net/http
			}
		}
		if !validHeaderKey(k) {
			return false, fmt.Errorf("invalid header field name %q", k)
		}
		for _, v := range vv {
			if !validHeaderValue(v) {
				return false, fmt.Errorf("invalid header field value for %q", k)
			}
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	if req.Close {
		w.WriteString("Connection: close\r\n")
	}
	switch {
	case body == nil:
		switch method {
		case "POST", "PUT", "PATCH":
			w.WriteString("Content-Length: 0\r\n")
		}
	case req.ContentLength > 0:
		w.WriteString("Content-Length: ")
		writeInt(w, req.ContentLength, 10)
		w.WriteString("\r\n")
	default:
		chunked = true
		w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	_, err = w.WriteString("\r\n")
	return chunked, err
}

// bodyBufs recycles request-body copy buffers.
var bodyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// writeBody sends the request body: exactly n bytes, or chunked. It closes
// body when done.
func writeBody(w *bufio.Writer, body io.ReadCloser, n int64, chunked bool) (err error) {
	defer body.Close()
	bp := bodyBufs.Get().(*[]byte)
	defer bodyBufs.Put(bp)
	buf := *bp
	if !chunked {
		var sent int64
		for sent < n {
			m, rerr := body.Read(buf[:min(int64(len(buf)), n-sent)])
			if m > 0 {
				if _, err := w.Write(buf[:m]); err != nil {
					return err
				}
				sent += int64(m)
			}
			if rerr == io.EOF {
				if sent < n {
					return fmt.Errorf("request body ended after %d of %d bytes (Content-Length): %w", sent, n, io.ErrUnexpectedEOF)
				}
				break
			}
			if rerr != nil {
				return fmt.Errorf("reading request body: %w", rerr)
			}
		}
		return w.Flush()
	}
	for {
		m, rerr := body.Read(buf)
		if m > 0 {
			writeInt(w, int64(m), 16)
			w.WriteString("\r\n")
			w.Write(buf[:m])
			w.WriteString("\r\n")
			// Each piece goes out as it comes: an upload may be a stream.
			if err := w.Flush(); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			w.WriteString("0\r\n\r\n")
			return w.Flush()
		}
		if rerr != nil {
			return fmt.Errorf("reading request body: %w", rerr)
		}
	}
}

// writeInt writes n >= 0 in base 10 or 16, without allocating.
func writeInt(w *bufio.Writer, n int64, base int64) {
	var num [20]byte
	i := len(num)
	for {
		i--
		num[i] = "0123456789abcdef"[n%base]
		n /= base
		if n == 0 {
			break
		}
	}
	for _, c := range num[i:] {
		w.WriteByte(c)
	}
}

func validHeaderKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isTokenChar(k[i]) {
			return false
		}
	}
	return true
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c may appear in an RFC 9110 token.
func isTokenChar(c byte) bool {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// readLine returns the next CRLF-terminated line without its CRLF. The
// slice is valid until the next read from rc.br. limit counts the bytes
// left for the header.
func (rc *rawConn) readLine(limit *int) ([]byte, error) {
	line, err := rc.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		rc.scrap = append(rc.scrap[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(rc.scrap) > *limit {
				return nil, fmt.Errorf("%w: header over %d bytes", errRawMalformed, rawMaxHeaderBytes)
			}
			line, err = rc.br.ReadSlice('\n')
			rc.scrap = append(rc.scrap, line...)
		}
		line = rc.scrap
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	*limit -= len(line)
	if *limit < 0 {
		return nil, fmt.Errorf("%w: header over %d bytes", errRawMalformed, rawMaxHeaderBytes)
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: line not ended by CRLF", errRawMalformed)
	}
	return line[:len(line)-2], nil
}

// readResponse reads the status line and header of the final response,
// passing 1xx responses to the request's ClientTrace. An error wrapping
// errNoResponse means the connection ended before any byte.
func (rc *rawConn) readResponse(req *http.Request) (*http.Response, error) {
	return rc.readResponseInformed(req, nil)
}

// readResponseInformed is readResponse with 1xx responses passed to inf
// when it is not nil.
func (rc *rawConn) readResponseInformed(req *http.Request, inf informer) (*http.Response, error) {
	for n1xx := 0; ; n1xx++ {
		if n1xx > rawMax1xx {
			return nil, fmt.Errorf("%w: more than %d informational responses", errRawMalformed, rawMax1xx)
		}
		if n1xx == 0 {
			if _, err := rc.br.Peek(1); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				if err == io.ErrUnexpectedEOF || isWriteRefused(err) {
					return nil, fmt.Errorf("%w: %w", errNoResponse, err)
				}
				return nil, err
			}
		}
		res, err := rc.readHead(req)
		if err != nil {
			return nil, err
		}
		if res.StatusCode >= 200 || res.StatusCode == http.StatusSwitchingProtocols {
			return res, nil
		}
		if inf != nil {
			if err := inf.got1xx(res.StatusCode, res.Header); err != nil {
				return nil, err
			}
			continue
		}
		if trace := httptrace.ContextClientTrace(req.Context()); trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(res.StatusCode, textproto.MIMEHeader(res.Header)); err != nil {
				return nil, err
			}
		}
	}
}

// readHead parses one status line and header block.
func (rc *rawConn) readHead(req *http.Request) (*http.Response, error) {
	limit := rawMaxHeaderBytes
	line, err := rc.readLine(&limit)
	if err != nil {
		return nil, err
	}
	rr := new(rawResponse)
	res := &rr.res
	*res = http.Response{Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' {
		return nil, fmt.Errorf("%w: bad status line %q", errRawMalformed, clip(line))
	}
	switch line[7] {
	case '1':
	case '0':
		res.Proto, res.ProtoMinor = "HTTP/1.0", 0
	default:
		return nil, fmt.Errorf("%w: bad status line %q", errRawMalformed, clip(line))
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("%w: bad status code in %q", errRawMalformed, clip(line))
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return nil, fmt.Errorf("%w: bad status code in %q", errRawMalformed, clip(line))
	}
	res.StatusCode = code
	var reason []byte
	if len(line) > 12 {
		if line[12] != ' ' {
			return nil, fmt.Errorf("%w: bad status line %q", errRawMalformed, clip(line))
		}
		reason = line[13:]
	}
	if s, ok := statusLines[code]; ok && string(reason) == s[4:] {
		res.Status = s
	} else {
		res.Status = string(line[9:])
	}
	if !validHeaderValue(res.Status) {
		return nil, fmt.Errorf("%w: bad status line %q", errRawMalformed, clip(line))
	}

	if err := rc.readFields(&limit); err != nil {
		return nil, err
	}
	res.Header = rc.header(rr.vals[:])
	rc.nextBody = &rr.body
	return res, nil
}

// readFields reads header fields up to the empty line into rc.kv.
func (rc *rawConn) readFields(limit *int) error {
	rc.prev, rc.kv = rc.kv, rc.prev[:0]
	for {
		line, err := rc.readLine(limit)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		colon := -1
		for i, c := range line {
			if c == ':' {
				colon = i
				break
			}
		}
		if colon <= 0 {
			return fmt.Errorf("%w: bad header line %q", errRawMalformed, clip(line))
		}
		key := line[:colon]
		for _, c := range key {
			if !isTokenChar(c) {
				// Includes obs-fold lines (leading space) and a space
				// before the colon (RFC 9112 section 5.1).
				return fmt.Errorf("%w: bad header line %q", errRawMalformed, clip(line))
			}
		}
		v := line[colon+1:]
		for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
			v = v[1:]
		}
		for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
			v = v[:len(v)-1]
		}
		for _, c := range v {
			if (c < ' ' && c != '\t') || c == 0x7f {
				return fmt.Errorf("%w: control byte in header %q", errRawMalformed, clip(key))
			}
		}
		rc.kv = append(rc.kv, headerKV{rc.canonicalKey(key), rc.value(len(rc.kv), v)})
	}
}

// canonicalKey canonicalizes key in place and returns it as a string,
// without allocating for common keys.
func (rc *rawConn) canonicalKey(key []byte) string {
	upper := true
	for i, c := range key {
		if upper && 'a' <= c && c <= 'z' {
			key[i] = c - ('a' - 'A')
		} else if !upper && 'A' <= c && c <= 'Z' {
			key[i] = c + ('a' - 'A')
		}
		upper = c == '-'
	}
	if s, ok := commonKeys[string(key)]; ok {
		return s
	}
	return string(key)
}

// value returns v as a string, reusing the previous response's string
// when the field at the same index had the same value (Api-Version,
// Server, Content-Type, often Date and Content-Length).
func (rc *rawConn) value(i int, v []byte) string {
	if i < len(rc.prev) && rc.prev[i].value == string(v) {
		return rc.prev[i].value
	}
	if s, ok := commonValues[string(v)]; ok {
		return s
	}
	return string(v)
}

// header builds the http.Header of rc.kv: one map (a recycled one when
// there is one), one backing array of values (vals when it is long
// enough).
func (rc *rawConn) header(vals []string) http.Header {
	var h http.Header
	if rc.t != nil {
		h, _ = rc.t.headers.Get().(http.Header)
	}
	if h == nil {
		h = make(http.Header, len(rc.kv))
	}
	if len(vals) < len(rc.kv) {
		vals = make([]string, len(rc.kv))
	}
	for i, kv := range rc.kv {
		vals[i] = kv.value
		if old, ok := h[kv.key]; ok {
			h[kv.key] = append(old, kv.value)
			continue
		}
		h[kv.key] = vals[i : i+1 : i+1]
	}
	return h
}

func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// frame sets res's body by its framing (RFC 9112 section 6.3), with
// ContentLength, TransferEncoding, Trailer and Close. On an invalid
// framing it ends the connection and fails.
func (rc *rawConn) frame(ctx context.Context, res *http.Response, req *http.Request, stop func() bool, wrote chan error) error {
	h := res.Header
	next := rc.nextBody // allocated with res
	rc.nextBody = nil
	keep := res.ProtoMinor == 1
	if conn, ok := h["Connection"]; ok {
		if headerHasToken(conn, "close") {
			keep = false
		} else if !keep && headerHasToken(conn, "keep-alive") {
			keep = true
		}
	}
	if req.Close {
		keep = false
	}
	// One allocation holds the body and its rawFinish.
	var f *rawFinish
	var (
		clBody      *RawBody
		chunkedBody *rawChunkedBody
		closeBody   *rawCloseBody
	)
	noBody := req.Method == "HEAD" || res.StatusCode == http.StatusNoContent || res.StatusCode == http.StatusNotModified
	te, hasTE := h["Transfer-Encoding"]
	cl, hasCL := h["Content-Length"]
	switch {
	case noBody:
		f = new(rawFinish)
	case hasTE:
		chunkedBody = new(rawChunkedBody)
		f = &chunkedBody.fin
	case hasCL:
		clBody = next
		if clBody == nil {
			clBody = new(RawBody)
		}
		f = &clBody.fin
	default:
		closeBody = new(rawCloseBody)
		f = &closeBody.fin
	}
	f.rc, f.ctx, f.stop, f.wrote, f.keep = rc, ctx, stop, wrote, keep

	var n int64 = -1
	if hasCL { // checked even when Transfer-Encoding overrides it
		for i, v := range cl {
			m, ok := parseContentLength(v)
			if !ok || (i > 0 && m != n) {
				f.finish(false)
				return fmt.Errorf("%w: bad Content-Length %q", errRawMalformed, cl)
			}
			n = m
		}
		if len(cl) > 1 {
			h["Content-Length"] = cl[:1] // identical: relay one, as Go's transport does
		}
	}
	if hasTE {
		delete(h, "Transfer-Encoding")
		if hasCL {
			delete(h, "Content-Length") // RFC 9112 section 6.3: TE overrides
		}
		if len(te) != 1 || !asciiEqualFold(te[0], "chunked") || res.ProtoMinor == 0 {
			f.finish(false)
			return fmt.Errorf("%w: unsupported Transfer-Encoding %q", errRawMalformed, te)
		}
		res.TransferEncoding = chunkedTE
	}
	if tr, ok := h["Trailer"]; ok {
		delete(h, "Trailer")
		if hasTE && !noBody {
			for _, v := range tr {
				for k := range splitComma(v) {
					if k != "" {
						if res.Trailer == nil {
							res.Trailer = make(http.Header)
						}
						res.Trailer[textproto.CanonicalMIMEHeaderKey(k)] = nil
					}
				}
			}
		}
	}
	switch {
	case noBody:
		// As net/http: a HEAD response tells the length a GET would
		// have; 204 and 304 have none. Their header keeps Content-Length.
		res.ContentLength = 0
		if req.Method == "HEAD" {
			res.ContentLength = n
		}
		res.TransferEncoding = nil
		res.Body = http.NoBody
		if rc.br.Buffered() > 0 {
			f.keep = false // bytes after a bodiless response
		}
		f.finish(true)
	case hasTE:
		res.ContentLength = -1
		b := chunkedBody
		b.f, b.res = f, res
		res.Body = b
	case n >= 0:
		res.ContentLength = n
		b := clBody
		b.f = f
		k := int64(rc.br.Buffered())
		b.k = int(min(k, n))
		if k > n {
			f.keep = false // bytes after the body: the connection is out of step
		}
		b.lr = io.LimitedReader{R: rc.rd, N: n - int64(b.k)}
		if n == 0 {
			f.finish(true)
			b.finished.Store(true)
		}
		res.Body = b
	default:
		res.ContentLength = -1
		f.keep = false
		b := closeBody
		b.f = f
		res.Body = b
	}
	res.Close = !f.keep
	return nil
}

var chunkedTE = []string{"chunked"}

func parseContentLength(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// splitComma yields the trimmed comma-separated elements of s.
func splitComma(s string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for len(s) > 0 {
			i := 0
			for i < len(s) && s[i] != ',' {
				i++
			}
			if !yield(textproto.TrimString(s[:i])) {
				return
			}
			if i == len(s) {
				return
			}
			s = s[i+1:]
		}
	}
}

// rawFinish ends a response on its connection exactly once: back to the
// pool when the body was read to its end and the request was fully sent,
// closed otherwise.
type rawFinish struct {
	rc    *rawConn
	ctx   context.Context
	stop  func() bool
	wrote chan error // the request body writer's result, or nil
	keep  bool
	done  atomic.Bool
}

// finish returns the connection to the pool (ok and reusable) or closes
// it. Only the first call acts.
func (f *rawFinish) finish(ok bool) {
	if !f.done.CompareAndSwap(false, true) {
		return
	}
	if f.stop != nil && !f.stop() {
		ok = false // the context closed the connection
	}
	if f.wrote != nil {
		if ok {
			select {
			case err := <-f.wrote:
				ok = err == nil
			default:
				// The response is complete but the request body's writer
				// has not reported: it is between its last write and its
				// report, or still sending a body the upstream answered
				// without waiting for. Decide when it reports.
				go f.finishLate()
				return
			}
		}
		if !ok {
			f.rc.close() // the writer fails on the closed conn; wrote has room for its report
			return
		}
	}
	if ok && f.keep && f.rc.t != nil {
		f.rc.t.putIdle(f.rc)
		return
	}
	f.rc.close()
}

// lateWriterGrace is how long a connection whose response ended before
// its request body's writer reported waits for that report before it is
// closed. Only such a connection waits, outside the request's path: a
// writer that finishes in time keeps the connection for reuse, one that
// does not (the upstream answered early and stopped reading, or the client
// paused its upload) is ended by the close.
const lateWriterGrace = time.Second

// finishLate is finish's end for a response that completed before its
// request body was known to be sent: the connection goes back to the pool
// once the writer reports success within lateWriterGrace, and is closed
// otherwise.
func (f *rawFinish) finishLate() {
	t := time.NewTimer(lateWriterGrace)
	defer t.Stop()
	select {
	case err := <-f.wrote:
		if err == nil && f.keep && f.rc.t != nil {
			f.rc.t.putIdle(f.rc)
			return
		}
	case <-t.C:
	}
	f.rc.close()
}

// closesOnDone reports whether ctx is done when the request's context is,
// which closes the connection while the body is being read.
func (f *rawFinish) closesOnDone(ctx context.Context) bool {
	return f.stop != nil && ctx.Done() != nil && ctx.Done() == f.ctx.Done()
}

// readErr wraps a body read failure; a done context is the cause.
func (f *rawFinish) readErr(err error) error {
	f.finish(false)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if f.ctx != nil && f.ctx.Err() != nil {
		return fmt.Errorf("raw transport: reading response body: %w (%w)", f.ctx.Err(), err)
	}
	return fmt.Errorf("raw transport: reading response body: %w", err)
}

// RawBody is the Body of a Content-Length response from a
// [RawTransport]: first the body bytes already read into the connection's
// buffer with the header ([RawBody.Buffered]), then the rest straight
// from the *net.UnixConn through an *io.LimitedReader ([RawBody.Rest]).
// A copy strategy can type-assert a response body to *RawBody and, once
// Buffered is written out (and [RawBody.Discard]ed), move the rest with
// splice or sendfile through Rest.
//
// Its connection returns to the pool as soon as the last byte is read
// (or, after reading through Rest, at Close); a Close before that, or a
// read failure, closes it. A body that ends before Content-Length bytes
// fails with io.ErrUnexpectedEOF. Its methods are not safe for
// concurrent use; cancel the request's context to abort a blocked Read.
// Once the body has ended its connection belongs to the pool: do not use
// Conn or Rest then.
type RawBody struct {
	fin      rawFinish
	f        *rawFinish       // &fin
	k        int              // body bytes still in the connection's read buffer
	lr       io.LimitedReader // the rest, straight from the connection
	finished atomic.Bool      // read to its end (Close may look from another goroutine)
	restUsed bool             // Rest was called: the caller reads the connection itself
	err      error
}

// Read reads the buffered bytes, then from the connection.
func (b *RawBody) Read(p []byte) (int, error) {
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
func (b *RawBody) ClosesOnDone(ctx context.Context) bool { return b.f.closesOnDone(ctx) }

// Buffered returns the next body bytes that are already in memory; a Read
// returns these first. The slice is valid until the next call on b.
func (b *RawBody) Buffered() []byte {
	if b.k == 0 || b.err != nil || b.finished.Load() {
		return nil
	}
	p, _ := b.f.rc.br.Peek(b.k)
	return p
}

// Discard skips up to n of the Buffered bytes (after they were written
// from the slice Buffered returned) and returns how many it skipped.
func (b *RawBody) Discard(n int) int {
	n = min(n, b.k)
	if n <= 0 {
		return 0
	}
	b.f.rc.br.Discard(n)
	b.k -= n
	if b.k == 0 && b.lr.N == 0 {
		b.finished.Store(true)
		b.f.finish(true)
	}
	return n
}

// Remaining returns the body bytes not yet read, Buffered included.
func (b *RawBody) Remaining() int64 { return int64(b.k) + b.lr.N }

// Conn returns the upstream connection the body is read from. Read from
// it only through Rest.
func (b *RawBody) Conn() *net.UnixConn { return b.f.rc.c }

// Rest returns the reader of the body bytes after Buffered, straight from
// the connection: an *io.LimitedReader over the *net.UnixConn whose N is
// the bytes left. Reading from it is reading the body (a short read means
// a truncated body); at Close the connection is pooled if N is 0. Rest
// returns nil while Buffered is not empty.
func (b *RawBody) Rest() *io.LimitedReader {
	if b.k > 0 {
		return nil
	}
	b.restUsed = true
	return &b.lr
}

// Close ends the body: a body read to its end frees its connection for
// reuse, any other is closed with its connection. Close may be called
// concurrently with Read (a copy strategy closes its source when the
// request is cancelled): the connection is then closed, which ends the
// Read.
func (b *RawBody) Close() error {
	done := b.finished.Load()
	if !done && b.restUsed {
		// Read through Rest: the caller moved the bytes itself, so N tells.
		// A caller of Rest must not Close concurrently with its reads.
		done = b.k == 0 && b.lr.N == 0
	}
	b.f.finish(done)
	return nil
}

// rawChunkedBody decodes a chunked body (RFC 9112 section 7.1).
type rawChunkedBody struct {
	fin      rawFinish
	f        *rawFinish // &fin
	res      *http.Response
	n        int64 // bytes left in the current chunk
	needCRLF bool  // the current chunk's data is read; its CRLF is not
	started  bool
	eof      atomic.Bool // read to its end (Close may look from another goroutine)
	err      error
}

// ClosesOnDone is as [RawBody.ClosesOnDone].
func (b *rawChunkedBody) ClosesOnDone(ctx context.Context) bool { return b.f.closesOnDone(ctx) }

func (b *rawChunkedBody) Read(p []byte) (int, error) {
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
func (b *rawChunkedBody) startChunk() error {
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
func (b *rawChunkedBody) nextChunk() error {
	rc := b.f.rc
	if b.needCRLF {
		b.needCRLF = false
		c1, err1 := rc.br.ReadByte()
		c2, err2 := rc.br.ReadByte()
		if err := errors.Join(err1, err2); err != nil {
			return b.f.readErr(err)
		}
		if c1 != '\r' || c2 != '\n' {
			b.f.finish(false)
			return fmt.Errorf("raw transport: reading response body: %w: chunk data not followed by CRLF", errRawMalformed)
		}
	}
	limit := rawMaxHeaderBytes
	line, err := rc.readLine(&limit)
	if err != nil {
		if errors.Is(err, errRawMalformed) {
			b.f.finish(false)
			return fmt.Errorf("raw transport: reading response body: %w", err)
		}
		return b.f.readErr(err)
	}
	n, ok := parseChunkSize(line)
	if !ok {
		b.f.finish(false)
		return fmt.Errorf("raw transport: reading response body: %w: bad chunk size line %q", errRawMalformed, clip(line))
	}
	if n > 0 {
		b.n = n
		return nil
	}
	// Last chunk: trailer fields up to the empty line.
	if err := rc.readFields(&limit); err != nil {
		if errors.Is(err, errRawMalformed) {
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

// parseChunkSize parses "HEX[;ext]" (whitespace allowed before ';').
func parseChunkSize(line []byte) (int64, bool) {
	for i, c := range line {
		if c == ';' {
			line = line[:i]
			break
		}
	}
	for len(line) > 0 && (line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
		line = line[:len(line)-1]
	}
	if len(line) == 0 || len(line) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range line {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | int64(c)
	}
	return n, true
}

// Close ends the body; one not read to its end closes its connection. As
// for RawBody, Close may run concurrently with Read.
func (b *rawChunkedBody) Close() error {
	b.f.finish(b.eof.Load())
	return nil
}

// rawCloseBody is a body delimited by the upstream closing the
// connection.
type rawCloseBody struct {
	fin rawFinish
	f   *rawFinish // &fin
	eof bool
	err error
}

// ClosesOnDone is as [RawBody.ClosesOnDone].
func (b *rawCloseBody) ClosesOnDone(ctx context.Context) bool { return b.f.closesOnDone(ctx) }

func (b *rawCloseBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.eof {
		return 0, io.EOF
	}
	n, err := b.f.rc.br.Read(p)
	if err == io.EOF {
		b.eof = true
		b.f.finish(false)
		return n, io.EOF
	}
	if err != nil {
		b.err = b.f.readErr(err)
		return n, b.err
	}
	return n, nil
}

func (b *rawCloseBody) Close() error {
	b.f.finish(false)
	return nil
}

// rawUpgradeBody is a 101 response's Body: the upgraded connection.
type rawUpgradeBody struct{ rc *rawConn }

// Read reads bytes the upstream sent after its 101 (already buffered)
// first, then from the connection.
func (b *rawUpgradeBody) Read(p []byte) (int, error) { return b.rc.br.Read(p) }

// Write writes to the connection.
func (b *rawUpgradeBody) Write(p []byte) (int, error) { return b.rc.c.Write(p) }

// CloseWrite half-closes the connection.
func (b *rawUpgradeBody) CloseWrite() error { return b.rc.c.CloseWrite() }

// Close closes the connection.
func (b *rawUpgradeBody) Close() error { return b.rc.c.Close() }

// commonKeys maps the canonical form of common response header keys to a
// shared string, so that parsing them allocates nothing.
var commonKeys = map[string]string{}

// commonValues are header values taken without allocating.
var commonValues = map[string]string{}

// statusLines maps a code to "NNN Text" for the standard texts.
var statusLines = map[int]string{}

func init() {
	for _, k := range []string{
		"Api-Version", "Cache-Control", "Connection", "Content-Encoding", "Content-Length",
		"Content-Type", "Date", "Docker-Experimental", "Docker-Content-Digest", "Etag", "Expires",
		"Keep-Alive", "Last-Modified", "Location", "Ostype", "Pragma", "Server", "Trailer",
		"Transfer-Encoding", "Upgrade", "Vary", "Www-Authenticate", "X-Content-Type-Options",
		"X-Docker-Container-Path-Stat", "Accept-Ranges", "Set-Cookie", "Builder-Version", "Swarm",
	} {
		commonKeys[k] = k
	}
	for _, v := range []string{
		"application/json", "text/plain; charset=utf-8", "application/x-tar", "application/octet-stream",
		"application/vnd.docker.raw-stream", "application/vnd.docker.multiplexed-stream", "nosniff",
		"chunked", "close", "keep-alive", "Upgrade", "upgrade", "tcp", "false", "true", "linux", "no-cache",
		"0", "1", "2", "OK",
	} {
		commonValues[v] = v
	}
	for code := 100; code < 600; code++ {
		if text := http.StatusText(code); text != "" {
			statusLines[code] = strconv.Itoa(code) + " " + text
		}
	}
}
