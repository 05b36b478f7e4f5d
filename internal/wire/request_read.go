package wire

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// RequestError is a request the [RequestReader] refused. The server
// answers it with Status and closes the connection: what follows the
// refused head cannot be trusted to start a request.
type RequestError struct {
	Status int    // 400 bad syntax, 431 head over the limit, 501 unknown Transfer-Encoding, 505 unsupported version
	Reason string // what was wrong, for a log and the response body
}

func (e *RequestError) Error() string {
	return strconv.Itoa(e.Status) + " " + http.StatusText(e.Status) + ": " + e.Reason
}

// ErrBodyUnread is returned by [RequestReader.Read] when the previous
// request's body was not read to its end: the connection is not at the
// start of a request. Close the connection, or read the body to io.EOF
// first.
var ErrBodyUnread = errors.New("wire: previous request body not read to its end")

// DefaultMaxHeaderBytes is the head limit of a [RequestReader] made with
// 0, net/http's DefaultMaxHeaderBytes.
const DefaultMaxHeaderBytes = http.DefaultMaxHeaderBytes

// maxChunkLine bounds a request body's chunk size line, as net/http's
// chunked reader does (its maxLineLength and its read buffer).
const maxChunkLine = 4096

// RequestReader reads the requests of one client connection, one head at
// a time, into a reused *http.Request, allocating nothing on the common
// path: the URL, the header map and its value slices, and the bodies are
// the reader's and reused by the next request. It is at least as strict as
// net/http's server (readRequest in server.go, request.go and transfer.go):
// it refuses everything that server refuses, and more (see Read).
//
// A RequestReader is not safe for concurrent use.
type RequestReader struct {
	// Src is the reader under br: the client's connection. When set, a
	// body's Span hands out the rest of a span as a reader straight over
	// Src, which a copy strategy can splice; nil reads the rest through br
	// (correct, never spliced).
	Src io.Reader

	// Under is what br reads from (Src when nil): the bytes a chunked
	// body's ReadFramed read past what it passed go back before it.
	Under io.Reader

	br  *bufio.Reader
	max int

	headReader
	vals []string // the current header's value storage
	url  url.URL
	uri  string // the previous request-target, reused when the next is equal

	length  requestLengthBody
	chunked requestChunkedBody
	body    interface{ done() bool } // the current request's body, nil for none
	noCache [1]string
	pre     prefixReader // br's reader after unread
}

// NewRequestReader returns a reader of the requests buffered by br, whose
// heads (request line and header fields) may be up to maxHeaderBytes long
// (0: [DefaultMaxHeaderBytes]).
func NewRequestReader(br *bufio.Reader, maxHeaderBytes int) *RequestReader {
	if maxHeaderBytes <= 0 {
		maxHeaderBytes = DefaultMaxHeaderBytes
	}
	r := &RequestReader{br: br, max: maxHeaderBytes}
	r.seen = make(map[string]string)
	r.length.r = r
	r.chunked.r = r
	return r
}

// Buffered returns the number of bytes buffered behind what was read: the
// start of a pipelined request once the current body is read.
func (r *RequestReader) Buffered() int { return r.br.Buffered() + len(r.pre.p) }

