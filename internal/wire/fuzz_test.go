package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzRawResponse feeds arbitrary bytes to the raw transport's response
// and chunk parsing. It must never panic, and whatever it accepts (header
// and whole body without error) must be a response net/http also accepts,
// with the same status and body: the raw parser may be stricter than
// net/http, never looser. Informational and 101 responses are left out of
// the comparison (net/http's ReadResponse returns them as final).
func FuzzRawResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK",
		"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n{}\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3;x=y\r\ncde\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n1\r\na\r\n0\r\nX-T: v\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nclose-delimited",
		"HTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz",
		"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nq\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nzz",
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, head bool) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		res, body, err := parseRaw(data, method)
		if err != nil {
			return
		}
		if res.StatusCode < 200 || bytes.HasPrefix(data[9:], []byte("1")) {
			return // 1xx before the final response, or a 101
		}
		if res.ContentLength >= 0 && method == "GET" && int64(len(body)) != res.ContentLength {
			t.Fatalf("accepted a %d-byte body with ContentLength %d", len(body), res.ContentLength)
		}
		req, _ := http.NewRequest(method, "http://docker/", nil)
		goRes, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), req)
		if err != nil {
			t.Fatalf("raw accepted %q (%d %q); net/http: %v", data, res.StatusCode, body, err)
		}
		goBody, err := io.ReadAll(goRes.Body)
		if err != nil {
			t.Fatalf("raw accepted %q (%d %q); net/http body: %v", data, res.StatusCode, body, err)
		}
		if goRes.StatusCode != res.StatusCode || !bytes.Equal(goBody, body) {
			t.Fatalf("raw accepted %q as %d %q; net/http reads %d %q", data, res.StatusCode, body, goRes.StatusCode, goBody)
		}
	})
}

