package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockproxylab/sockproxy/internal/testsock"
)

// seenRequest is one request as a proxy front end accepted it, or as the
// recording upstream read it.
type seenRequest struct {
	Method   string
	URI      string
	Body     string
	Complete bool   // the upstream read the whole request, framing included
	Problem  string // why the upstream found the request ambiguous; "" if it did not
}

func (r seenRequest) String() string {
	return fmt.Sprintf("%s %s body=%q complete=%v problem=%q", r.Method, r.URI, r.Body, r.Complete, r.Problem)
}

// recordingUpstream is a raw Unix-socket upstream that reads requests byte
// by byte with a strict parser of its own, records each one, and answers
// each complete one with 200 "OK". It flags what a lenient server could
// read two ways: both Content-Length and Transfer-Encoding, more than one
// Content-Length, a Transfer-Encoding other than "chunked", obs-fold
// continuation lines, bare CR or LF in the head, and a Connection header
// naming a framing header.
type recordingUpstream struct {
	path string
	ln   net.Listener
	wg   sync.WaitGroup

	mu    sync.Mutex
	reqs  []seenRequest
	conns map[net.Conn]struct{}
	open  int // connections accepted and not yet closed
}

func startRecordingUpstream(t testing.TB) *recordingUpstream {
	t.Helper()
	u := &recordingUpstream{path: testsock.Path(t, "rec.sock"), conns: make(map[net.Conn]struct{})}
	ln, err := net.Listen("unix", u.path)
	if err != nil {
		t.Fatalf("listen on %s: %v", u.path, err)
	}
	u.ln = ln
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.mu.Lock()
			u.conns[c] = struct{}{}
			u.open++
			u.mu.Unlock()
			u.wg.Add(1)
			go func() {
				defer u.wg.Done()
				u.serve(c)
				c.Close()
				u.mu.Lock()
				delete(u.conns, c)
				u.open--
				u.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(u.Close)
	return u
}

// Close stops the upstream and closes its connections.
func (u *recordingUpstream) Close() {
	u.ln.Close()
	u.mu.Lock()
	for c := range u.conns {
		c.Close()
	}
	u.mu.Unlock()
	u.wg.Wait()
}

// requests returns what the upstream has read so far.
func (u *recordingUpstream) requests() []seenRequest {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seenRequest(nil), u.reqs...)
}

func (u *recordingUpstream) openConns() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.open
}

func (u *recordingUpstream) serve(c net.Conn) {
	c.SetDeadline(time.Now().Add(testDeadline))
	br := bufio.NewReader(c)
	for {
		r, ok := readStrict(br)
		if r.Method == "" && !ok {
			return // nothing more on this connection
		}
		u.mu.Lock()
		u.reqs = append(u.reqs, r)
		u.mu.Unlock()
		if !ok || r.Problem != "" {
			return
		}
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nOK"); err != nil {
			return
		}
	}
}