// Read reads the next request head into req, which the caller passes
// again for the next request: its Header map is cleared and reused (a
// nil one is made), req.URL points to the reader's URL, and everything
// Read sets is valid until the next Read. Read sets Method, URL,
// RequestURI, Proto, ProtoMajor, ProtoMinor, Header (canonical keys, Host
// removed as net/http's server does), Host (the absolute-form's host, else
// the Host field), ContentLength (n, or -1 for chunked), TransferEncoding,
// Close, Trailer (the declared trailer keys of a chunked body, filled when
// the body is read) and Body, and clears GetBody, Form, PostForm,
// MultipartForm, Response and Pattern; it leaves the context, RemoteAddr
// and TLS alone.
//
// Body is http.NoBody when there is none, else a reader over the
// connection that yields the body's bytes then io.EOF; it is reused by a
// later request, so Read fails with [ErrBodyUnread] unless the previous
// body was read to io.EOF. A body that ends early fails with
// io.ErrUnexpectedEOF, malformed chunked framing with a *RequestError.
// Both bodies implement copy.SpliceSource's Span.
//
// Read returns io.EOF when the connection ends cleanly before a request,
// a *RequestError for a request it refuses, and other read errors (a
// deadline, a reset) as they come. Beyond net/http it refuses: lines not
// ended by CRLF, obs-fold, HTTP versions other than 1.0 and 1.1 (505, also
// HTTP/2's preface), Transfer-Encoding in HTTP/1.0 or beside
// Content-Length, a request-target "*" but for OPTIONS, an absolute-form
// target whose scheme is not http or https or with no host, an
// authority-form target with a path, and Content-Length values over 18
// digits or repeated with a different spelling.
func (r *RequestReader) Read(req *http.Request) error {
	if r.body != nil && !r.body.done() {
		return ErrBodyUnread
	}
	r.body = nil
	if _, err := r.br.Peek(1); err != nil {
		return err // io.EOF: a clean end between requests
	}
	limit := r.max
	line, err := r.readLine(r.br, &limit)
	if err != nil {
		return headError(err)
	}
	if err := r.requestLine(req, line); err != nil {
		return err
	}
	if err := r.readFields(r.br, &limit); err != nil {
		return headError(err)
	}
	h := req.Header
	if h == nil {
		h = make(http.Header, len(r.kv))
		req.Header = h
	} else {
		clear(h)
	}
	if cap(r.vals) < len(r.kv) {
		r.vals = make([]string, len(r.kv))
	}
	r.fill(h, r.vals[:len(r.kv)])

	// The checks of net/http's conn.readRequest.
	hosts, haveHost := h["Host"]
	switch {
	case len(hosts) > 1:
		return badRequest("too many Host fields")
	case !haveHost && req.ProtoMinor == 1 && req.Method != "CONNECT":
		return badRequest("missing Host field")
	case haveHost && !validHostHeader(hosts[0]):
		return badRequest("malformed Host field")
	}
	req.Host = r.url.Host
	if req.Host == "" && haveHost {
		req.Host = hosts[0]
	}
	delete(h, "Host")
	// As net/http's fixPragmaCacheControl, so that a request is forwarded
	// as net/http's server would have.
	if pv, ok := h["Pragma"]; ok && len(pv) > 0 && pv[0] == "no-cache" {
		if _, ok := h["Cache-Control"]; !ok {
			r.noCache[0] = "no-cache"
			h["Cache-Control"] = r.noCache[:]
		}
	}
	conn := h["Connection"]
	if req.ProtoMinor == 0 {
		req.Close = HasToken(conn, "close") || !HasToken(conn, "keep-alive")
	} else {
		req.Close = HasToken(conn, "close")
	}
	return r.frame(req)
}

// requestLine parses "method SP request-target SP HTTP-version" into req.
func (r *RequestReader) requestLine(req *http.Request, line []byte) error {
	sp1 := indexByte(line, ' ')
	if sp1 < 0 {
		return badRequest("malformed request line")
	}
	method, rest := line[:sp1], line[sp1+1:]
	sp2 := indexByte(rest, ' ')
	if sp2 < 0 {
		return badRequest("malformed request line")
	}
	target, proto := rest[:sp2], rest[sp2+1:]
	if len(method) == 0 {
		return badRequest("malformed request line")
	}
	for _, c := range method {
		if !isTokenChar(c) {
			return badRequest("invalid method")
		}
	}
	switch string(proto) {
	case "HTTP/1.1":
		req.Proto, req.ProtoMajor, req.ProtoMinor = "HTTP/1.1", 1, 1
	case "HTTP/1.0":
		req.Proto, req.ProtoMajor, req.ProtoMinor = "HTTP/1.0", 1, 0
	default:
		if len(proto) == 8 && string(proto[:5]) == "HTTP/" && isDigit(proto[5]) && proto[6] == '.' && isDigit(proto[7]) {
			return &RequestError{http.StatusHTTPVersionNotSupported, "unsupported HTTP version"}
		}
		return badRequest("malformed HTTP version")
	}
	if len(target) == 0 {
		return badRequest("empty request-target")
	}
	for _, c := range target {
		if c < ' ' || c == 0x7f {
			return badRequest("control byte in request-target")
		}
	}
	req.Method = internMethod(method)
	if string(target) != r.uri {
		r.uri = r.intern(target)
	}
	req.RequestURI = r.uri
	if err := r.parseTarget(req.Method, r.uri); err != nil {
		return err
	}
	req.URL = &r.url
	req.GetBody, req.Form, req.PostForm, req.MultipartForm, req.Response, req.Pattern = nil, nil, nil, nil, nil, ""
	return nil
}