// requestSeeds are FuzzRequestReader's seed corpus: good requests, the
// hostile-request corpus of the proxy's tests, and cases at the edges of
// net/http's parser.
var requestSeeds = []string{
	dockerGet,
	"POST /v1.47/containers/create HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
	"POST /build HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3\r\nabc\r\n2;e=\"x\"\r\nde\r\n0\r\nX-T: v\r\n\r\n",
	"GET /_ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"GET http://h:1/a%2Fb?x=%zz HTTP/1.1\r\nHost: d\r\nPragma: no-cache\r\n\r\n",
	"CONNECT h:443 HTTP/1.1\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: d\r\n\r\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	"GET / HTTP/1.1\nHost: d\n\n",
	"POST / HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n1 ;x\r\na\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: d\r\nContent-Length: 1\r\nContent-Length: 01\r\n\r\na",
	"GET /info HTTP/1.1\r\nHost: d\r\nX-Big: " + strings.Repeat("a", 5000) + "\r\n\r\n",
	"POST /containers/create HTTP/1.1\r\nHost: d\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" + "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: d\r\n\r\n", // cl-and-te (proxy/hostile_test.go)
	"POST /containers/create HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n" + "3\r\nabc\r\n0\r\n\r\n",                             // te-and-cl (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\nContent-Length: 10\r\n\r\nabcdefghij",                                                            // two-cl-differ (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",                                                                    // two-cl-same (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 3, 3\r\n\r\nabc",                                                                                      // cl-list (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: +3\r\n\r\nabc",                                                                                        // cl-plus (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: -1\r\n\r\nabc",                                                                                        // cl-negative (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 99999999999999999999\r\n\r\nabc",                                                                      // cl-huge (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",                                                        // te-gzip-chunked (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked, identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n",                                                    // te-chunked-identity (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",                                // te-twice (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding : chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",                                                             // te-space (proxy/hostile_test.go)
	"POST /images/load HTTP/1.0\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",                                                              // te-http10 (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",                                                             // chunk-size-bad (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n0\r\n\r\n",                                             // chunk-size-huge (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc\x00EOF",                                                                   // chunk-short (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 10\r\n\r\nabc\x00EOF",                                                                                 // cl-short (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n3;x\nabc\r\n0\r\n\r\n",                                                              // chunk-ext-lf (proxy/hostile_test.go)
	"GET /info HTTP/1.1\r\nHost: d\r\nX-Registry-Auth: a\r\n b\r\n\r\n",                                                                                             // obs-fold (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nX-A: a\r\n Content-Length: 3\r\n\r\nabc",                                                                              // obs-fold-cl (proxy/hostile_test.go)
	"GET /info HTTP/1.1\nHost: d\nX-A: a\n\n",                                                                                                                       // bare-lf (proxy/hostile_test.go)
	"GET /info HTTP/1.1\r\nHost: d\r\nX-A: a\rContent-Length: 3\r\n\r\nabc",                                                                                         // bare-cr (proxy/hostile_test.go)
	"GET /info HTTP/1.1\r\nHost: d\r\nX-A: a\x00b\r\n\r\n",                                                                                                          // nul-in-header (proxy/hostile_test.go)
	"GET /info HTTP/1.1\r\nHost: d\r\nContent-Length : 3\r\n\r\nabc",                                                                                                // space-before-colon (proxy/hostile_test.go)
	"GET /info HTTP/1.1\r\n\r\n",                       // no-host (proxy/hostile_test.go)
	"GET /info HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", // two-hosts (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\nConnection: Content-Length\r\n\r\nabc",                               // conn-content-length (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\nConnection: Transfer-Encoding\r\n\r\n3\r\nabc\r\n0\r\n\r\n", // conn-transfer-encoding (proxy/hostile_test.go)
	"GET /info HTTP/1.1\r\nHost: d\r\nConnection: Host\r\n\r\n",                                                                         // conn-host (proxy/hostile_test.go)
	"GET /info HTTP/1.1\r\nHost: d\r\nX-Registry-Auth: e30=\r\nConnection: X-Registry-Auth\r\n\r\n",                                     // conn-registry-auth (proxy/hostile_test.go)
	"GET /info HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: d\r\n\r\n",                               // conn-close-pipelined (proxy/hostile_test.go)
	"GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",                                                     // upgrade-not-upgrade-endpoint (proxy/hostile_test.go)
	"POST /containers/c/attach HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: t\x01cp\r\n\r\n",                                  // upgrade-bad-proto (proxy/hostile_test.go)
	"POST /containers/c/attach HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 3\r\n\r\nabc",              // upgrade-with-body (proxy/hostile_test.go)
	"GET\r\n\r\n",                       // bad-request-line (proxy/hostile_test.go)
	"GET / HTTP/9.9\r\nHost: d\r\n\r\n", // bad-version (proxy/hostile_test.go)
	"GET /\r\n\r\n",                     // http09 (proxy/hostile_test.go)
	"GET http://evil.example/info HTTP/1.1\r\nHost: d\r\n\r\n",                                      // absolute-uri (proxy/hostile_test.go)
	"GET /info x HTTP/1.1\r\nHost: d\r\n\r\n",                                                       // uri-space (proxy/hostile_test.go)
	"GET /in\x7ffo HTTP/1.1\r\nHost: d\r\n\r\n",                                                     // uri-ctl (proxy/hostile_test.go)
	"\x00\x01\x02\xff\xfe\r\n\r\n",                                                                  // binary (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc", // expect-100 (proxy/hostile_test.go)
	"POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\nExpect: bogus\r\n\r\nabc",        // expect-other (proxy/hostile_test.go)
}

