package wire

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/sockproxylab/sockproxy/internal/testsock"
	"go.uber.org/goleak"
)

// parseRaw runs the raw transport's response parsing over data, as if the
// upstream had sent it in answer to a method request, and reads the whole
// body. It returns the response (its Body drained) and the body.
func parseRaw(data []byte, method string) (*http.Response, []byte, error) {
	r := bytes.NewReader(data)
	rc := &conn{rd: r, br: bufio.NewReaderSize(r, bufSize)}
	req := &http.Request{Method: method, URL: &url.URL{Path: "/"}, Header: http.Header{}}
	req = req.WithContext(context.Background())
	res, err := rc.readResponse(req, nil)
	if err != nil {
		return nil, nil, err
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		res.Body = io.NopCloser(rc.br)
	} else if err := rc.frame(req.Context(), res, req, nil, nil); err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	return res, body, err
}

func TestRawParse(t *testing.T) {
	cases := []struct {
		name, in, method string
		status           int
		body             string
		trailer          string // X-T trailer
		ok               bool
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK", "GET", 200, "OK", "", true},
		{"no-reason", "HTTP/1.1 204\r\n\r\n", "GET", 204, "", "", true},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3;x=y\r\ncde\r\n0\r\n\r\n", "GET", 200, "abcde", "", true},
		{"chunked-trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n1\r\na\r\n0\r\nX-T: v\r\n\r\n", "GET", 200, "a", "v", true},
		{"chunked-upper", "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", "GET", 200, "0123456789", "", true},
		{"close-delimited", "HTTP/1.1 200 OK\r\n\r\nuntil close", "GET", 200, "until close", "", true},
		{"head", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "HEAD", 200, "", "", true},
		{"304", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", "GET", 304, "", "", true},
		{"1xx-then-final", "HTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz", "GET", 200, "z", "", true},
		{"te-overrides-cl", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nq\r\n0\r\n\r\n", "GET", 200, "q", "", true},
		{"same-cl-twice", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nz", "GET", 200, "z", "", true},

		{"empty", "", "GET", 0, "", "", false},
		{"short-cl", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", "GET", 0, "", "", false},
		{"truncated-chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", "GET", 0, "", "", false},
		{"no-last-chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n", "GET", 0, "", "", false},
		{"no-trailer-end", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", "GET", 0, "", "", false},
		{"bad-chunk-size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n", "GET", 0, "", "", false},
		{"chunk-no-crlf", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n0\r\n\r\n", "GET", 0, "", "", false},
		{"huge-chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", "GET", 0, "", "", false},
		{"bad-cl", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nz", "GET", 0, "", "", false},
		{"neg-cl", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nz", "GET", 0, "", "", false},
		{"two-cls", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nzz", "GET", 0, "", "", false},
		{"gzip-te", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "GET", 0, "", "", false},
		{"bare-lf", "HTTP/1.1 200 OK\nContent-Length: 2\n\nOK", "GET", 0, "", "", false},
		{"obs-fold", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nOK", "GET", 0, "", "", false},
		{"space-before-colon", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nOK", "GET", 0, "", "", false},
		{"http2", "HTTP/2.0 200 OK\r\n\r\n", "GET", 0, "", "", false},
		{"short-code", "HTTP/1.1 20 OK\r\n\r\n", "GET", 0, "", "", false},
		{"ctl-in-value", "HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 0\r\n\r\n", "GET", 0, "", "", false},
		{"header-only", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", "GET", 0, "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, body, err := parseRaw([]byte(tc.in), tc.method)
			if !tc.ok {
				if err == nil {
					t.Fatalf("got %d %q and no error; want an error", res.StatusCode, body)
				}
				if errors.Is(err, io.EOF) {
					t.Errorf("got error %v; want one that is not io.EOF", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v; want %d %q", err, tc.status, tc.body)
			}
			if res.StatusCode != tc.status || string(body) != tc.body {
				t.Errorf("got %d %q; want %d %q", res.StatusCode, body, tc.status, tc.body)
			}
			if got := res.Trailer.Get("X-T"); got != tc.trailer {
				t.Errorf("got trailer X-T %q; want %q", got, tc.trailer)
			}
		})
	}
}

// TestRawTruncated cuts valid responses at every byte: every cut that
// ends inside the framing fails, never a clean, short body.
func TestRawTruncated(t *testing.T) {
	for _, full := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n4\r\n0123\r\n6\r\n456789\r\n0\r\nX-T: v\r\n\r\n",
	} {
		for cut := range len(full) {
			_, body, err := parseRaw([]byte(full[:cut]), "GET")
			if err == nil {
				t.Errorf("cut at %d of %q: got body %q and no error; want an error", cut, full, body)
			}
		}
		if _, body, err := parseRaw([]byte(full), "GET"); err != nil || string(body) != "0123456789" {
			t.Errorf("whole %q: got %q, %v; want %q", full, body, err, "0123456789")
		}
	}
}

func get(t *testing.T, tr http.RoundTripper, method, path string, body io.Reader) (*http.Response, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testsock.Deadline)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, "http://docker"+path, body)
	res, err := tr.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b), err
}

// TestRawReuseAndRetry: keep-alive reuses one connection; an idle
// connection the upstream closed is retried for a GET (the request cannot
// be written, or no response byte comes), and not retried for a POST that
// reached the upstream.
func TestRawReuseAndRetry(t *testing.T) {
	// Connection 1 answers /a, then closes while idle. Connection 2
	// answers /b, then reads the next request and closes without a
	// byte. Later connections answer forever.
	closed := make(chan struct{})
	up := testsock.StartScripted(t, func(n int64, c net.Conn, br *bufio.Reader) {
		for {
			req, _, err := testsock.ReadRequest(br)
			if err != nil || (n == 2 && req.URL.Path != "/b") {
				return
			}
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(req.URL.Path), req.URL.Path)
			if n == 1 {
				c.Close()
				close(closed)
				return
			}
		}
	})
	tr := NewTransport(up.Path, 4, time.Second)
	defer tr.CloseIdleConnections()
	if _, body, err := get(t, tr, "GET", "/a", nil); err != nil || body != "/a" {
		t.Fatalf("GET /a: got %q, %v; want %q", body, err, "/a")
	}
	if _, err := testsock.WaitFor(closed, "the upstream to close"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/b", "/c", "/d"} {
		if _, body, err := get(t, tr, "GET", p, nil); err != nil || body != p {
			t.Fatalf("GET %s: got %q, %v; want %q", p, body, err, p)
		}
	}
	if n := up.Dials.Load(); n != 3 {
		t.Errorf("%d connections; want 3 (one per death)", n)
	}

	// A POST whose request reached an upstream that then died must fail.
	tr.CloseIdleConnections()
	up2 := testsock.StartScripted(t, func(n int64, c net.Conn, br *bufio.Reader) {
		if n == 1 {
			testsock.ReadRequest(br)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
			testsock.ReadRequest(br)
			return // took the second request, no answer
		}
		testsock.ReadRequest(br)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
	})
	tr2 := NewTransport(up2.Path, 4, time.Second)
	defer tr2.CloseIdleConnections()
	if _, _, err := get(t, tr2, "POST", "/x", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := get(t, tr2, "POST", "/containers/c1/start", nil); err == nil {
		t.Errorf("POST that reached a dying upstream: no error; want one (not retried)")
	}
	if n := up2.Dials.Load(); n != 1 {
		t.Errorf("the POST was sent on %d connections; want 1", n)
	}
}

// TestRawBodyPooling: the connection goes back only after the body was
// read to its end; an early Close closes it.
func TestRawBodyPooling(t *testing.T) {
	const size = 100 << 10
	up := testsock.StartScripted(t, func(n int64, c net.Conn, br *bufio.Reader) {
		for {
			if _, _, err := testsock.ReadRequest(br); err != nil {
				return
			}
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", size)
			if _, err := io.Copy(c, testsock.NewGen(size)); err != nil {
				return
			}
		}
	})
	tr := NewTransport(up.Path, 4, time.Second)
	defer tr.CloseIdleConnections()
	want := testsock.GenSHA256(t, size)

	// Through Span, as a splice strategy would.
	req, _ := http.NewRequest("GET", "http://docker/blob", nil)
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	rb, ok := res.Body.(*lengthBody)
	if !ok {
		t.Fatalf("body is %T; want *lengthBody", res.Body)
	}
	h := sha256.New()
	head, rest, err := rb.Span()
	if err != nil || rest == nil || int(rest.N)+len(head) != size {
		t.Fatalf("Span = %d head bytes, %v, %v; want %d bytes in all", len(head), rest, err, size)
	}
	h.Write(head)
	if _, err := io.Copy(h, rest); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rb.Span(); err != io.EOF {
		t.Errorf("Span after the body = %v; want io.EOF", err)
	}
	rb.Close()
	if [32]byte(h.Sum(nil)) != want {
		t.Errorf("body through Span: sha256 mismatch")
	}

	// Through Read.
	if _, body, err := get(t, tr, "GET", "/blob", nil); err != nil || sha256.Sum256([]byte(body)) != want {
		t.Fatalf("GET: %d bytes, %v; want the body", len(body), err)
	}
	if n := up.Dials.Load(); n != 1 {
		t.Errorf("after 2 full reads: %d connections; want 1", n)
	}
	// An early Close closes the connection.
	res, err = tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	io.CopyN(io.Discard, res.Body, 10)
	res.Body.Close()
	if _, _, err := get(t, tr, "GET", "/blob", nil); err != nil {
		t.Fatal(err)
	}
	if n := up.Dials.Load(); n != 2 {
		t.Errorf("after an early Close: %d connections; want 2", n)
	}
}

// TestRawRequestBodies sends Content-Length and chunked uploads.
func TestRawRequestBodies(t *testing.T) {
	up := testsock.StartScripted(t, func(n int64, c net.Conn, br *bufio.Reader) {
		for {
			req, body, err := testsock.ReadRequest(br)
			if err != nil {
				return
			}
			s := fmt.Sprintf("%s %d %v %x", req.Method, req.ContentLength, req.TransferEncoding, sha256.Sum256(body))
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(s), s)
		}
	})
	tr := NewTransport(up.Path, 4, time.Second)
	defer tr.CloseIdleConnections()
	const size = 1 << 20
	want := testsock.GenSHA256(t, size)
	_, body, err := get(t, tr, "POST", "/images/load", testsock.NewGen(size)) // unknown length: chunked
	if w := fmt.Sprintf("POST -1 [chunked] %x", want); err != nil || body != w {
		t.Errorf("chunked upload: got %q, %v; want %q", body, err, w)
	}
	// A response may end before the body's writer has reported (the
	// upstream answered as it read the last byte): the connection then
	// goes back to the pool once the writer reports (rawFinish.finishLate).
	waitIdle(t, tr, 1)
	_, body, err = get(t, tr, "POST", "/images/load", bytes.NewReader(bytes.Repeat([]byte{'x'}, 1000)))
	if w := fmt.Sprintf("POST 1000 [] %x", sha256.Sum256(bytes.Repeat([]byte{'x'}, 1000))); err != nil || body != w {
		t.Errorf("Content-Length upload: got %q, %v; want %q", body, err, w)
	}
	waitIdle(t, tr, 1)
	_, body, err = get(t, tr, "POST", "/containers/c1/start", nil)
	if w := fmt.Sprintf("POST 0 [] %x", sha256.Sum256(nil)); err != nil || body != w {
		t.Errorf("empty POST: got %q, %v; want %q", body, err, w)
	}
	if n := up.Dials.Load(); n != 1 {
		t.Errorf("%d connections for 3 requests; want 1", n)
	}
}

// TestRawCancel: a request whose context ends while it waits for the
// header fails with the context's error, and its connection is closed.
func TestRawCancel(t *testing.T) {
	got := make(chan struct{})
	gone := make(chan struct{})
	up := testsock.StartScripted(t, func(n int64, c net.Conn, br *bufio.Reader) {
		testsock.ReadRequest(br)
		close(got)
		br.ReadByte() // returns when the transport closes the conn
		close(gone)
	})
	tr := NewTransport(up.Path, 4, time.Second)
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://docker/events", nil)
	errc := make(chan error, 1)
	go func() {
		_, err := tr.RoundTrip(req)
		errc <- err
	}()
	if _, err := testsock.WaitFor(got, "the upstream to get the request"); err != nil {
		t.Fatal(err)
	}
	cancel()
	err, werr := testsock.WaitFor(errc, "the round trip to end")
	if werr != nil {
		t.Fatal(werr)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got error %v; want one wrapping context.Canceled", err)
	}
	if _, err := testsock.WaitFor(gone, "the connection to close"); err != nil {
		t.Fatal(err)
	}
}

// TestRawUpgrade: a 101's body reads bytes sent after the 101 first,
// writes to the connection, and half-closes it.
func TestRawUpgrade(t *testing.T) {
	up := testsock.StartScripted(t, func(n int64, c net.Conn, br *bufio.Reader) {
		testsock.ReadRequest(br)
		io.WriteString(c, "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello\n")
		in, _ := io.ReadAll(br) // until the half-close
		io.WriteString(c, "got "+string(in))
	})
	tr := NewTransport(up.Path, 4, time.Second)
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("POST", "http://docker/containers/c1/attach", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "tcp")
	res, err := tr.RoundTrip(req)
	if err != nil || res.StatusCode != 101 {
		t.Fatalf("got %v, %v; want 101", res, err)
	}
	rw := res.Body.(io.ReadWriteCloser)
	defer rw.Close()
	io.WriteString(rw, "stdin")
	if err := rw.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(rw)
	if want := "hello\ngot stdin"; err != nil || string(out) != want {
		t.Errorf("stream: got %q, %v; want %q", out, err, want)
	}
}

// waitIdle waits, up to the test deadline, until tr holds n idle
// connections. It polls: the pool has no event to wait on.
func waitIdle(t *testing.T, tr *Transport, n int) {
	t.Helper()
	deadline := time.Now().Add(testsock.Deadline)
	for {
		tr.mu.Lock()
		idle := len(tr.idle)
		tr.mu.Unlock()
		if idle == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d idle connections; want %d", idle, n)
		}
		time.Sleep(time.Millisecond) // polling interval, not synchronisation
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