// parseTarget sets r.url from the request-target as net/http does
// (url.ParseRequestURI, "http://" put before an authority-form target):
// the common origin-form target without escapes, and "*", without
// allocating; any other through url.ParseRequestURI.
func (r *RequestReader) parseTarget(method, target string) error {
	if target[0] == '/' {
		path, query, hasQuery := strings.Cut(target, "?")
		fast := !hasQuery || query != "" // "/p?" sets ForceQuery
		for i := 0; fast && i < len(path); i++ {
			fast = pathByte[path[i]]
		}
		if fast {
			r.url = url.URL{Path: path, RawQuery: query}
			return nil
		}
	}
	if target == "*" {
		if method != "OPTIONS" {
			return badRequest(`request-target "*" but for OPTIONS`)
		}
		r.url = url.URL{Path: "*"}
		return nil
	}
	authority := method == "CONNECT" && target[0] != '/'
	raw := target
	if authority {
		raw = "http://" + target
	}
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		return badRequest("malformed request-target")
	}
	switch {
	case authority:
		if u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.ForceQuery {
			return badRequest("malformed authority-form request-target")
		}
		u.Scheme = ""
	case target[0] != '/':
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return badRequest("malformed absolute-form request-target")
		}
	}
	r.url = *u
	return nil
}

// frame decides the body (RFC 9112 section 6.3, as net/http's
// readTransfer and fixLength, stricter where they tolerate a smuggling
// risk) and sets ContentLength, TransferEncoding, Trailer and Body.
func (r *RequestReader) frame(req *http.Request) error {
	h := req.Header
	req.Trailer = nil
	req.TransferEncoding = nil
	req.ContentLength = 0
	req.Body = http.NoBody
	te, hasTE := h["Transfer-Encoding"]
	cl, hasCL := h["Content-Length"]
	if hasTE {
		switch {
		case req.ProtoMinor == 0:
			return badRequest("Transfer-Encoding in an HTTP/1.0 request")
		case hasCL:
			return badRequest("both Transfer-Encoding and Content-Length")
		case len(te) != 1 || !asciiEqualFold(te[0], "chunked"):
			return &RequestError{http.StatusNotImplemented, "unsupported Transfer-Encoding"}
		}
		delete(h, "Transfer-Encoding")
		if tr, ok := h["Trailer"]; ok {
			delete(h, "Trailer")
			for _, v := range tr {
				for k := range splitComma(v) {
					if k == "" {
						continue
					}
					switch k = http.CanonicalHeaderKey(k); k {
					case "Transfer-Encoding", "Trailer", "Content-Length":
						return badRequest("bad trailer key " + strconv.Quote(k))
					}
					if req.Trailer == nil {
						req.Trailer = make(http.Header)
					}
					req.Trailer[k] = nil
				}
			}
		}
		req.ContentLength = -1
		req.TransferEncoding = chunkedTE
		r.chunked.reset(req)
		req.Body = &r.chunked
		r.body = &r.chunked
		return nil
	}
	if !hasCL {
		return nil
	}
	for _, v := range cl[1:] {
		if v != cl[0] {
			return badRequest("differing Content-Length fields")
		}
	}
	n, ok := ParseContentLength(cl[0])
	if !ok {
		return badRequest("bad Content-Length")
	}
	if len(cl) > 1 {
		h["Content-Length"] = cl[:1]
	}
	req.ContentLength = n
	if n > 0 {
		r.length.reset(n)
		req.Body = &r.length
		r.body = &r.length
	}
	return nil
}