// FuzzRequestReader compares the RequestReader with net/http's server
// parser (http.ReadRequest, the checks of the server's conn.readRequest,
// then the body): a request net/http refuses must be refused, and one both
// accept must read the same (method, target, URL, Host, header, length,
// Close, body and trailer). A body only net/http reads without error is a
// failure too; the reader may refuse more.
func FuzzRequestReader(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rr := NewRequestReader(bufio.NewReader(bytes.NewReader(data)), 0)
		req := new(http.Request)
		if err := rr.Read(req); err != nil {
			return
		}
		body, bodyErr := io.ReadAll(req.Body)
		goReq, goBody, goBodyErr, err := goReadRequest(data)
		if err != nil {
			t.Fatalf("accepted %q; net/http: %v", data, err)
		}
		got := []any{req.Method, req.RequestURI, req.URL.Path, req.URL.RawPath, req.URL.RawQuery, req.Host, req.ContentLength, req.Close}
		want := []any{goReq.Method, goReq.RequestURI, goReq.URL.Path, goReq.URL.RawPath, goReq.URL.RawQuery, goReq.Host, goReq.ContentLength, goReq.Close}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %q; net/http %q", data, got, want)
		}
		if !reflect.DeepEqual(req.Header, goReq.Header) {
			t.Fatalf("%q: got header %q; net/http %q", data, req.Header, goReq.Header)
		}
		checkFramed(t, data, rr, body, bodyErr, req.Trailer)
		if bodyErr != nil {
			return
		}
		if goBodyErr != nil {
			t.Fatalf("%q: read body %q; net/http: %v", data, body, goBodyErr)
		}
		if !bytes.Equal(body, goBody) || !reflect.DeepEqual(req.Trailer, goReq.Trailer) {
			t.Fatalf("%q: got body %q trailer %q; net/http %q %q", data, body, req.Trailer, goBody, goReq.Trailer)
		}
	})
}

// checkFramed reads data's first request again, its chunked body with
// ReadFramed through a reader that returns half of what is asked: the
// same body (decoded from what passed) and trailer as Read's, or an error
// where Read failed; then the same next request as rr reads.
func checkFramed(t *testing.T, data []byte, rr *RequestReader, body []byte, bodyErr error, trailer http.Header) {
	src := iotest.HalfReader(bytes.NewReader(data))
	fr := NewRequestReader(bufio.NewReader(src), 0)
	fr.Under = src
	req := new(http.Request)
	if err := fr.Read(req); err != nil {
		t.Fatalf("%q: read again: %v", data, err)
	}
	b, ok := req.Body.(FramedReader)
	if !ok {
		return
	}
	got, err := readFramed(b, MinFramedBuf)
	if (err != nil) != (bodyErr != nil) {
		t.Fatalf("%q: ReadFramed %q, %v; Read %q, %v", data, got, err, body, bodyErr)
	}
	if err != nil {
		return
	}
	if !bytes.Equal(got, body) || !reflect.DeepEqual(req.Trailer, trailer) {
		t.Fatalf("%q: ReadFramed %q trailer %q; Read %q %q", data, got, req.Trailer, body, trailer)
	}
	next, nextF := new(http.Request), new(http.Request)
	err, errF := rr.Read(next), fr.Read(nextF)
	if (err != nil) != (errF != nil) || err == nil && (next.Method != nextF.Method || next.RequestURI != nextF.RequestURI) {
		t.Fatalf("%q: next request after ReadFramed %s %s, %v; after Read %s %s, %v", data, nextF.Method, nextF.RequestURI, errF, next.Method, next.RequestURI, err)
	}
}

// goReadRequest reads data's first request as net/http's server does.
func goReadRequest(data []byte) (req *http.Request, body []byte, bodyErr, err error) {
	req, err = http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		return nil, nil, nil, err
	}
	// server.go: http1ServerSupportsRequest, then the Host checks.
	h2 := req.Method == "PRI" && len(req.Header) == 0 && req.URL.Path == "*" && req.Proto == "HTTP/2.0"
	if req.ProtoMajor != 1 && !(req.ProtoMajor == 2 && req.ProtoMinor == 0 && req.Method == "PRI" && req.RequestURI == "*") {
		return nil, nil, nil, errors.New("unsupported protocol version")
	}
	// ReadRequest removes the Host fields, which the server checks: read
	// them again as readRequest does.
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(data)))
	tp.ReadLine()
	fields, _ := tp.ReadMIMEHeader()
	hosts, haveHost := fields["Host"]
	if req.ProtoAtLeast(1, 1) && (!haveHost || len(hosts) == 0) && !h2 && req.Method != "CONNECT" {
		return nil, nil, nil, errors.New("missing required Host header")
	}
	const hostBytes = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!$%&'()*+,-.:;=[]_~"
	if len(hosts) == 1 && strings.ContainsFunc(hosts[0], func(r rune) bool { return !strings.ContainsRune(hostBytes, r) }) {
		return nil, nil, nil, errors.New("malformed Host header")
	}
	body, bodyErr = io.ReadAll(req.Body)
	return req, body, bodyErr, nil
}
