package wire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

const dockerGet = "GET /v1.47/containers/json?all=1 HTTP/1.1\r\nHost: docker\r\nUser-Agent: Docker-Client/27\r\n\r\n"

// readRequest reads the first request of in with a fresh RequestReader, and
// its whole body.
func readRequest(in string) (*http.Request, []byte, error) {
	rr := NewRequestReader(bufio.NewReader(strings.NewReader(in)), 0)
	req := new(http.Request)
	if err := rr.Read(req); err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(req.Body)
	return req, body, err
}

func statusOf(err error) int {
	var re *RequestError
	if errors.As(err, &re) {
		return re.Status
	}
	return -1
}

func TestRequestReaderAccepts(t *testing.T) {
	cases := []struct {
		name, in                string
		method, uri, path, rawq string
		host                    string
		cl                      int64
		close                   bool
		body                    string
		header                  http.Header
	}{
		{name: "docker-get", in: dockerGet, method: "GET", uri: "/v1.47/containers/json?all=1",
			path: "/v1.47/containers/json", rawq: "all=1", host: "docker",
			header: http.Header{"User-Agent": {"Docker-Client/27"}}},
		{name: "content-length", in: "POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\n\r\nabc",
			method: "POST", uri: "/images/load", path: "/images/load", host: "d", cl: 3, body: "abc",
			header: http.Header{"Content-Length": {"3"}}},
		{name: "content-length-0", in: "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: 0\r\n\r\n",
			method: "POST", uri: "/x", path: "/x", host: "d", header: http.Header{"Content-Length": {"0"}}},
		{name: "two-cl-same", in: "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
			method: "POST", uri: "/x", path: "/x", host: "d", cl: 3, body: "abc", header: http.Header{"Content-Length": {"3"}}},
		{name: "chunked", in: "POST /build HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n2;ext=1 \r\nde\r\n0\r\n\r\n",
			method: "POST", uri: "/build", path: "/build", host: "d", cl: -1, body: "abcde", header: http.Header{}},
		{name: "http10", in: "GET /_ping HTTP/1.0\r\n\r\n", method: "GET", uri: "/_ping", path: "/_ping", close: true, header: http.Header{}},
		{name: "http10-keep-alive", in: "GET /_ping HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", method: "GET", uri: "/_ping",
			path: "/_ping", header: http.Header{"Connection": {"Keep-Alive"}}},
		{name: "close", in: "GET / HTTP/1.1\r\nHost: d\r\nConnection: foo, close\r\n\r\n", method: "GET", uri: "/", path: "/",
			host: "d", close: true, header: http.Header{"Connection": {"foo, close"}}},
		{name: "escaped-path", in: "GET /containers/a%2Fb/json HTTP/1.1\r\nHost: d\r\n\r\n", method: "GET",
			uri: "/containers/a%2Fb/json", path: "/containers/a/b/json", host: "d", header: http.Header{}},
		{name: "absolute-form", in: "GET http://other:2375/info?x HTTP/1.1\r\nHost: d\r\n\r\n", method: "GET",
			uri: "http://other:2375/info?x", path: "/info", rawq: "x", host: "other:2375", header: http.Header{}},
		{name: "options-star", in: "OPTIONS * HTTP/1.1\r\nHost: d\r\n\r\n", method: "OPTIONS", uri: "*", path: "*", host: "d", header: http.Header{}},
		{name: "connect", in: "CONNECT docker:2375 HTTP/1.1\r\n\r\n", method: "CONNECT", uri: "docker:2375", host: "docker:2375", header: http.Header{}},
		{name: "ows", in: "GET / HTTP/1.1\r\nHost:d\r\nX-A: \t a b \t\r\nX-B:\r\n\r\n", method: "GET", uri: "/", path: "/", host: "d",
			header: http.Header{"X-A": {"a b"}, "X-B": {""}}},
		{name: "repeated-and-canonical", in: "GET / HTTP/1.1\r\nhost: d\r\nx-registry-auth: 1\r\nX-REGISTRY-AUTH: 2\r\n\r\n",
			method: "GET", uri: "/", path: "/", host: "d", header: http.Header{"X-Registry-Auth": {"1", "2"}}},
		{name: "pragma", in: "GET / HTTP/1.1\r\nHost: d\r\nPragma: no-cache\r\n\r\n", method: "GET", uri: "/", path: "/", host: "d",
			header: http.Header{"Pragma": {"no-cache"}, "Cache-Control": {"no-cache"}}},
		{name: "extension-method", in: "PROPFIND / HTTP/1.1\r\nHost: d\r\n\r\n", method: "PROPFIND", uri: "/", path: "/", host: "d", header: http.Header{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, body, err := readRequest(c.in)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			got := []any{req.Method, req.RequestURI, req.URL.Path, req.URL.RawQuery, req.Host, req.ContentLength, req.Close, string(body)}
			want := []any{c.method, c.uri, c.path, c.rawq, c.host, c.cl, c.close, c.body}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %q; want %q", got, want)
			}
			if !reflect.DeepEqual(req.Header, c.header) {
				t.Errorf("got header %q; want %q", req.Header, c.header)
			}
		})
	}
}