// readStrict reads one request. ok is false when the connection ended or
// the request could not be read whole; r.Method is "" when not even a
// request line came.
func readStrict(br *bufio.Reader) (r seenRequest, ok bool) {
	line, err := br.ReadString('\n')
	if err != nil {
		return r, false
	}
	parts := strings.SplitN(strings.TrimSuffix(line, "\r\n"), " ", 3)
	if len(parts) != 3 || !strings.HasSuffix(line, "\r\n") {
		r.Method = "?"
		r.Problem = fmt.Sprintf("bad request line %q", line)
		return r, false
	}
	r.Method, r.URI = parts[0], parts[1]
	problem := func(format string, a ...any) {
		if r.Problem == "" {
			r.Problem = fmt.Sprintf(format, a...)
		}
	}
	if parts[2] != "HTTP/1.1" {
		problem("protocol %q", parts[2])
	}
	var cls, tes, conn []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return r, false
		}
		if line == "\r\n" {
			break
		}
		if !strings.HasSuffix(line, "\r\n") || strings.ContainsAny(strings.TrimSuffix(line, "\r\n"), "\r\n\x00") {
			problem("bare CR, LF or NUL in header line %q", line)
		}
		if line[0] == ' ' || line[0] == '\t' {
			problem("obs-fold line %q", line)
			continue
		}
		k, v, found := strings.Cut(strings.TrimSuffix(line, "\r\n"), ":")
		if !found || k == "" || strings.TrimSpace(k) != k {
			problem("malformed header line %q", line)
			continue
		}
		v = strings.TrimSpace(v)
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length":
			cls = append(cls, v)
		case "Transfer-Encoding":
			tes = append(tes, v)
		case "Connection":
			conn = append(conn, v)
		}
	}
	for _, v := range conn {
		for tok := range strings.SplitSeq(v, ",") {
			switch http.CanonicalHeaderKey(strings.TrimSpace(tok)) {
			case "Content-Length", "Transfer-Encoding", "Host":
				problem("Connection names framing header %q", tok)
			}
		}
	}
	switch {
	case len(cls) > 0 && len(tes) > 0:
		problem("both Content-Length %q and Transfer-Encoding %q", cls, tes)
	case len(cls) > 1:
		problem("%d Content-Length headers %q", len(cls), cls)
	case len(tes) > 1 || len(tes) == 1 && tes[0] != "chunked":
		problem("Transfer-Encoding %q", tes)
	}
	if r.Problem != "" {
		return r, false
	}
	var body io.Reader = strings.NewReader("")
	switch {
	case len(tes) == 1:
		body = httputil.NewChunkedReader(br)
	case len(cls) == 1:
		n, err := strconv.ParseUint(cls[0], 10, 63)
		if err != nil {
			problem("Content-Length %q", cls[0])
			return r, false
		}
		body = io.LimitReader(br, int64(n))
		b, err := io.ReadAll(body)
		r.Body = string(b)
		if err != nil || uint64(len(b)) != n {
			return r, false
		}
		r.Complete = true
		return r, true
	}
	b, err := io.ReadAll(body)
	r.Body = string(b)
	if err != nil {
		return r, false
	}
	if len(tes) == 1 {
		// Trailers end with an empty line.
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return r, false
			}
			if line == "\r\n" {
				break
			}
		}
	}
	r.Complete = true
	return r, true
}

// checkedFront is a proxy front end on 127.0.0.1 that records each request
// as net/http accepted it, with the body the proxy read from it.
type checkedFront struct {
	addr string
	log  *logBuffer
	// oracle: the front end has no handler to record what it accepted
	// (the lean front end); net/http's parser over the bytes sent stands
	// in: what it would accept is what the front end may forward.
	oracle bool

	mu   sync.Mutex
	reqs []*seenRequest
}

// acceptAsNetHTTP records the requests net/http's server would accept from
// raw, in order, with the body bytes it would read.
func (f *checkedFront) acceptAsNetHTTP(raw string) {
	br := bufio.NewReaderSize(strings.NewReader(raw), 64<<10)
	for {
		br.Peek(1)
		next, _ := br.Peek(br.Buffered())
		hosts := hostFields(string(next))
		r, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		// net/http's server (conn.readRequest): HTTP/1 only, a Host field
		// present on HTTP/1.1 (its value may be empty) and not repeated.
		// http.ReadRequest takes Host out of the header, so the head is
		// looked at directly.
		if r.ProtoMajor != 1 || (r.ProtoAtLeast(1, 1) && hosts == 0 && r.Method != "CONNECT") || hosts > 1 {
			return // net/http's server answers 400 and closes
		}
		body, err := io.ReadAll(r.Body)
		f.mu.Lock()
		f.reqs = append(f.reqs, &seenRequest{Method: r.Method, URI: r.URL.RequestURI(), Body: string(body), Complete: err == nil})
		f.mu.Unlock()
		if err != nil || r.Close {
			return
		}
	}
}

// hostFields counts the Host fields in the head at the start of raw.
func hostFields(raw string) int {
	n := 0
	lines := strings.Split(raw, "\n")
	for _, line := range lines[1:] {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			break
		}
		if k, _, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Host") {
			n++
		}
	}
	return n
}

func (f *checkedFront) accepted() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]seenRequest, len(f.reqs))
	for i, r := range f.reqs {
		out[i] = *r
	}
	return out
}

// teeBody records what the proxy reads of an inbound body.
type teeBody struct {
	rc io.ReadCloser
	cl int64 // the request's Content-Length, -1 if unknown
	f  *checkedFront
	r  *seenRequest
}