// readBody reads up to *left bytes of a body into p, counting them off
// *left; a connection that ends first fails with io.ErrUnexpectedEOF.
func (r *RequestReader) readBody(p []byte, left *int64) (int, error) {
	if int64(len(p)) > *left {
		p = p[:*left]
	}
	n, err := r.br.Read(p)
	*left -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// unread puts p back before the connection's next bytes, and with it what
// br still buffers and what an earlier unread left: br reads them first.
func (r *RequestReader) unread(p []byte) {
	if len(p) == 0 {
		return
	}
	buffered, _ := r.br.Peek(r.br.Buffered())
	back := make([]byte, 0, len(p)+len(buffered)+len(r.pre.p))
	back = append(append(append(back, p...), buffered...), r.pre.p...)
	r.pre = prefixReader{p: back, r: r.under()}
	r.br.Reset(&r.pre)
}

// under is what br reads from: Under, else Src (nil: unread cannot put
// bytes back).
func (r *RequestReader) under() io.Reader {
	if r.Under != nil {
		return r.Under
	}
	return r.Src
}

// span hands out the next *left bytes of a body as a span (see
// copy.SpliceSource): it returns those already buffered, consumed, and
// sets rest to read the others from Src (from br when Src is nil). The
// returned bytes stay valid until the next read from br, which is after
// rest is moved.
func (r *RequestReader) span(rest *io.LimitedReader, left *int64) []byte {
	k := int(min(int64(r.br.Buffered()), *left))
	head, _ := r.br.Peek(k)
	r.br.Discard(k)
	var src io.Reader = r.br
	if r.Src != nil && len(r.pre.p) == 0 {
		src = r.Src // not while bytes put back (unread) wait before it
	}
	*rest = io.LimitedReader{R: src, N: *left - int64(k)}
	*left = 0
	return head
}

// headError turns a head reading error into a *RequestError where the
// request is at fault.
func headError(err error) error {
	switch {
	case errors.Is(err, errHeaderTooLong):
		return &RequestError{http.StatusRequestHeaderFieldsTooLarge, "request head too large"}
	case errors.Is(err, errMalformed):
		return badRequest(strings.TrimPrefix(err.Error(), errMalformed.Error()+": "))
	case err == io.ErrUnexpectedEOF:
		return badRequest("request head ended early")
	}
	return err
}

func badRequest(reason string) error {
	return &RequestError{http.StatusBadRequest, reason}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// internMethod returns method as a string, without allocating for the
// standard methods.
func internMethod(method []byte) string {
	switch string(method) {
	case "GET":
		return "GET"
	case "HEAD":
		return "HEAD"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	case "OPTIONS":
		return "OPTIONS"
	case "PATCH":
		return "PATCH"
	case "CONNECT":
		return "CONNECT"
	case "TRACE":
		return "TRACE"
	}
	return string(method)
}

// pathByte marks the bytes url.ParseRequestURI keeps as they are in a
// path (Path equal to the target's path, RawPath empty): the unreserved
// bytes and the sub-delimiters it does not escape. Any other byte takes
// the slow path.
var pathByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range []byte("-._~$&+,/:;=@") {
		t[c] = true
	}
	return t
}()

// validHostHeader reports whether a Host field is acceptable: as
// golang.org/x/net/http/httpguts.ValidHostHeader, which net/http's server
// applies, bytes that may appear in a uri-host and port.
func validHostHeader(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || isDigit(c) {
			continue
		}
		switch c {
		case '!', '$', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', ':', ';', '=', '[', ']', '_', '~':
			continue
		}
		return false
	}
	return true
}