func TestRequestReaderRejects(t *testing.T) {
	cases := []struct {
		name, in string
		status   int
	}{
		{"no-host", "GET /info HTTP/1.1\r\n\r\n", 400},
		{"two-hosts", "GET /info HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"bad-host", "GET /info HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
		{"host-slash", "GET /info HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
		{"bad-name", "GET / HTTP/1.1\r\nHost: d\r\nX(A): b\r\n\r\n", 400},
		{"empty-name", "GET / HTTP/1.1\r\nHost: d\r\n: b\r\n\r\n", 400},
		{"no-colon", "GET / HTTP/1.1\r\nHost: d\r\nX-A\r\n\r\n", 400},
		{"space-before-colon", "GET /info HTTP/1.1\r\nHost: d\r\nContent-Length : 3\r\n\r\nabc", 400},
		{"nul-in-value", "GET /info HTTP/1.1\r\nHost: d\r\nX-A: a\x00b\r\n\r\n", 400},
		{"del-in-value", "GET /info HTTP/1.1\r\nHost: d\r\nX-A: a\x7fb\r\n\r\n", 400},
		{"bare-cr", "GET /info HTTP/1.1\r\nHost: d\r\nX-A: a\rContent-Length: 3\r\n\r\nabc", 400},
		{"obs-fold", "GET /info HTTP/1.1\r\nHost: d\r\nX-Registry-Auth: a\r\n b\r\n\r\n", 400},
		{"obs-fold-first", "GET /info HTTP/1.1\r\n Host: d\r\n\r\n", 400},
		{"bare-lf-request-line", "GET /info HTTP/1.1\nHost: d\r\n\r\n", 400},
		{"bare-lf-field", "GET /info HTTP/1.1\r\nHost: d\n\r\n", 400},
		{"cl-differ", "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\nContent-Length: 10\r\n\r\nabcdefghij", 400},
		{"cl-spelled-differently", "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\nContent-Length: 03\r\n\r\nabc", 400},
		{"cl-list", "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: 3, 3\r\n\r\nabc", 400},
		{"cl-plus", "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: +3\r\n\r\nabc", 400},
		{"cl-negative", "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: -1\r\n\r\nabc", 400},
		{"cl-empty", "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length:\r\n\r\nabc", 400},
		{"cl-huge", "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: 99999999999999999999\r\n\r\nabc", 400},
		{"cl-and-te", "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"te-and-cl", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400},
		{"te-http10", "POST /x HTTP/1.0\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400},
		{"te-gzip-chunked", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
		{"te-chunked-identity", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 501},
		{"te-identity", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: identity\r\n\r\n", 501},
		{"te-twice", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
		{"te-space", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding : chunked\r\n\r\n", 400},
		{"trailer-bad-key", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length\r\n\r\n0\r\n\r\n", 400},
		{"http2-preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
		{"http09", "GET /\r\n\r\n", 400},
		{"bad-version", "GET / HTTP/9.9\r\nHost: d\r\n\r\n", 505},
		{"http12", "GET / HTTP/1.2\r\nHost: d\r\n\r\n", 505},
		{"version-garbage", "GET / HTTP/1.1x\r\nHost: d\r\n\r\n", 400},
		{"lowercase-version", "GET / http/1.1\r\nHost: d\r\n\r\n", 400},
		{"bad-request-line", "GET\r\n\r\n", 400},
		{"empty-line", "\r\nGET / HTTP/1.1\r\nHost: d\r\n\r\n", 400},
		{"two-spaces", "GET  / HTTP/1.1\r\nHost: d\r\n\r\n", 400},
		{"trailing-space", "GET / HTTP/1.1 \r\nHost: d\r\n\r\n", 400},
		{"uri-space", "GET /info x HTTP/1.1\r\nHost: d\r\n\r\n", 400},
		{"uri-ctl", "GET /in\x7ffo HTTP/1.1\r\nHost: d\r\n\r\n", 400},
		{"uri-tab", "GET /in\tfo HTTP/1.1\r\nHost: d\r\n\r\n", 400},
		{"uri-bad-escape", "GET /a%zz HTTP/1.1\r\nHost: d\r\n\r\n", 400},
		{"uri-relative", "GET info HTTP/1.1\r\nHost: d\r\n\r\n", 400},
		{"uri-star-get", "GET * HTTP/1.1\r\nHost: d\r\n\r\n", 400},
		{"uri-other-scheme", "GET ftp://h/x HTTP/1.1\r\nHost: d\r\n\r\n", 400},
		{"uri-no-host", "GET http:///x HTTP/1.1\r\nHost: d\r\n\r\n", 400},
		{"connect-path", "CONNECT h:1/x HTTP/1.1\r\n\r\n", 400},
		{"bad-method", "G(T / HTTP/1.1\r\nHost: d\r\n\r\n", 400},
		{"binary", "\x00\x01\x02\xff\xfe\r\n\r\n", 400},
		{"truncated-head", "GET / HTTP/1.1\r\nHost: d\r\n", 400},
		{"oversized-header", "GET /info HTTP/1.1\r\nHost: d\r\nX-Big: " + strings.Repeat("a", 1<<20) + "\r\n\r\n", 431},
		{"many-headers", "GET /info HTTP/1.1\r\nHost: d\r\n" + strings.Repeat("X-A: b\r\n", 200000) + "\r\n", 431},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, body, err := readRequest(c.in)
			if got := statusOf(err); got != c.status {
				if err == nil {
					t.Fatalf("accepted %s %q with body %q; want %d", req.Method, req.RequestURI, body, c.status)
				}
				t.Fatalf("got %v; want status %d", err, c.status)
			}
		})
	}
}

func TestRequestReaderBodyErrors(t *testing.T) {
	cases := []struct {
		name, in string
		status   int   // of the body's error, -1 for not a *RequestError
		is       error // the body's error, when status is -1
	}{
		{"cl-short", "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: 10\r\n\r\nabc", -1, io.ErrUnexpectedEOF},
		{"chunk-short", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", -1, io.ErrUnexpectedEOF},
		{"chunk-no-last", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", -1, io.ErrUnexpectedEOF},
		{"chunk-no-trailer-end", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", -1, io.ErrUnexpectedEOF},
		{"chunk-size-bad", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400, nil},
		{"chunk-size-huge", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n0\r\n\r\n", 400, nil},
		{"chunk-ext-lf", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n3;x\nabc\r\n0\r\n\r\n", 400, nil},
		{"chunk-ext-cr", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n3;x\ry\r\nabc\r\n0\r\n\r\n", 400, nil},
		{"chunk-space-before-ext", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n3 ;x\r\nabc\r\n0\r\n\r\n", 400, nil},
		{"chunk-data-no-crlf", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n", 400, nil},
		{"chunk-too-much-non-data", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n" +
			strings.Repeat("1;"+strings.Repeat("e", 4000)+"\r\na\r\n", 5) + "0\r\n\r\n", 400, nil},
		{"trailer-obs-fold", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n", 400, nil},
		{"trailer-too-long", "POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " + strings.Repeat("a", 5000) + "\r\n\r\n", 400, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, body, err := readRequest(c.in)
			if err == nil {
				t.Fatalf("read body %q without an error", body)
			}
			if got := statusOf(err); got != c.status || c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("got %v; want status %d or %v", err, c.status, c.is)
			}
			// The same verdict when the chunked body passes framed.
			src := strings.NewReader(c.in)
			rr := NewRequestReader(bufio.NewReader(src), 0)
			rr.Under = src
			req := new(http.Request)
			if err := rr.Read(req); err != nil {
				t.Fatal(err)
			}
			fr, ok := req.Body.(FramedReader)
			if !ok {
				return
			}
			if body, err = readFramed(fr, MinFramedBuf); err == nil {
				t.Fatalf("ReadFramed: body %q without an error", body)
			}
			if got := statusOf(err); got != c.status || c.is != nil && !errors.Is(err, c.is) {
				t.Fatalf("ReadFramed: got %v; want status %d or %v", err, c.status, c.is)
			}
		})
	}
}

func TestRequestReaderTrailer(t *testing.T) {
	req, body, err := readRequest("POST /x HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum, X-Other\r\n\r\n" +
		"1\r\na\r\n0\r\nX-Sum: 1\r\nX-Sum: 2\r\nX-Extra: e\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	want := http.Header{"X-Sum": {"1", "2"}, "X-Other": nil, "X-Extra": {"e"}}
	if string(body) != "a" || !reflect.DeepEqual(req.Trailer, want) {
		t.Errorf("got body %q trailer %q; want %q %q", body, req.Trailer, "a", want)
	}
	if _, ok := req.Header["Trailer"]; ok {
		t.Errorf("Trailer left in the header: %q", req.Header)
	}
}

// TestRequestReaderPipelined reads several requests from one buffer with
// one reader and one *http.Request, reading the bodies one byte at a time
// or with Span, and checks that the bodies are reused.
func TestRequestReaderPipelined(t *testing.T) {
	in := dockerGet +
		"POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 5\r\n\r\nhello" +
		"POST /build HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n" +
		"PUT /archive HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\n\r\nxyz" +
		"POST /build HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n" +
		"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n"
	want := []struct{ method, path, body string }{
		{"GET", "/v1.47/containers/json", ""}, {"POST", "/images/load", "hello"}, {"POST", "/build", "abcdefg"},
		{"PUT", "/archive", "xyz"}, {"POST", "/build", "hi"}, {"GET", "/_ping", ""},
	}
	for _, how := range []string{"read", "span", "framed"} {
		span := how == "span"
		for _, size := range []int{16, 4096} {
			src := iotest.HalfReader(strings.NewReader(in))
			br := bufio.NewReaderSize(src, size)
			rr := NewRequestReader(br, 0)
			rr.Src = src
			req := new(http.Request)
			bodies := map[io.ReadCloser]bool{}
			for i, w := range want {
				if err := rr.Read(req); err != nil {
					t.Fatalf("span=%v size=%d: request %d: %v", span, size, i, err)
				}
				var body []byte
				var err error
				fr, framed := req.Body.(FramedReader)
				switch {
				case span:
					body, err = readSpans(req.Body)
				case how == "framed" && framed:
					body, err = readFramed(fr, MinFramedBuf)
				default:
					body, err = io.ReadAll(iotest.OneByteReader(req.Body))
				}
				if err != nil {
					t.Fatalf("span=%v size=%d: request %d body: %v", span, size, i, err)
				}
				if req.Method != w.method || req.URL.Path != w.path || string(body) != w.body {
					t.Errorf("span=%v size=%d: request %d: got %s %s %q; want %s %s %q", span, size, i, req.Method, req.URL.Path, body, w.method, w.path, w.body)
				}
				if req.Body != http.NoBody {
					bodies[req.Body] = true
				}
			}
			if !req.Close {
				t.Errorf("last request: Close false")
			}
			if len(bodies) != 2 {
				t.Errorf("%d distinct bodies; want 2 (one of each type, reused)", len(bodies))
			}
			if n := rr.Buffered(); n != 0 {
				t.Errorf("Buffered %d at the end", n)
			}
			if err := rr.Read(req); err != io.EOF {
				t.Errorf("Read at the end: %v; want io.EOF", err)
			}
		}
	}
}

// readFramed reads a chunked request body with ReadFramed through a buffer
// of size bytes and returns its payload, decoded by net/http's chunked
// reader from the bytes handed out.
func readFramed(fr FramedReader, size int) ([]byte, error) {
	all, total, err := readAllFramed(fr, size)
	if err != nil {
		return nil, err
	}
	body, err := goDechunk(append(all, "0\r\n\r\n"...))
	if err == nil && len(body) != total {
		err = fmt.Errorf("payload counted %d; decoded %d", total, len(body))
	}
	return body, err
}

// readSpans reads a body through its Span method, as a splicing copy does.
func readSpans(body io.Reader) ([]byte, error) {
	s, ok := body.(interface {
		Span() ([]byte, *io.LimitedReader, error)
	})
	if !ok {
		return io.ReadAll(body)
	}
	var out []byte
	for {
		head, rest, err := s.Span()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, head...)
		b, err := io.ReadAll(rest)
		out = append(out, b...)
		if err != nil {
			return out, err
		}
	}
}

func TestRequestReaderBuffered(t *testing.T) {
	rr := NewRequestReader(bufio.NewReader(strings.NewReader(dockerGet+dockerGet)), 0)
	req := new(http.Request)
	if err := rr.Read(req); err != nil {
		t.Fatal(err)
	}
	if got, want := rr.Buffered(), len(dockerGet); got != want {
		t.Errorf("Buffered: got %d; want %d", got, want)
	}
}

func TestRequestReaderBodyUnread(t *testing.T) {
	in := "POST /x HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\n\r\nabc" + dockerGet
	rr := NewRequestReader(bufio.NewReader(strings.NewReader(in)), 0)
	req := new(http.Request)
	if err := rr.Read(req); err != nil {
		t.Fatal(err)
	}
	req.Body.Read(make([]byte, 2))
	if err := rr.Read(req); err != ErrBodyUnread {
		t.Fatalf("Read with 1 body byte unread: %v; want ErrBodyUnread", err)
	}
	req.Body.Close()
	if _, err := req.Body.Read(make([]byte, 1)); err != http.ErrBodyReadAfterClose {
		t.Fatalf("Read after Close: %v", err)
	}
	if err := rr.Read(req); err != ErrBodyUnread {
		t.Fatalf("Read after a Close: %v; want ErrBodyUnread", err)
	}
}

// TestRequestReaderURL checks the reader's URL against url.ParseRequestURI
// (net/http's parse) for every byte in a path and in a query, and for the
// target forms.
func TestRequestReaderURL(t *testing.T) {
	targets := []string{"/", "//x", "/a/b?", "/a?b?c", "/a??", "/a?%zz", "/a%20b", "/a%2fb", "/%41", "/a#b", "/é",
		"/containers/json?filters=%7B%22label%22%3A%5B%22a%22%5D%7D", "http://h/x?y", "HTTP://H:1/x", "https://u:p@h/x", "http://[::1]:2375/info"}
	for c := 0x21; c < 0x100; c++ {
		if c != 0x7f {
			targets = append(targets, "/a"+string(rune(c))[:1]+"b", "/a?"+string([]byte{byte(c)}), "/a"+string([]byte{byte(c)}))
		}
	}
	for _, target := range targets {
		rr := NewRequestReader(bufio.NewReader(strings.NewReader("GET "+target+" HTTP/1.1\r\nHost: d\r\n\r\n")), 0)
		req := new(http.Request)
		err := rr.Read(req)
		want, wantErr := url.ParseRequestURI(target)
		if err != nil {
			if wantErr == nil && target[0] == '/' {
				t.Errorf("%q: %v; url.ParseRequestURI accepts it as %#v", target, err, want)
			}
			continue
		}
		if wantErr != nil {
			t.Errorf("%q: accepted as %#v; url.ParseRequestURI: %v", target, req.URL, wantErr)
			continue
		}
		if !reflect.DeepEqual(req.URL, want) {
			t.Errorf("%q: got %#v; want %#v", target, req.URL, want)
		}
	}
}

func TestRequestReaderAllocs(t *testing.T) {
	in := []byte(strings.Repeat(dockerGet+"POST /v1.47/containers/c/start HTTP/1.1\r\nHost: docker\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}", 4))
	src := bytes.NewReader(in)
	br := bufio.NewReader(src)
	rr := NewRequestReader(br, 0)
	req := new(http.Request)
	buf := make([]byte, 64)
	read := func() {
		if err := rr.Read(req); err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := req.Body.Read(buf); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
	}
	step := func() {
		if rr.Buffered() == 0 {
			src.Reset(in)
			br.Reset(src)
		}
		read()
		read()
	}
	step() // warm up: the map, the value storage, the request-targets
	step()
	if n := testing.AllocsPerRun(100, step); n != 0 {
		t.Errorf("%v allocations per GET and POST; want 0", n)
	}
}

func BenchmarkRequestReader(b *testing.B) {
	in := []byte(strings.Repeat(dockerGet, 64))
	src := bytes.NewReader(in)
	br := bufio.NewReader(src)
	rr := NewRequestReader(br, 0)
	req := new(http.Request)
	b.ReportAllocs()
	b.SetBytes(int64(len(dockerGet)))
	for b.Loop() {
		if rr.Buffered() == 0 {
			src.Reset(in)
			br.Reset(src)
		}
		if err := rr.Read(req); err != nil {
			b.Fatal(err)
		}
	}
}