func (b *teeBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.f.mu.Lock()
	b.r.Body += string(p[:n])
	if err == io.EOF || b.cl > 0 && int64(len(b.r.Body)) == b.cl {
		b.r.Complete = true
	}
	b.f.mu.Unlock()
	return n, err
}

func (b *teeBody) Close() error { return b.rc.Close() }

// startCheckedFront serves the proxy of s on 127.0.0.1 in front of
// socket, recording accepted requests.
func startCheckedFront(t testing.TB, s Setup, socket string) *checkedFront {
	t.Helper()
	f := &checkedFront{}
	if s.Mode == ModeLean {
		front := startFront(t, s, socket, withConfig(func(c *Config) { c.MaxHeaderBytes = 64 << 10 }))
		f.addr, f.log, f.oracle = front.Listener.Addr().String(), front.log, true
		return f
	}
	front := startFront(t, s, socket,
		withHandler(func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sr := &seenRequest{Method: r.Method, URI: r.URL.RequestURI()}
				if r.ContentLength == 0 {
					sr.Complete = true
				}
				f.mu.Lock()
				f.reqs = append(f.reqs, sr)
				f.mu.Unlock()
				r.Body = &teeBody{rc: r.Body, cl: r.ContentLength, f: f, r: sr}
				h.ServeHTTP(w, r)
			})
		}),
		withServer(func(srv *http.Server) {
			srv.ReadHeaderTimeout = testDeadline
			srv.MaxHeaderBytes = 64 << 10
		}))
	f.addr, f.log = front.Listener.Addr().String(), front.log
	return f
}

// exchange writes raw to a new connection to the front end and reads the
// answers: the first within deadline, any later ones (answers to requests
// smuggled behind the first) until the front end closes or goes quiet for
// a moment. It returns the status codes and the raw bytes read. The client
// does not half-close: net/http would take that as the client leaving.
//
// A raw ending in "\x00EOF" is sent without that marker and followed by a
// half-close: the client gave up part way through its request.
func (f *checkedFront) exchange(t testing.TB, raw string, deadline time.Duration) ([]int, string, error) {
	t.Helper()
	c, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatalf("dial front end: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(deadline))
	raw, halfClose := strings.CutSuffix(raw, "\x00EOF")
	if f.oracle {
		f.acceptAsNetHTTP(raw)
	}
	if _, err := io.WriteString(c, raw); err != nil && !isReset(err) {
		return nil, "", fmt.Errorf("write request: %w", err)
	}
	if halfClose {
		c.(*net.TCPConn).CloseWrite()
	}
	var got bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &got))
	var codes []int
	for {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			var ne net.Error
			if len(codes) == 0 && errors.As(err, &ne) && ne.Timeout() {
				return codes, got.String(), fmt.Errorf("no answer within %s: %w", deadline, err)
			}
			return codes, got.String(), nil
		}
		codes = append(codes, res.StatusCode)
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			return codes, got.String(), nil
		}
		if res.StatusCode >= 200 {
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		}
		if res.Close {
			return codes, got.String(), nil
		}
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && strings.Contains(err.Error(), "connection reset")
}

// checkForwarding checks that every request the upstream read was well
// formed, complete or cut short, and that the complete ones match, in
// order, requests the front end accepted, with the bodies the front end
// read.
func checkForwarding(front []seenRequest, up []seenRequest) error {
	var complete []seenRequest
	for _, r := range up {
		if r.Problem != "" {
			return fmt.Errorf("upstream read an ambiguous request: %v", r)
		}
		if r.Complete {
			complete = append(complete, r)
		}
	}
	i := 0
	for _, r := range complete {
		for i < len(front) && !(front[i].Method == r.Method && front[i].URI == r.URI) {
			i++
		}
		if i == len(front) {
			return fmt.Errorf("upstream read %v, which the front end did not accept (accepted %v)", r, front)
		}
		if !front[i].Complete || front[i].Body != r.Body {
			return fmt.Errorf("upstream read %v; front end accepted %v", r, front[i])
		}
		i++
	}
	return nil
}

