package upstream

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawResp is a response as read off the wire by rawConn, framing included.
type rawResp struct {
	status   string               // "HTTP/1.1 200 OK"
	header   textproto.MIMEHeader // canonical keys
	order    []string             // header names in the order they came
	framing  string               // "content-length", "chunked", "none" or "until-close"
	chunks   []int                // chunk sizes, for chunked bodies, without the final 0
	body     []byte
	complete bool  // the body ended as its framing says: full length, or terminating chunk
	err      error // why the body is incomplete
}

// rawConn speaks HTTP/1.1 by hand over a Unix socket, so that tests see the
// framing a real client would.
type rawConn struct {
	t  testing.TB
	c  *net.UnixConn
	br *bufio.Reader
}

// dialRaw connects to the socket at path. The connection is closed when the
// test ends; reads time out after a minute so that a broken test fails
// instead of hanging.
func dialRaw(t testing.TB, path string) *rawConn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(time.Minute))
	return &rawConn{t: t, c: c.(*net.UnixConn), br: bufio.NewReader(c)}
}

// send writes a request: the request line, Host, the extra header lines,
// and the body with a Content-Length when body is not nil.
func (rc *rawConn) send(method, target string, headers []string, body []byte) {
	rc.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: docker\r\n", method, target)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != nil {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.Write(body)
	if _, err := io.WriteString(rc.c, b.String()); err != nil {
		rc.t.Fatalf("write %s %s: %v", method, target, err)
	}
}

// head reads a status line and header block.
func (rc *rawConn) head() *rawResp {
	rc.t.Helper()
	tp := textproto.NewReader(rc.br)
	status, err := tp.ReadLine()
	if err != nil {
		rc.t.Fatalf("read status line: %v", err)
	}
	resp := &rawResp{status: status, header: make(textproto.MIMEHeader)}
	for {
		line, err := tp.ReadLine()
		if err != nil {
			rc.t.Fatalf("read header after %q: %v", status, err)
		}
		if line == "" {
			return resp
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			rc.t.Fatalf("malformed header line %q", line)
		}
		k = textproto.CanonicalMIMEHeaderKey(k)
		resp.header.Add(k, strings.TrimSpace(v))
		resp.order = append(resp.order, k)
	}
}

// body reads the body of resp, as the framing its header announces.
func (rc *rawConn) body(resp *rawResp, method string) {
	rc.t.Helper()
	code := resp.status[9:12]
	switch {
	case method == "HEAD" || code == "204" || code == "304" || code[0] == '1':
		resp.framing, resp.complete = "none", true
	case resp.header.Get("Transfer-Encoding") == "chunked":
		resp.framing = "chunked"
		resp.err = rc.chunked(resp)
		resp.complete = resp.err == nil
	case resp.header.Get("Content-Length") != "":
		resp.framing = "content-length"
		n, err := strconv.Atoi(resp.header.Get("Content-Length"))
		if err != nil {
			rc.t.Fatalf("bad Content-Length %q", resp.header.Get("Content-Length"))
		}
		resp.body = make([]byte, n)
		m, err := io.ReadFull(rc.br, resp.body)
		resp.body = resp.body[:m]
		resp.err, resp.complete = eofUnexpected(err), err == nil
	default:
		resp.framing = "until-close"
		resp.body, resp.err = io.ReadAll(rc.br)
		resp.complete = resp.err == nil
	}
}

// chunked reads a chunked body, recording each chunk's size.
func (rc *rawConn) chunked(resp *rawResp) error {
	for {
		line, err := rc.br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("chunk size line after %d chunks: %w", len(resp.chunks), eofUnexpected(err))
		}
		n, err := strconv.ParseInt(strings.TrimRight(line, "\r\n"), 16, 64)
		if err != nil {
			return fmt.Errorf("bad chunk size line %q: %w", line, err)
		}
		if n == 0 {
			// Trailers, then the empty line.
			for {
				l, err := rc.br.ReadString('\n')
				if err != nil {
					return fmt.Errorf("chunked trailer: %w", eofUnexpected(err))
				}
				if l == "\r\n" {
					return nil
				}
			}
		}
		resp.chunks = append(resp.chunks, int(n))
		start := len(resp.body)
		resp.body = append(resp.body, make([]byte, n+2)...)
		if _, err := io.ReadFull(rc.br, resp.body[start:]); err != nil {
			resp.body = resp.body[:start]
			return fmt.Errorf("chunk of %d bytes: %w", n, eofUnexpected(err))
		}
		if string(resp.body[len(resp.body)-2:]) != "\r\n" {
			return fmt.Errorf("chunk of %d bytes not followed by CRLF", n)
		}
		resp.body = resp.body[:len(resp.body)-2]
	}
}

// eofUnexpected turns an EOF inside a body into io.ErrUnexpectedEOF.
func eofUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// do sends a request and reads the whole response.
func (rc *rawConn) do(method, target string, headers []string, body []byte) *rawResp {
	rc.t.Helper()
	rc.send(method, target, headers, body)
	resp := rc.head()
	rc.body(resp, method)
	return resp
}

// rawDo sends one request on a fresh connection and reads the response.
func rawDo(t testing.TB, path, method, target string, headers []string, body []byte) *rawResp {
	t.Helper()
	return dialRaw(t, path).do(method, target, headers, body)
}

// frames splits a body into multiplexed frames.
func frames(t testing.TB, body []byte) []frame {
	t.Helper()
	var fs []frame
	r := strings.NewReader(string(body))
	for {
		s, p, err := ReadFrame(r)
		if err == io.EOF {
			return fs
		}
		if err != nil {
			t.Fatalf("frames after %d: %v", len(fs), err)
		}
		fs = append(fs, frame{s, string(p)})
	}
}

type frame struct {
	stream byte
	p      string
}
