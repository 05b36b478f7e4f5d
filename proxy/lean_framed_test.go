package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockproxylab/sockproxy/internal/testsock"
)

// framedBody is a chunked body the upstream frames in ways a re-chunking
// proxy would not keep: extensions, leading zeros, uneven chunk sizes, a
// size line split across two writes.
func framedBody() (pieces []string, wire string) {
	pieces = []string{
		"3;ext=1\r\nabc\r\n",
		"0010\r\n0123456789abcdef\r\n",
		fmt.Sprintf("%x\r\n%s\r\n", 40000, strings.Repeat("x", 40000)),
		"1", "f\r\n" + strings.Repeat("y", 31) + "\r\n",
	}
	return pieces, strings.Join(pieces, "")
}

// TestLeanRelaysFraming checks that the lean front end relays a chunked
// body to an HTTP/1.1 client with the upstream's own framing, byte for
// byte up to the last chunk, then the last chunk with the trailer, and
// keeps the connection; and that an upstream dying mid-chunk leaves the
// client with a connection closed before any last chunk.
func TestLeanRelaysFraming(t *testing.T) {
	pieces, want := framedBody()
	up := startScripted(t, func(n int64, c net.Conn, br *bufio.Reader) {
		c.SetDeadline(time.Now().Add(testDeadline))
		for {
			req, _, err := readRequest(br)
			if err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n")
			for _, p := range pieces {
				io.WriteString(c, p)
			}
			if req.URL.Path == "/cut" {
				io.WriteString(c, "100\r\nshort")
				c.Close()
				return
			}
			io.WriteString(c, "0\r\nX-T: v\r\n\r\n")
		}
	})
	f := startFront(t, Setup{Mode: ModeLean, Transport: TransportRaw}, up.path)
	c := f.dial(t)
	br := bufio.NewReader(c)
	for i := range 2 {
		io.WriteString(c, "GET /whole HTTP/1.1\r\nHost: docker\r\n\r\n")
		req, _ := http.NewRequest("GET", "/whole", nil)
		res, err := http.ReadResponse(br, req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if res.Close {
			t.Errorf("request %d: the proxy closes the connection after a whole body", i)
		}
		got := make([]byte, len(want)+len("0\r\nX-T: v\r\n\r\n"))
		if _, err := io.ReadFull(br, got); err != nil {
			t.Fatalf("request %d: reading the body: %v", i, err)
		}
		if !bytes.Equal(got[:len(want)], []byte(want)) {
			t.Fatalf("request %d: got framing %q…; want the upstream's %q…", i, clipped(got[:len(want)]), clipped([]byte(want)))
		}
		if tail := string(got[len(want):]); tail != "0\r\nX-T: v\r\n\r\n" {
			t.Fatalf("request %d: got the body's end %q; want the last chunk and the trailer", i, tail)
		}
	}
	io.WriteString(c, "GET /cut HTTP/1.1\r\nHost: docker\r\n\r\n")
	req, _ := http.NewRequest("GET", "/cut", nil)
	if _, err := http.ReadResponse(br, req); err != nil {
		t.Fatalf("cut: %v", err)
	}
	rest, err := io.ReadAll(br)
	var ne net.Error
	if err != nil && !errors.Is(err, io.EOF) && !errors.As(err, &ne) && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("cut: reading: %v", err)
	}
	// What was still in the write buffer at the abort may not arrive:
	// a prefix of what the upstream sent, and never a last chunk.
	if !bytes.HasPrefix([]byte(want+"100\r\nshort"), rest) || bytes.Contains(rest, []byte("\r\n0\r\n")) {
		t.Fatalf("cut: got %q after the head; want part of the upstream's framing and no last chunk", clipped(rest))
	}
}

func clipped(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

// TestLeanPassesUploadFraming checks that a chunked upload reaches the
// upstream with the client's own framing, byte for byte up to the last
// chunk (extensions, leading zeros, a size line split across two writes),
// then a last chunk of the proxy's (a trailer is not sent on), and that
// the connection carries the request pipelined behind it.
func TestLeanPassesUploadFraming(t *testing.T) {
	pieces, want := framedBody()
	got := make(chan string, 2)
	up := startScripted(t, func(n int64, c net.Conn, br *bufio.Reader) {
		c.SetDeadline(time.Now().Add(testDeadline))
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if req.URL.Path == "/build" {
				// The raw body, up to its end: the framing as it arrived.
				var raw bytes.Buffer
				for !bytes.HasSuffix(raw.Bytes(), []byte("\r\n0\r\n\r\n")) {
					b, err := br.ReadByte()
					if err != nil {
						return
					}
					raw.WriteByte(b)
				}
				got <- raw.String()
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	f := startFront(t, Setup{Mode: ModeLean, Transport: TransportRaw}, up.path)
	c := f.dial(t)
	io.WriteString(c, "POST /build HTTP/1.1\r\nHost: docker\r\nTransfer-Encoding: chunked\r\n\r\n")
	for _, p := range pieces {
		io.WriteString(c, p)
	}
	io.WriteString(c, "0\r\nX-T: v\r\n\r\nGET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n")
	br := bufio.NewReader(c)
	for _, path := range []string{"/build", "/_ping"} {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || string(body) != "ok" {
			t.Fatalf("%s: got %s %q", path, res.Status, body)
		}
	}
	raw, err := testsock.WaitFor(got, "the upload")
	if err != nil {
		t.Fatal(err)
	}
	if raw != want+"0\r\n\r\n" {
		t.Fatalf("upstream got framing %q…; want the client's %q… and a last chunk", clipped([]byte(raw)), clipped([]byte(want)))
	}
}

// TestLeanUploadsKeepAlive sends chunked uploads one after the other on
// one keep-alive connection, each answered as soon as the upstream has its
// last chunk: the answer can reach the front end before the transport's
// writer has closed the body, and the connection must then carry the next
// upload (the front end interrupted that writer and dropped the connection,
// and the client's next upload failed on it).
func TestLeanUploadsKeepAlive(t *testing.T) {
	up := startScripted(t, func(n int64, c net.Conn, br *bufio.Reader) {
		c.SetDeadline(time.Now().Add(testDeadline))
		for {
			_, body, err := readRequest(br)
			if err != nil {
				return
			}
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%d", len(strconv.Itoa(len(body))), len(body))
		}
	})
	f := startFront(t, Setup{Mode: ModeLean, Transport: TransportRaw}, up.path)
	c := f.dial(t)
	br := bufio.NewReader(c)
	chunk := strings.Repeat("x", 32<<10)
	for i := range 200 {
		fmt.Fprintf(c, "POST /images/load HTTP/1.1\r\nHost: docker\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", len(chunk), chunk, i+1, chunk[:i+1])
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
		body, err := io.ReadAll(res.Body)
		if want := strconv.Itoa(len(chunk) + i + 1); err != nil || string(body) != want || res.Close {
			t.Fatalf("upload %d: got %q, %v, close %v; want %s on a kept connection", i, body, err, res.Close, want)
		}
	}
}