// hostileCases are raw requests a client might send to smuggle a request
// past the proxy or confuse it. want lists the acceptable status codes of
// the first answer; 0 stands for "connection closed with no answer".
var hostileCases = []struct {
	name string
	raw  string
	want []int
}{
	{"cl-and-te", "POST /containers/create HTTP/1.1\r\nHost: d\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: d\r\n\r\n", []int{200, 400}},
	{"te-and-cl", "POST /containers/create HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n" +
		"3\r\nabc\r\n0\r\n\r\n", []int{200, 400}},
	{"two-cl-differ", "POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\nContent-Length: 10\r\n\r\nabcdefghij", []int{400}},
	{"two-cl-same", "POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", []int{200, 400}},
	{"cl-list", "POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 3, 3\r\n\r\nabc", []int{200, 400}},
	{"cl-plus", "POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: +3\r\n\r\nabc", []int{400}},
	{"cl-negative", "POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: -1\r\n\r\nabc", []int{400}},
	{"cl-huge", "POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 99999999999999999999\r\n\r\nabc", []int{400}},
	{"te-gzip-chunked", "POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", []int{400, 501}},
	{"te-chunked-identity", "POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked, identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n", []int{400, 501}},
	{"te-twice", "POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", []int{200, 400, 501}},
	{"te-space", "POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding : chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", []int{400}},
	{"te-http10", "POST /images/load HTTP/1.0\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", []int{200, 400, 501}},
	{"chunk-size-bad", "POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", []int{0, 200, 400, 502}},
	{"chunk-size-huge", "POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n0\r\n\r\n", []int{0, 200, 400, 502}},
	{"chunk-short", "POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc\x00EOF", []int{0, 200, 400, 502}},
	{"cl-short", "POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 10\r\n\r\nabc\x00EOF", []int{0, 400, 502}},
	{"chunk-ext-lf", "POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\n\r\n3;x\nabc\r\n0\r\n\r\n", []int{0, 200, 400, 502}},
	{"obs-fold", "GET /info HTTP/1.1\r\nHost: d\r\nX-Registry-Auth: a\r\n b\r\n\r\n", []int{200, 400}},
	{"obs-fold-cl", "POST /images/load HTTP/1.1\r\nHost: d\r\nX-A: a\r\n Content-Length: 3\r\n\r\nabc", []int{200, 400}},
	{"bare-lf", "GET /info HTTP/1.1\nHost: d\nX-A: a\n\n", []int{200, 400}},
	{"bare-cr", "GET /info HTTP/1.1\r\nHost: d\r\nX-A: a\rContent-Length: 3\r\n\r\nabc", []int{400}},
	{"nul-in-header", "GET /info HTTP/1.1\r\nHost: d\r\nX-A: a\x00b\r\n\r\n", []int{400}},
	{"space-before-colon", "GET /info HTTP/1.1\r\nHost: d\r\nContent-Length : 3\r\n\r\nabc", []int{400}},
	{"no-host", "GET /info HTTP/1.1\r\n\r\n", []int{400}},
	{"two-hosts", "GET /info HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", []int{400}},
	{"conn-content-length", "POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\nConnection: Content-Length\r\n\r\nabc", []int{200, 400}},
	{"conn-transfer-encoding", "POST /images/load HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: chunked\r\nConnection: Transfer-Encoding\r\n\r\n3\r\nabc\r\n0\r\n\r\n", []int{200, 400}},
	{"conn-host", "GET /info HTTP/1.1\r\nHost: d\r\nConnection: Host\r\n\r\n", []int{200, 400}},
	{"conn-registry-auth", "GET /info HTTP/1.1\r\nHost: d\r\nX-Registry-Auth: e30=\r\nConnection: X-Registry-Auth\r\n\r\n", []int{200, 400}},
	{"conn-close-pipelined", "GET /info HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: d\r\n\r\n", []int{200}},
	{"upgrade-not-upgrade-endpoint", "GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", []int{200, 400, 502}},
	{"upgrade-bad-proto", "POST /containers/c/attach HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: t\x01cp\r\n\r\n", []int{400, 502}},
	{"upgrade-with-body", "POST /containers/c/attach HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 3\r\n\r\nabc", []int{200, 400, 502}},
	{"bad-request-line", "GET\r\n\r\n", []int{0, 400}},
	{"bad-version", "GET / HTTP/9.9\r\nHost: d\r\n\r\n", []int{0, 400, 505}},
	{"http09", "GET /\r\n\r\n", []int{0, 400}},
	{"absolute-uri", "GET http://evil.example/info HTTP/1.1\r\nHost: d\r\n\r\n", []int{200, 400}},
	{"uri-space", "GET /info x HTTP/1.1\r\nHost: d\r\n\r\n", []int{0, 400}},
	{"uri-ctl", "GET /in\x7ffo HTTP/1.1\r\nHost: d\r\n\r\n", []int{0, 200, 400}},
	{"binary", "\x00\x01\x02\xff\xfe\r\n\r\n", []int{0, 400}},
	{"oversized-header", "GET /info HTTP/1.1\r\nHost: d\r\nX-Big: " + strings.Repeat("a", 128<<10) + "\r\n\r\n", []int{0, 431}},
	{"many-headers", "GET /info HTTP/1.1\r\nHost: d\r\n" + strings.Repeat("X-A: b\r\n", 20000) + "\r\n", []int{0, 431}},
	{"expect-100", "POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc", []int{100, 200}},
	{"expect-other", "POST /images/load HTTP/1.1\r\nHost: d\r\nContent-Length: 3\r\nExpect: bogus\r\n\r\nabc", []int{417}},
}

// TestHostileRequests sends each hostile request as raw bytes to the proxy
// in every mode, in front of an upstream that records exactly what it
// reads. Each must get a clear answer or a clean close, never a hang; the
// upstream must never read an ambiguous request, nor one that differs from
// what the front end accepted; and the proxy must keep serving.
func TestHostileRequests(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		up := startRecordingUpstream(t)
		f := startCheckedFront(t, s, up.path)
		for _, tc := range hostileCases {
			before := len(f.accepted())
			upBefore := len(up.requests())
			codes, out, err := f.exchange(t, tc.raw, testDeadline)
			if err != nil {
				t.Errorf("case %s: %v (read %.200q)", tc.name, err, out)
				continue
			}
			code := 0
			if len(codes) > 0 {
				code = codes[0]
			}
			if !containsInt(tc.want, code) {
				t.Errorf("case %s: got status %d (%.80q); want one of %v", tc.name, code, out, tc.want)
			}
			// The front end's handler may still be draining; the proxy has
			// answered, so what the upstream read is final.
			upSeen := up.requests()[upBefore:] // first: the front end records a request before the upstream can
			if err := checkForwarding(f.accepted()[before:], upSeen); err != nil {
				t.Errorf("case %s: %v", tc.name, err)
			}
			if tc.name == "cl-and-te" || tc.name == "conn-close-pipelined" {
				for _, r := range up.requests()[upBefore:] {
					if r.URI == "/smuggled" && tc.name == "conn-close-pipelined" {
						t.Errorf("case %s: upstream read %v after Connection: close", tc.name, r)
					}
				}
			}
			if code, body := pingRaw(t, f.addr); code != 200 || body != "OK" {
				t.Fatalf("after case %s: GET /_ping got %d %q; want 200 OK", tc.name, code, body)
			}
		}
	})
}

// TestHostileConnectionHeader checks the decision on a Connection header
// naming end-to-end headers: Content-Length and Transfer-Encoding still
// frame the forwarded request exactly as the front end read it, Host is
// kept, and other named headers (X-Registry-Auth) are removed, as RFC 9110
// section 7.6.1 asks of a proxy.
func TestHostileConnectionHeader(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		got := make(chan *http.Request, 1)
		bodies := make(chan string, 1)
		up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got <- r
			bodies <- string(b)
			io.WriteString(w, "OK")
		}))
		f := startCheckedFront(t, s, up)
		codes, out, err := f.exchange(t, "POST /images/load HTTP/1.1\r\nHost: docker\r\nContent-Length: 3\r\n"+
			"X-Registry-Auth: e30=\r\nConnection: Content-Length, Host, X-Registry-Auth, Transfer-Encoding\r\n\r\nabc", testDeadline)
		if err != nil || len(codes) == 0 || codes[0] != 200 {
			t.Fatalf("got %q, %v; want 200", out, err)
		}
		r := <-got
		if b := <-bodies; b != "abc" || r.ContentLength != 3 {
			t.Errorf("upstream read body %q with Content-Length %d; want %q, 3", b, r.ContentLength, "abc")
		}
		if r.Host != "docker" {
			t.Errorf("upstream got Host %q; want %q", r.Host, "docker")
		}
		if v, ok := r.Header["X-Registry-Auth"]; ok {
			t.Errorf("upstream got X-Registry-Auth %q; want it removed as hop-by-hop", v)
		}
	})
}

// hostileResponses are raw upstream answers a proxy must not pass on as a
// clean response it did not get. clean is whether the client may see a
// complete response (with body); otherwise it must see an error status or
// an abort.
var hostileResponses = []struct {
	name, raw  string
	clean      bool
	body       string
	incomplete bool // the upstream may still send the rest: a proxy waits for it
}{
	{"chunk-size-bad", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\nabc\r\n0\r\n\r\n", false, "", false},
	{"chunk-size-huge", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nabc\r\n0\r\n\r\n", false, "", false},
	{"chunk-short", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", false, "", true},
	{"cl-short", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", false, "", true},
	{"cl-differ", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", false, "", false},
	{"cl-and-te", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", true, "abc", false},
	{"te-unknown", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc", false, "", false},
	{"bad-status", "HTTP/1.1 2x0 OK\r\nContent-Length: 3\r\n\r\nabc", false, "", false},
	{"garbage", "\x00\x01\x02garbage\r\n\r\n", false, "", false},
	{"nothing", "", false, "", true},
	{"obs-fold", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 3\r\n\r\nabc", true, "abc", false},
	{"101-unasked", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nabc", false, "", false},
	{"conn-names-cl", "HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 3\r\n\r\nabc", true, "abc", false},
}

// TestHostileUpstream has the upstream answer with bad framing. The
// client must get an error status or an aborted response, never a
// complete-looking response the upstream did not send, and the proxy must
// serve the next request. Two upstreams: one that closes each connection
// after one answer, and one that keeps its connections open and answers
// every further request on them (keep-alive), so that a proxy that reused
// a connection after bad framing would be caught: on a connection whose
// first answer was not clean, it answers "REUSED" instead of "OK".
func TestHostileUpstream(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		for _, keepAlive := range []bool{false, true} {
			for _, tc := range hostileResponses {
				if keepAlive && tc.incomplete {
					continue // the proxy rightly waits for the rest
				}
				name := "case=" + tc.name
				if keepAlive {
					name += "/keep-alive"
				}
				t.Run(name, func(t *testing.T) { hostileUpstreamCase(t, s, tc.raw, tc.clean, tc.body, keepAlive) })
			}
		}
	})
}

func hostileUpstreamCase(t *testing.T, s Setup, raw string, clean bool, wantBody string, keepAlive bool) {
	var served atomic.Bool // the hostile answer went out
	up := startScripted(t, func(n int64, c net.Conn, br *bufio.Reader) {
		c.SetDeadline(time.Now().Add(testDeadline))
		hostile := false
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			switch {
			case !served.Swap(true):
				io.WriteString(c, raw)
				hostile = true
				if !keepAlive {
					return
				}
			case !keepAlive:
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK")
				return
			case hostile && !clean:
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nREUSED")
			default:
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
			}
		}
	})
	path := up.path
	f := startCheckedFront(t, s, path)
	_, out, err := f.exchange(t, "GET /images/x/get HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n", testDeadline)
	if err != nil {
		t.Fatalf("exchange: %v (read %q)", err, out)
	}
	res, rerr := http.ReadResponse(bufio.NewReader(strings.NewReader(out)), nil)
	var body []byte
	var berr error
	if rerr == nil {
		body, berr = io.ReadAll(res.Body)
	}
	switch {
	case rerr != nil:
		// Closed with no answer: an abort.
	case res.StatusCode >= 500:
	case berr != nil:
		// Truncated body: an abort.
	case clean && string(body) == wantBody:
	default:
		t.Errorf("client got %d with complete body %q (error %v); want an error status or an abort", res.StatusCode, body, berr)
	}
	for range 2 { // the second may reuse the first's connection
		if code, body := pingRaw(t, f.addr); code != 200 || body != "OK" {
			t.Errorf("next request: got %d %q; want 200 OK", code, body)
		}
	}
}

// pingRaw sends GET /_ping on a new connection and returns the answer.
func pingRaw(t testing.TB, addr string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testDeadline))
	io.WriteString(c, "GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err.Error()
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, err.Error()
	}
	return res.StatusCode, string(bytes.TrimSpace(b))
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
